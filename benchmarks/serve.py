"""Benchmark: a bounded load test of the dashboard's JSON API on loopback.

Starts ``digimeter``'s FastAPI app under uvicorn in a child process on 127.0.0.1 and a free port (a
store made from the bundled snapshot in a temporary ``$DIGIMETER_HOME`` unless ``--store`` is given),
makes one warm-up request (the first one computes the country's report; its time is printed apart),
then sends at most ``--requests`` GETs of the country page's JSON twin (``/api/country/KAZ``) over
``--concurrency`` keep-alive HTTP/1.1 connections for at most ``--seconds`` seconds, and prints
requests per second and latency percentiles. The client is plain asyncio sockets (no HTTP library
overhead); it only ever connects to 127.0.0.1 and stops by itself. Not a test.

    python benchmarks/serve.py [--requests 10000] [--concurrency 16] [--seconds 20] [--path /api/country/KAZ]

Recorded results: see the end of this docstring (2 vCPU container, client and server on the same two
cores, so the client's own work is included in the numbers).

    2026-11-29, other jobs sharing the cores (load average ~4), Python 3.11, uvicorn 0.54 (h11), FastAPI 0.165:
    GET /api/country/KAZ (17.8 KB JSON), 10,000 requests
      16 connections: 708 requests/s, p50 20.8 ms, p90 31.1 ms, p99 44.2 ms, max 249 ms, 0 errors
      64 connections: 879 requests/s, p50 64.0 ms, p90 89.3 ms, p99 247 ms, max 276 ms, 0 errors
    Before the JSON twin was kept per report (each request re-made the Vega-Lite specs, which altair
    validates, and re-validated the page model): 7 requests/s, p50 2,276 ms, p99 4,259 ms (16 connections).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

SERVER = r"""
import sys, uvicorn
from digimeter.web.app import create_app
store, port = (sys.argv[1] or None), int(sys.argv[2])
samples = {"uncertainty": 64, "sensitivity": 32, "targets": 200, "index": 20, "fans": 1}
uvicorn.run(create_app(store, samples=samples), host="127.0.0.1", port=port, log_level="warning",
            access_log=False)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer /api/health in time")


async def worker(host: str, port: int, path: str, budget: dict, deadline: float, lat: list, errors: list,
                 sizes: list) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget["left"] > 0 and time.monotonic() < deadline:
            budget["left"] -= 1
            t0 = time.perf_counter()
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            body = await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            sizes.append(len(body))
            if status != 200:
                errors.append(status)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def load(host: str, port: int, path: str, n: int, k: int, seconds: float):
    lat: list[float] = []
    errors: list[int] = []
    sizes: list[int] = []
    budget = {"left": n}
    t0 = time.perf_counter()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(worker(host, port, path, budget, deadline, lat, errors, sizes) for _ in range(k)))
    return time.perf_counter() - t0, lat, errors, sizes


def pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[i]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", "-n", type=int, default=10000, help="at most this many requests (default 10000)")
    ap.add_argument("--concurrency", "-c", type=int, default=16, help="keep-alive connections (default 16)")
    ap.add_argument("--seconds", type=float, default=20.0, help="stop after this long (default 20, at most 60)")
    ap.add_argument("--path", default="/api/country/KAZ", help="what to GET (default the country page's JSON twin)")
    ap.add_argument("--store", default="", help="a digimeter store file (default: a fresh one from the snapshot)")
    args = ap.parse_args()
    seconds = min(max(args.seconds, 0.5), 60.0)
    n, k = max(1, args.requests), max(1, min(args.concurrency, 256))

    host, port = "127.0.0.1", free_port()
    base = f"http://{host}:{port}"
    with tempfile.TemporaryDirectory(prefix="digimeter-bench-") as home:
        env = {**os.environ, "DIGIMETER_HOME": os.environ.get("DIGIMETER_HOME", home) if args.store else home}
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", SERVER, args.store, str(port)], env=env)
        try:
            wait_ready(base, proc)
            ready = time.perf_counter() - t
            t = time.perf_counter()
            with urllib.request.urlopen(base + args.path, timeout=300) as r:
                first = json.load(r)
            warm = time.perf_counter() - t
            assert first.get("ok") is True, first
            elapsed, lat, errors, sizes = asyncio.run(load(host, port, args.path, n, k, seconds))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)

    lat.sort()
    ms = [x * 1000 for x in lat]
    print(f"server ready in {ready:.1f} s; first GET {args.path} (computes the report) {warm:.2f} s")
    print(f"GET {args.path}: {len(lat)} requests over {k} connections in {elapsed:.2f} s "
          f"(limits: {n} requests, {seconds:g} s)")
    print(f"  requests/s   {len(lat) / elapsed:,.0f}")
    print(f"  latency ms   p50 {pct(ms, 50):.1f}   p90 {pct(ms, 90):.1f}   p99 {pct(ms, 99):.1f}   "
          f"max {ms[-1] if ms else float('nan'):.1f}   mean {statistics.fmean(ms) if ms else float('nan'):.1f}")
    print(f"  response     {statistics.fmean(sizes) / 1024 if sizes else 0:.1f} KB; non-200 answers: {len(errors)}")
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
