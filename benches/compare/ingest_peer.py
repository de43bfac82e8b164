"""One peer of the ingest bench (benches/ingest.rs): Bot Insight getbotrundata pages (JSON
files, one page a line) into Parquet partitioned by day, as botlake's `ingest aa-pages`
lands them in aa_bot_runs.

    ingest_peer.py ENGINE OUT FILE...

ENGINE is duckdb (read_json with declared columns + COPY ... (FORMAT parquet, PARTITION_BY
day)) or pyarrow (pyarrow.json.read_json with an explicit schema + dataset.write_dataset),
each limited to 2 threads. Prints {"rows": N} (rows written, counted by the engine).
"""
import json
import os
import sys

ENGINE, OUT, FILES = sys.argv[1], sys.argv[2], sys.argv[3:]

RECORD = [
    ("id", "BIGINT"),
    ("userName", "VARCHAR"),
    ("firstName", "VARCHAR"),
    ("lastName", "VARCHAR"),
    ("email", "VARCHAR"),
    ("hostName", "VARCHAR"),
    ("iPAddress", "VARCHAR"),
    ("fileName", "VARCHAR"),
    ("startTime", "TIMESTAMPTZ"),
    ("endTime", "TIMESTAMPTZ"),
    ("status", "VARCHAR"),
    ("totalLines", "BIGINT"),
    ("timeTaken", "BIGINT"),
    ("successIndicator", "BOOLEAN"),
]
# botlake's column names for the record's fields.
COLUMNS = {
    "id": "run_id",
    "userName": "user_name",
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "hostName": "host_name",
    "iPAddress": "ip_address",
    "fileName": "file_name",
    "startTime": "start_time",
    "endTime": "end_time",
    "status": "status",
    "totalLines": "total_lines",
    "timeTaken": "time_taken_ms",
    "successIndicator": "success",
}


def duckdb_ingest():
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET TimeZone = 'UTC'")
    record = ", ".join(f'"{name}" {kind}' for name, kind in RECORD)
    columns = {"totalRecords": "BIGINT", "botRunDataList": f"STRUCT({record})[]"}
    select = ", ".join(f'r."{name}" AS {COLUMNS[name]}' for name, _ in RECORD)
    # COPY answers with the number of rows it wrote.
    written = con.execute(
        f"""COPY (
            SELECT {select}, CAST(r."startTime" AS DATE) AS day
            FROM (SELECT unnest("botRunDataList") AS r
                  FROM read_json({FILES!r}, format = 'newline_delimited', columns = {columns!r}))
        ) TO '{OUT}' (FORMAT parquet, PARTITION_BY (day))"""
    ).fetchall()
    return written[0][0]


def pyarrow_ingest():
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.json as pj

    pa.set_cpu_count(2)
    pa.set_io_thread_count(2)
    kinds = {
        "BIGINT": pa.int64(),
        "VARCHAR": pa.string(),
        "TIMESTAMPTZ": pa.timestamp("ms", tz="UTC"),
        "BOOLEAN": pa.bool_(),
    }
    record = pa.struct([(name, kinds[kind]) for name, kind in RECORD])
    schema = pa.schema([("totalRecords", pa.int64()), ("botRunDataList", pa.list_(record))])
    options = pj.ParseOptions(explicit_schema=schema)
    partitioning = ds.partitioning(pa.schema([("day", pa.date32())]), flavor="hive")
    rows = 0
    for i, path in enumerate(FILES):
        pages = pj.read_json(path, parse_options=options)
        runs = pc.list_flatten(pages["botRunDataList"]).combine_chunks()
        table = pa.Table.from_struct_array(runs).rename_columns([COLUMNS[n] for n, _ in RECORD])
        table = table.append_column("day", pc.cast(table["start_time"], pa.date32()))
        ds.write_dataset(
            table,
            OUT,
            format="parquet",
            partitioning=partitioning,
            basename_template=f"part-{i}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
        rows += table.num_rows
    return rows


rows = {"duckdb": duckdb_ingest, "pyarrow": pyarrow_ingest}[ENGINE]()
print(json.dumps({"rows": rows}))
