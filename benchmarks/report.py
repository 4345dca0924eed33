"""Benchmark: issue 18's table in one run, today's numbers next to the goals.

Each command runs in its own process (wall time, CPU time and peak RSS of that process):

* first use: the store made from the bundled snapshot (``benchmarks/first_use.py``'s run; goal < 2 s);
* ``digimeter targets fully-digital-kz``: computed (``--no-cache``: the first run after the data
  change) and answered again on the same data (the evaluation kept under the store; goal < 1.5 s);
* ``digimeter report --unit KAZ`` on the warm store (goal < 4 s): computed (``--no-cache``: the first run
  after the data change) and answered again on the same data (the report kept under the store); its CPU
  time includes the second process that makes the targets' forecasts meanwhile (``digimeter.report.offload``,
  waited for, so counted);
* the uncertainty figures of ``benchmarks/sensitivity.py`` on COINr's ASEM example (N = 1000 uncertainty
  analysis, Sobol' N = 1000 x 4 factors, the build over 51,000 units; ``--million`` adds the
  1,000,000-sample run on a local Dask cluster), against COINr's recorded times (imported from that
  script).

Where a goal is not met, the row's measured floor is printed: its CPU time over all its processes
divided by the cores (no split of that work can be faster), and the same work in one process
(``DIGIMETER_THREADS=1``), whose difference is what starting the other processes costs; then the row is
profiled once more (cProfile) and the largest digimeter functions are printed as the measured reason,
with the floor of any command: the same process doing no work (interpreter, imports, opening the store). The machine is shared: CPU time is printed beside the wall time.
Not a test.

    python benchmarks/report.py [--runs 3] [--million] [--no-report]
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import first_use  # noqa: E402  (benchmarks/first_use.py: its run and its goal)

GOALS = {"report": 4.0, "targets": 1.5, "first_use": first_use.GOAL, "build51k": 1.0, "million": 30.0}
BEFORE = {"report": 11.0, "targets": 4.8, "first_use": first_use.BEFORE, "ua": 0.15, "sobol": 0.20,
          "build51k": 1.73, "million": 90.0}
CLI = [sys.executable, "-m", "digimeter.cli"]


def child(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; its wall time, CPU time (user + system) and peak RSS (MB), and its exit code."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=fo, stderr=fe)
        _, status, ru = os.wait4(p.pid, 0)      # this child's own rusage (peak RSS, CPU)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        out, errs = fo.read(), fe.read()
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss / 1024,
            "rc": p.returncode, "out": out.decode(errors="replace"), "err": errs.decode(errors="replace")}


def runs(cmd, n, env=None, before=None) -> dict:
    """``n`` runs of ``cmd`` (each after ``before()`` if given): medians of wall and CPU, max RSS."""
    rs = []
    for _ in range(n):
        if before:
            before()
        r = child(cmd, env)
        if r["rc"]:
            return {**r, "failed": (r["err"] or r["out"]).strip().splitlines()[-1:] or ["exit code"]}
        rs.append(r)
    return {"wall": statistics.median(r["wall"] for r in rs), "cpu": statistics.median(r["cpu"] for r in rs),
            "rss": max(r["rss"] for r in rs), "all": [r["wall"] for r in rs]}


def why(cmd: list[str], env: dict, top: int = 6) -> list[str]:
    """Where one profiled run of ``cmd`` spends its time: the digimeter functions with the most time of
    their own (their time less that of the digimeter functions they call and of the modules they import
    on first use), so the hot spots, not their callers."""
    with tempfile.TemporaryDirectory() as d:
        prof = Path(d) / "p.out"
        r = child([sys.executable, "-m", "cProfile", "-o", str(prof), *cmd[1:]],
                  {**env, "DIGIMETER_THREADS": "1"})   # cProfile sees the main thread (and process) only:
        # one thread also keeps the report's targets in its own process (digimeter.report.offload)
        if r["rc"] or not prof.exists():
            return []
        st = pstats.Stats(str(prof)).stats
    total = max(v[3] for v in st.values())
    mine = {k for k in st if "/digimeter/" in k[0]}
    skip = {k for k in mine if "/digimeter/cli/" in k[0] or k[2] == "<module>"}   # wrappers and imports
    own = {k: st[k][3] for k in mine}
    # imports made on first use (e.g. scipy.stats inside a function) are start-up, not the function's work
    imports = {k for k in st if k[0].startswith("<frozen importlib") and k[2] in ("_find_and_load", "_handle_fromlist")}
    for g in mine | imports:
        for caller, (_cc, _nc, _tt, ct) in st[g][4].items():
            if caller in own and caller != g:
                own[caller] -= ct
    rows = sorted(((t, f"{Path(k[0]).parent.name}/{Path(k[0]).name}:{k[2]}") for k, t in own.items()
                   if k not in skip), reverse=True)[:top]
    return [f"{name}: {t:.2f} s ({t / total:.0%} of the profiled run, incl. numpy/pandas/scipy it calls)"
            for t, name in rows]


def sensitivity_child(million: bool, workers: int) -> None:
    """In a child process: the figures of benchmarks/sensitivity.py, as JSON on the last line."""
    import resource

    import sensitivity as S   # benchmarks/sensitivity.py: its data, factors and COINr's recorded times

    import scipy.stats  # noqa: F401  (as sensitivity.py: loaded before the clocks start)
    from digimeter.build import compute
    from digimeter.uncertainty import coinr_example, sensitivity, uncertainty

    spec, panel, groups = coinr_example(S.DATA)
    index = compute(spec, panel, unit_meta=groups)
    out = {}
    def median_of(n, fn, *args, **kw):   # the machine is shared: the median of n runs, as the other rows
        return statistics.median(S.timed(fn, *args, **kw)[1] for _ in range(n))

    out["ua"] = median_of(3, uncertainty, index, S.FACTORS, 1000, seed=1)
    out["sobol"] = median_of(3, sensitivity, index, S.FACTORS, 1000, seed=1)
    spec_b, panel_b, groups_b = coinr_example(S.DATA, repeat=1000)
    compute(spec_b, panel_b, unit_meta=groups_b)          # warm: the kernels' first-use imports
    out["build51k"] = median_of(3, compute, spec_b, panel_b, unit_meta=groups_b)
    out["n_big"] = len(panel_b.values)
    if million:
        t = time.perf_counter()
        S.million(index, workers)
        out["million"] = time.perf_counter() - t
    out["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["coinr"] = {"ua": S.COINR_UA_1000, "sobol": S.COINR_SOBOL_1000x4, "build51k": S.COINR_BIG}
    print(json.dumps(out))


def fmt_row(what, r, goal=None, before=None, coinr=None) -> tuple[str, bool]:
    if "failed" in r:
        return f"| {what} | failed: {r['failed'][0][:70]} | | | {goal or ''} | |", False
    met = goal is None or r["wall"] < goal
    cpu_met = goal is not None and not met and r.get("cpu") is not None and r["cpu"] < goal
    g = f"< {goal:g} s" if goal else "keep"
    b = f"{before:g} s" if before else ""
    c = f"{coinr:.4g} s" if coinr else "n/a"
    cpu = f"{r['cpu']:.2f} s" if r.get("cpu") is not None else ""
    rss = f"{r['rss']:.0f} MB" if r.get("rss") else ""
    verdict = ("met" if (goal and met) else "met on CPU time (wall time: a loaded machine)" if cpu_met
               else ("NOT met" if goal else ""))
    return f"| {what} | {r['wall']:.2f} s | {cpu} | {rss} | {c} | {g} | {b} | {verdict} |", met


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--million", action="store_true", help="also the 1e6-sample run on a local Dask cluster")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-report", action="store_true", help="skip `digimeter report` (slow)")
    ap.add_argument("--sensitivity-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.sensitivity_child:
        return sensitivity_child(a.million, a.workers)

    rows, missed = [], []
    with tempfile.TemporaryDirectory() as home:
        env = {"DIGIMETER_HOME": home}
        # 1. first use (benchmarks/first_use.py's run: a fresh home each time; its peak RSS comes first)
        cold, cpu = [], []
        for i in range(a.runs):
            with tempfile.TemporaryDirectory() as h:
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                s, rss = first_use.once(h)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cold.append(s)
                cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        fu = {"wall": statistics.median(cold), "cpu": statistics.median(cpu), "rss": rss, "all": cold}
        first_use.once(home)        # the home every later row uses: made once, warm from now on
        floor = runs([*CLI, "data", "units", "--parent", "KAZ"], a.runs, env)
        imp = runs([sys.executable, "-c", "import digimeter.cli"], a.runs, env)

        # 2. targets: computed (as after a data change), then the same evaluation again
        tcmd = [*CLI, "targets", "fully-digital-kz", "--format", "json"]
        computed = runs([*tcmd, "--no-cache"], a.runs, env)
        child([*tcmd], env)             # makes the cache entry
        cached = runs(tcmd, a.runs, env)

        # 3. the report on the warm store: computed (as after a data change), then the same report again
        rep = rep_computed = None
        rcmd = [*CLI, "report", "--unit", "KAZ", "--out"]
        if not a.no_report:
            with tempfile.TemporaryDirectory() as out:
                rep_computed = runs([*rcmd, out, "--no-cache"], 1 if a.runs < 3 else 2, env)
                child([*rcmd, out], env)     # makes the cache entry
                rep = runs([*rcmd, out], 1 if a.runs < 3 else 2, env)

        # 4. sensitivity.py's figures, in a child
        sc = child([sys.executable, __file__, "--sensitivity-child", "--workers", str(a.workers)]
                   + (["--million"] if a.million else []), env)
        sens = json.loads(sc["out"].strip().splitlines()[-1]) if sc["rc"] == 0 else None

        print(f"\n## issue 18: today's numbers ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}; medians of {a.runs} runs; CPU = user + system of the process)\n")
        print("| work | now (wall) | CPU | peak RSS | COINr (R) | goal | before | |")
        print("|---|---|---|---|---|---|---|---|")
        if sens:
            child_rss = {"rss": sens["rss"], "cpu": None}
            for key, what in (("ua", "uncertainty analysis, N = 1000, ASEM"), ("sobol", "Sobol, N = 1000 x 4 factors"),
                              ("build51k", f"build over {sens['n_big']:,} units (ASEM x 1000)")):
                line, ok = fmt_row(what, {"wall": sens[key], **child_rss}, GOALS.get(key), BEFORE.get(key),
                                   sens["coinr"].get(key))
                rows.append(line)
                if not ok:
                    missed.append((what, None, None))
            if "million" in sens:
                line, ok = fmt_row("1,000,000-sample uncertainty, local Dask cluster (incl. start)",
                                   {"wall": sens["million"], **child_rss}, GOALS["million"], BEFORE["million"])
                rows.append(line)
                if not ok:
                    missed.append(("million", None, None))
            else:
                rows.append("| 1,000,000-sample uncertainty, local Dask cluster | not run (--million) | | | | < 30 s "
                            "| 90 s | |")
        else:
            rows.append(f"| benchmarks/sensitivity.py figures | failed: {(sc['err'] or '').strip()[-70:]} | | | | | | |")
        if rep is not None:
            line, ok = fmt_row("`digimeter report --unit KAZ`, warm store, same data again (kept report)", rep,
                               GOALS["report"], BEFORE["report"])
            rows.append(line)
            if not ok:
                missed.append(("report (kept)", [*rcmd, tempfile.mkdtemp()], rep))
            line, ok = fmt_row("`digimeter report --unit KAZ`, warm store, computed (first run after a data change)",
                               rep_computed, GOALS["report"], BEFORE["report"])
            rows.append(line)
            if not ok:
                missed.append(("report (computed)", [*rcmd, tempfile.mkdtemp(), "--no-cache"], rep_computed))
        line, ok = fmt_row("`digimeter targets fully-digital-kz`, same data again (kept evaluation)", cached,
                           GOALS["targets"], BEFORE["targets"])
        rows.append(line)
        if not ok:
            missed.append(("targets (kept)", tcmd, cached))
        line, ok = fmt_row("`digimeter targets fully-digital-kz`, computed (first run after a data change)",
                           computed, GOALS["targets"], BEFORE["targets"])
        rows.append(line)
        if not ok:
            missed.append(("targets (computed)", [*tcmd, "--no-cache"], computed))
        line, ok = fmt_row("first use: store created from the bundled snapshot", fu, GOALS["first_use"],
                           BEFORE["first_use"])
        rows.append(line)
        if not ok:
            missed.append(("first use", None, None))
        print("\n".join(rows))
        print(f"\nfloor of any command (interpreter, imports, store opened; `digimeter data units`): "
              f"{floor['wall']:.2f} s wall, {floor['cpu']:.2f} s CPU; `import digimeter.cli` alone "
              f"{imp['wall']:.2f} s wall, {imp['cpu']:.2f} s CPU")
        cores = os.cpu_count() or 1
        for what, cmd, r in missed:
            print(f"\n{what}: goal not met.")
            if r and r.get("cpu") is not None:
                one = child(cmd, {**env, "DIGIMETER_THREADS": "1"})   # the same work in one process
                print(f"  the floor here: {r['cpu']:.2f} s of CPU over its processes, so at least "
                      f"{r['cpu'] / cores:.2f} s of wall time on {cores} cores however the work is split; "
                      f"the same work in one process (DIGIMETER_THREADS=1) is {one['cpu']:.2f} s of CPU "
                      f"({one['wall']:.2f} s wall), so starting the other processes costs "
                      f"{max(r['cpu'] - one['cpu'], 0):.2f} s of CPU")
            if cmd:
                for w in why(cmd, env):
                    print(f"  {w}")
    return None


if __name__ == "__main__":
    main()
