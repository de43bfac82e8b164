"""Many clients of `botlake serve` at once (tests/it/pg.rs): N connections, each running
kpi_daily while all are open; one more, which is told the server is full; then one after
they have left. Prints one JSON object.

Run: python tests/pg/many.py postgresql://botlake@127.0.0.1:PORT/botlake PASSWORD N
"""

import json
import sys
import threading

import psycopg

url, password, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
answers, errors = [], []
all_open = threading.Barrier(n + 1)
done = threading.Event()


def client():
    try:
        with psycopg.connect(url, password=password, connect_timeout=30) as conn:
            answers.append(conn.execute("SELECT sum(runs) FROM kpi_daily").fetchone()[0])
            all_open.wait(timeout=120)
            done.wait(timeout=120)
    except Exception as e:  # noqa: BLE001 - the test reports every failure
        errors.append(repr(e))
        all_open.abort()


threads = [threading.Thread(target=client) for _ in range(n)]
for t in threads:
    t.start()
all_open.wait(timeout=120)
try:
    psycopg.connect(url, password=password, connect_timeout=30).close()
    one_more = None
except psycopg.OperationalError as e:
    one_more = str(e)
done.set()
for t in threads:
    t.join()
with psycopg.connect(url, password=password) as conn:
    after = conn.execute("SELECT 1").fetchone()[0]
print(json.dumps({"answers": answers, "errors": errors, "one_more": one_more, "after": after}))
