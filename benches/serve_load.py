#!/usr/bin/env python3
"""`botlake serve` against `botlake query` on the same lake, and under sustained load.

1. A view through the server (psql, and psycopg on a kept connection) against `botlake query`
   writing the same rows as CSV: wall time of each, median of REPS, alternated.
2. CLIENTS psycopg connections running a view in a loop for SECONDS seconds: queries/s,
   latency percentiles, errors.

Usage: serve_load.py BOTLAKE LAKE [VIEW=kpi_by_bot] [LOAD_VIEW=kpi_daily] [CLIENTS=32]
       [SECONDS=60] [REPS=7]
Needs psql and psycopg 3 (`bash .ci/peers` puts psycopg in .ci/venv). Starts the server
itself on a free loopback port, with the password in its environment.
"""
import os
import statistics
import subprocess
import sys
import threading
import time

import psycopg

botlake, lake = sys.argv[1], sys.argv[2]
view = sys.argv[3] if len(sys.argv) > 3 else "kpi_by_bot"
load_view = sys.argv[4] if len(sys.argv) > 4 else "kpi_daily"
clients = int(sys.argv[5]) if len(sys.argv) > 5 else 32
seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0
reps = int(sys.argv[7]) if len(sys.argv) > 7 else 7
password = "bench"
env = dict(os.environ, BOTLAKE_PG_PASSWORD=password, PGPASSWORD=password)

server = subprocess.Popen(
    [botlake, "--lake", lake, "serve", "--pg", "127.0.0.1:0", "--max-connections", str(clients + 8)],
    stdout=subprocess.PIPE,
    env=env,
    text=True,
)
url = server.stdout.readline().strip()
try:
    def timed(argv):
        began = time.monotonic()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
        return time.monotonic() - began

    query = [botlake, "--lake", lake, "query", view, "--format", "csv", "-o", "/dev/null"]
    psql = ["psql", url, "-X", "--csv", "-c", f"SELECT * FROM {view}"]
    kept = psycopg.connect(url, password=password, autocommit=True)

    def fetched():
        began = time.monotonic()
        kept.execute(f"SELECT * FROM {view}").fetchall()
        return time.monotonic() - began

    # One of each first, unmeasured: files into the page cache, the server's session open.
    timed(query), timed(psql), fetched()
    times = {"botlake query": [], "psql": [], "psycopg (kept connection)": []}
    for _ in range(reps):
        times["botlake query"].append(timed(query))
        times["psql"].append(timed(psql))
        times["psycopg (kept connection)"].append(fetched())
    base = statistics.median(times["botlake query"])
    print(f"{view}, median of {reps}, wall time:")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"  {name:28} {m * 1000:8.1f} ms  ({m / base:.2f} x botlake query)")

    latencies, errors = [], []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        try:
            conn = psycopg.connect(url, password=password, autocommit=True)
        except psycopg.Error as e:
            with lock:
                errors.append(repr(e))
            return
        with conn:
            while time.monotonic() < stop:
                began = time.monotonic()
                try:
                    conn.execute(f"SELECT * FROM {load_view}").fetchall()
                except psycopg.Error as e:
                    with lock:
                        errors.append(repr(e))
                    continue
                with lock:
                    latencies.append(time.monotonic() - began)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - began
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    print(
        f"{clients} clients x {load_view} for {seconds:.0f} s: {len(latencies)} queries, "
        f"{len(latencies) / took:.1f} queries/s, p50 {pct(50):.0f} ms, p99 {pct(99):.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms, {len(errors)} errors"
    )
    for e in errors[:5]:
        print("  error:", e)
finally:
    server.terminate()
    server.wait()
