"""Reads every Delta table of a botlake lake with the `deltalake` Python package (delta-rs's
own binding, a release other than the one botlake is built on) and prints, as one JSON
object, what tests/it/delta.rs compares with botlake's answers: per table its version,
partition columns, columns, rows, non-null values per column, and its key tuples sorted.

usage: read.py LAKE_DIR TABLE=KEY1,KEY2 ...
"""

import json
import sys

from deltalake import DeltaTable


def text(value):
    """A key value as botlake's NDJSON writes it once parsed: ints and strings as they are,
    anything else (dates) as its text."""
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)


def main():
    lake = sys.argv[1].rstrip("/")
    out = {}
    for arg in sys.argv[2:]:
        name, keys = arg.split("=", 1)
        keys = keys.split(",")
        table = DeltaTable(f"{lake}/{name}")
        data = table.to_pyarrow_table()
        rows = sorted(
            tuple(text(v) for v in row)
            for row in zip(*(data.column(k).to_pylist() for k in keys))
        )
        out[name] = {
            "version": table.version(),
            "partition_columns": table.metadata().partition_columns,
            "columns": [f.name for f in table.schema().fields],
            "rows": data.num_rows,
            "non_null": {c: data.num_rows - data.column(c).null_count for c in data.column_names},
            "keys": rows,
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
