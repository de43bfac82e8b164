"""Seconds from starting `botlake --lake LAKE sql` on a pseudo-terminal to its first prompt.

    python3 benches/prompt_ready.py BOTLAKE_BINARY LAKE RUNS

Each run forks the binary on a pseudo-terminal, waits for `botlake> `, then quits with \\q;
prints the median, minimum and maximum (issue 31, 11: under 0.3 s on the demo lake).
"""
import os
import pty
import select
import statistics
import sys
import time

binary, lake, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(runs):
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(binary, [binary, "--lake", lake, "sql"])
    seen = b""
    while b"botlake> " not in seen:
        r, _, _ = select.select([fd], [], [], 10)
        if not r:
            sys.exit("no prompt in 10 s: " + seen.decode(errors="replace"))
        seen += os.read(fd, 4096)
    times.append(time.perf_counter() - started)
    os.write(fd, b"\\q\r")
    os.waitpid(pid, 0)
print("prompt ready: median %.3f s, min %.3f s, max %.3f s over %d runs" % (statistics.median(times), min(times), max(times), runs))
