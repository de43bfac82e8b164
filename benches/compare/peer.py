"""One peer engine of the comparison bench (benches/compare.rs), over the same Parquet files
as botlake: the files of the lake's latest Delta versions, listed in a manifest.

    peer.py ENGINE MANIFEST serve          answer "run NAME [OUT]" lines on stdin (hot runs)
    peer.py ENGINE MANIFEST cold NAME      one cold run in this fresh process

ENGINE is duckdb or polars, limited to 2 threads. Tables are registered over their files
(the day partition from the paths), then the views in the manifest's order, each from
benches/compare/<engine>/<view>.sql where that engine needs its own variant, else from the
view's own SQL in queries/. A run is that SQL (or a stress query's) collected into Arrow; its time
in milliseconds goes to stdout as JSON; with OUT, the result is written there as an Arrow
IPC file after the clock stops, for the bench to compare with botlake's.
"""
import json
import os
import sys
import time

ENGINE, MANIFEST, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
os.environ["POLARS_MAX_THREADS"] = "2"

import pyarrow as pa  # noqa: E402
import pyarrow.ipc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def load_manifest():
    with open(MANIFEST, encoding="utf-8") as f:
        return json.load(f)


def sql_of(manifest, name):
    """The SQL of a view or stress query for this engine, and whether it is a variant."""
    variant = os.path.join(HERE, ENGINE, name + ".sql")
    if os.path.exists(variant):
        path, marked = variant, True
    else:
        path, marked = manifest["sql"][name], False
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for key, value in manifest.get("params", {}).items():
        text = text.replace("$" + key, value)
    return in_utc(text), marked


# botlake's local-day functions (crates/query/src/days.rs) as they are in UTC, the zone the
# bench runs in: the peers have none of them.
UTC = {
    "utc_days": lambda arg: "true",
    "local_day": lambda arg: f"CAST({arg} AS DATE)",
    "first_utc_day": lambda arg: f"CAST({arg} AS DATE)",
    "last_utc_day": lambda arg: f"CAST({arg} AS DATE)",
    "local_day_number": lambda arg: f"(({arg}) // 86400000000)",
    "local_midnight_us": lambda arg: f"(({arg}) * 86400000000)",
}


def in_utc(text):
    """`text` with each call of a local-day function replaced by its UTC meaning."""
    out, i = [], 0
    while i < len(text):
        for name, meaning in UTC.items():
            if text.startswith(name + "(", i) and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
                start = j = i + len(name) + 1
                depth = 1
                while depth:
                    depth += {"(": 1, ")": -1}.get(text[j], 0)
                    j += 1
                out.append(meaning(in_utc(text[start:j - 1])))
                i = j
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


class DuckDB:
    def __init__(self, manifest):
        import duckdb

        self.con = duckdb.connect()
        self.con.execute("SET threads = 2")
        self.con.execute("SET TimeZone = 'UTC'")
        for table, t in manifest["tables"].items():
            files = t["files"]
            if not files:
                continue
            opts = ", hive_partitioning = true, hive_types = {'day': DATE}" if t["partitioned"] else ""
            self.con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({files!r}{opts})")
        for view in manifest["views"]:
            text, _ = sql_of(manifest, view)
            self.con.execute(f"CREATE VIEW {view} AS {text}")

    def run(self, sql):
        return self.con.sql(sql).to_arrow_table()


class Polars:
    def __init__(self, manifest):
        import polars as pl

        self.pl = pl
        self.ctx = pl.SQLContext()
        for table, t in manifest["tables"].items():
            files = t["files"]
            if not files:
                continue
            if t["partitioned"]:
                frame = pl.scan_parquet(files, hive_partitioning=True, hive_schema={"day": pl.Date})
            else:
                frame = pl.scan_parquet(files, hive_partitioning=False)
            self.ctx.register(table, frame)
        for view in manifest["views"]:
            text, _ = sql_of(manifest, view)
            self.ctx.register(view, self.ctx.execute(text, eager=False))

    def run(self, sql):
        return self.ctx.execute(sql, eager=False).collect().to_arrow()


ENGINES = {"duckdb": DuckDB, "polars": Polars}


def query_of(manifest, name):
    # A view runs as its file's own SQL (with its ORDER BY), as `botlake query` runs it.
    return sql_of(manifest, name)


def run(engine, manifest, name, out):
    sql, marked = query_of(manifest, name)
    started = time.perf_counter()
    try:
        table = engine.run(sql)
    except Exception as e:  # an engine that cannot run a query says so; the bench marks it
        return {"error": f"{type(e).__name__}: {e}".splitlines()[0][:300], "variant": marked}
    ms = (time.perf_counter() - started) * 1000
    if out:
        with pa.OSFile(out, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    return {"ms": ms, "rows": table.num_rows, "variant": marked}


def main():
    if MODE == "serve":
        engine = ENGINES[ENGINE](load_manifest())
        manifest = load_manifest()
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            parts = line.split()
            if not parts:
                continue
            name, out = parts[1], (parts[2] if len(parts) > 2 else None)
            print(json.dumps(run(engine, manifest, name, out)), flush=True)
    elif MODE == "cold":
        # Cold: a fresh process; the clock covers registering the files as well.
        started = time.perf_counter()
        manifest = load_manifest()
        engine = ENGINES[ENGINE](manifest)
        result = run(engine, manifest, sys.argv[4], None)
        if "ms" in result:
            result["ms"] = (time.perf_counter() - started) * 1000
        print(json.dumps(result), flush=True)
    else:
        sys.exit(f"unknown mode {MODE}")


if __name__ == "__main__":
    main()
