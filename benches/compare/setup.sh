#!/usr/bin/env bash
# Installs the peers of the comparison bench (DuckDB, Polars, pyarrow from PyPI, pinned) into
# a virtualenv beside this script: benches/compare/.venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import duckdb, polars, pyarrow' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check \
    'duckdb==2.0.0' 'polars==2.1.0' 'pyarrow==26.0.1'
fi
.venv/bin/python -c 'import duckdb, polars, pyarrow; print("duckdb", duckdb.__version__, "polars", polars.__version__, "pyarrow", pyarrow.__version__)'
