"""The Python stack under Superset and notebooks against `botlake serve` (tests/it/pg.rs):
psycopg 3, SQLAlchemy's inspector and pandas.read_sql, a Grafana-style time-series query
with timestamp parameters, and bad input. Prints one JSON object for the test to check.

Run: python tests/pg/clients.py postgresql://botlake@127.0.0.1:PORT/botlake PASSWORD
(with the packages .ci/peers installs into .ci/venv).
"""

import datetime
import json
import sys
import threading
import time

import pandas
import psycopg
import sqlalchemy

url, password = sys.argv[1], sys.argv[2]
out = {}


def connect(**kwargs):
    return psycopg.connect(url, password=password, **kwargs)


def error_of(run):
    """The SQLSTATE and message of what `run` raised, or None."""
    try:
        run()
    except psycopg.Error as e:
        return [e.sqlstate, str(e).strip()]
    return None


with connect(autocommit=True) as conn:
    # Prepared statements, with parameters of the types psycopg sends.
    rows = conn.execute(
        "SELECT day, vendor, runs FROM kpi_daily WHERE vendor = %s AND runs >= %s ORDER BY day",
        ("automation_anywhere", 1),
    ).fetchall()
    out["kpi_daily_aa"] = [[r[0].isoformat(), r[1], r[2]] for r in rows]
    # Grafana's time series: a `time` column, its range as timestamp parameters.
    first, last = rows[0][0], rows[-1][0]
    start = datetime.datetime.combine(first, datetime.time())
    end = datetime.datetime.combine(last, datetime.time())
    rows = conn.execute(
        "SELECT CAST(day AS TIMESTAMP) AS time, SUM(runs) AS runs FROM kpi_daily "
        "WHERE day BETWEEN %s AND %s GROUP BY day ORDER BY time",
        (start, end),
    ).fetchall()
    out["grafana"] = [[r[0].isoformat(), r[1]] for r in rows]
    out["grafana_range"] = [start.isoformat(), end.isoformat()]
    # The same statement prepared once and executed twice (psycopg prepares it server-side
    # on its second use with prepare=True).
    for _ in range(2):
        n = conn.execute(
            "SELECT count(*) FROM runs WHERE vendor = %s", ("uipath",), prepare=True
        ).fetchone()[0]
    out["uipath_runs"] = n

    # A view's parameters, as a table function's arguments in a prepared statement.
    rows = conn.execute(
        "SELECT day, bot, failed FROM failure_spikes(%s, %s) ORDER BY day, bot", (1, 1)
    ).fetchall()
    out["failure_spikes_1_1"] = [[r[0].isoformat(), r[1], r[2]] for r in rows]

    # Bad input: each a clear error, and the connection still answers.
    out["syntax"] = error_of(lambda: conn.execute("SELEC 1"))
    out["unknown_table"] = error_of(lambda: conn.execute("SELECT * FROM kpi_dialy"))
    out["write"] = error_of(lambda: conn.execute("DELETE FROM aa_bot_runs"))
    out["server_file"] = error_of(lambda: conn.execute("SELECT * FROM '/etc/passwd'"))
    # A statement that fails after its first rows were sent.
    out["mid_stream"] = error_of(
        lambda: conn.execute(
            "SELECT CAST(CASE WHEN value > 200000 THEN 'x' ELSE '1' END AS INT) AS v "
            "FROM generate_series(1, 400000) AS t(value)"
        ).fetchall()
    )
    out["still_answers"] = conn.execute("SELECT 1 + 1").fetchone()[0]

    # A statement timeout the client asks for, and a cancel request.
    long = "SELECT count(*) FROM generate_series(1, 20000000000) AS t(v) WHERE v % 7 = 3"
    conn.execute("SET statement_timeout = '300ms'")
    began = time.monotonic()
    out["timeout"] = error_of(lambda: conn.execute(long))
    out["timeout_secs"] = time.monotonic() - began
    conn.execute("SET statement_timeout = 0")
    threading.Timer(0.5, conn.cancel).start()
    began = time.monotonic()
    out["cancel"] = error_of(lambda: conn.execute(long))
    out["cancel_secs"] = time.monotonic() - began
    out["after_cancel"] = conn.execute("SELECT 2 + 2").fetchone()[0]

# A client that goes away in the middle of a result.
quitter = connect()
cursor = quitter.cursor()
stream = cursor.stream("SELECT value FROM generate_series(1, 5000000) AS t(value)")
out["read_before_leaving"] = sum(1 for _, _ in zip(range(1000), stream))
quitter.pgconn.finish()

# SQLAlchemy's inspector (what Superset lists), and pandas.
engine = sqlalchemy.create_engine(
    url.replace("postgresql://", "postgresql+psycopg://", 1),
    connect_args={"password": password},
)
inspector = sqlalchemy.inspect(engine)
out["schemas"] = inspector.get_schema_names()
out["tables"] = sorted(inspector.get_table_names(schema="lake"))
out["views"] = sorted(inspector.get_view_names(schema="lake"))
# The columns of a view as Superset's dataset editor lists them.
out["kpi_daily_columns"] = [
    [c["name"], str(c["type"]), c["nullable"]]
    for c in inspector.get_columns("kpi_daily", schema="lake")
]
with engine.connect() as c:
    frame = pandas.read_sql(
        sqlalchemy.text("SELECT bot, runs, failed FROM kpi_by_bot ORDER BY runs DESC, bot"), c
    )
out["pandas_kpi_by_bot"] = frame.astype(str).values.tolist()
out["pandas_dtypes"] = [str(t) for t in frame.dtypes]

print(json.dumps(out))
