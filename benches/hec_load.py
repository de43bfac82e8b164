#!/usr/bin/env python3
"""Sustained load on `botlake listen`: SENDERS threads post batches of BATCH events (from an
NDJSON file written by `botlake sim uipath`) to the HEC endpoint for SECONDS seconds, each
waiting for its answer before the next post, and report acknowledged events/s and the
latency percentiles of the acknowledgements (an answer means the events are committed).

Usage: hec_load.py URL TOKEN FILE [SENDERS=8] [BATCH=200] [SECONDS=20]
Only the standard library; events repeat if the file runs out (the receiver upserts them,
so repeats add no rows, but take the path of keys the lake already holds: write a file with
more events than the run will send to measure a live export's new events)."""
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

url, token, path = sys.argv[1:4]
senders = int(sys.argv[4]) if len(sys.argv) > 4 else 8
batch = int(sys.argv[5]) if len(sys.argv) > 5 else 200
seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 20.0

lines = [l.strip() for l in open(path, encoding="utf-8") if l.strip()]
bodies = ["".join('{"event":%s}' % l for l in lines[i:i + batch]) for i in range(0, len(lines), batch)]
target = urlparse(url)
latencies, acked, failed = [], [0], [0]
lock = threading.Lock()
stop = time.monotonic() + seconds


def sender(k):
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    i = k
    while time.monotonic() < stop:
        body = bodies[i % len(bodies)]
        i += senders
        t0 = time.monotonic()
        conn.request("POST", "/services/collector/event", body=body.encode(),
                     headers={"Authorization": "Splunk " + token})
        r = conn.getresponse()
        answer = json.loads(r.read())
        dt = time.monotonic() - t0
        with lock:
            if r.status == 200 and answer.get("code") == 0:
                acked[0] += body.count('{"event":')
                latencies.append(dt)
            else:
                failed[0] += 1


start = time.monotonic()
threads = [threading.Thread(target=sender, args=(k,)) for k in range(senders)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - start
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
print(f"{senders} senders x {batch} events/request for {elapsed:.1f} s: "
      f"{acked[0]} events acknowledged = {acked[0] / elapsed:,.0f} events/s; "
      f"{len(latencies)} requests, {failed[0]} refused; "
      f"ack latency p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms, max {latencies[-1] * 1000:.0f} ms")
