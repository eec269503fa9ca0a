#!/usr/bin/env python3
"""Start-up time: spawn a server, poll GET /health until the first 200, stop it.

usage: startup.py RUNS HEALTH_URL CMD...   (the literal {tmp} in CMD becomes a fresh
temporary directory per run, so every run of `portvakt serve --data {tmp}/d` starts
from an empty data directory)

Prints one line: `STARTUP {"runs_ms": [...], "median_ms": M}`. Polling is every
millisecond over a fresh loopback connection, so the figure is spawn → first served
request, not the server's own "ready" line.
"""
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse


def one(url, cmd):
    tmp = tempfile.mkdtemp(prefix="pv-startup-")
    argv = [a.replace("{tmp}", tmp) for a in cmd]
    u = urlparse(url)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = t0 + 30
        while time.perf_counter() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}: {' '.join(argv)}")
            try:
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=1)
                c.request("GET", u.path)
                if c.getresponse().status == 200:
                    return (time.perf_counter() - t0) * 1000
            except OSError:
                pass
            time.sleep(0.001)
        raise SystemExit("no 200 within 30 s")
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    runs, url, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    ms = [round(one(url, cmd), 1) for _ in range(runs)]
    print("STARTUP " + json.dumps({"runs_ms": ms, "median_ms": statistics.median(ms)}))


if __name__ == "__main__":
    main()
