"""Drives botlake's interactive SQL prompt on a pseudo-terminal, as a person at a terminal
would: waits for each prompt, types a line, and prints everything the terminal showed,
escape sequences removed. tests/it/cli.rs checks the transcript.

usage: drive.py COMMAND... -- LINE...

A LINE starting with ! is not typed: it is run by the shell while the prompt waits (an
ingest into the lake the prompt reads, say), and must succeed. A LINE `^C` is Ctrl-C typed
at the prompt; `^C STATEMENT` types the statement and presses Ctrl-C two seconds later,
while it runs.
"""

import os
import pty
import re
import select
import subprocess
import sys
import time

# The prompt, and the one that continues a statement.
PROMPTS = (b"botlake> ", b"..> ")
TIMEOUT = 60.0


def read_until(fd, markers, seen):
    """Reads from `fd` into `seen` until one of `markers` appears after what `seen` held;
    False if the program ended or the time ran out first."""
    start = len(seen)
    deadline = time.time() + TIMEOUT
    while not any(m in seen[start:] for m in markers):
        left = deadline - time.time()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        seen.extend(chunk)
    return True


def main():
    split = sys.argv.index("--")
    command, lines = sys.argv[1:split], sys.argv[split + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(command[0], command)
    seen = bytearray()
    ok = read_until(fd, PROMPTS, seen)
    for line in lines:
        if not ok:
            break
        if line.startswith("!"):
            subprocess.run(line[1:], shell=True, check=True)
            continue
        if line == "^C":
            os.write(fd, b"\x03")
            ok = read_until(fd, PROMPTS, seen)
            continue
        if line.startswith("^C "):
            os.write(fd, line[3:].encode() + b"\r")
            time.sleep(2)
            os.write(fd, b"\x03")
            ok = read_until(fd, PROMPTS, seen)
            continue
        os.write(fd, line.encode() + b"\r")
        ok = read_until(fd, PROMPTS, seen)
    os.write(fd, b"\\q\r")
    read_until(fd, (b"\0",), seen)  # to the end
    _, status = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")
    sys.stdout.write(text)
    sys.exit(0 if ok and os.waitstatus_to_exitcode(status) == 0 else 1)


if __name__ == "__main__":
    main()
