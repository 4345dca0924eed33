"""Benchmark: the first command a newcomer waits on (issue 12: goal < 2 s; 4.9 s before).

Each run creates a fresh ``$DIGIMETER_HOME``, so the store is made from the bundled snapshot, then runs
``digimeter rank egdi --unit KAZ --top 25`` (the first command of ``make report``) in a new process. Prints each run, the median against the goal,
the same command on the warm store, and the peak RSS of the first-use process. Not a test.

    python benchmarks/first_use.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

GOAL, BEFORE = 2.0, 4.9


def once(home: str) -> tuple[float, float]:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "digimeter.cli", "data", "units", "--parent", "KAZ"], check=True,
                   env={**os.environ, "DIGIMETER_HOME": home}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    cold, warm, rss = [], [], 0.0
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory() as home:
            s, rss = once(home)
            cold.append(s)
            warm.append(once(home)[0])
    med = statistics.median(cold)
    print(f"first use (store made from the snapshot): {', '.join(f'{x:.2f}' for x in cold)} s; "
          f"median {med:.2f} s vs goal {GOAL:.1f} s ({'met' if med < GOAL else 'NOT met'}); before {BEFORE} s "
          f"({BEFORE / med:.1f}x faster)")
    print(f"same command, warm store: median {statistics.median(warm):.2f} s; "
          f"peak RSS of a run: {rss:.0f} MB")


if __name__ == "__main__":
    main()
