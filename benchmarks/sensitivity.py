"""Benchmark: uncertainty and Sobol' sensitivity analysis on COINr's ASEM example (51 units, 49 indicators).

Prints the time per index evaluation and the total of

* an uncertainty analysis with N = 1000 (COINr 1.1.14: 147 s),
* a Sobol' analysis with N = 1000 and 4 factors, 6,000 runs (COINr: 16.4 min),

with COINr's factors (winmax 1..5; min-max [1, 100] or z-score (10, 2); arithmetic or geometric mean;
pillar and sub-index weights * (1 + U(-1, 1) * 0.25)), and the ratios against COINr's published times
(``../shared/methods/coinr_asem/README.md``, 2-core machine) and against a naive loop that rebuilds the
index once per sample (``Index.variant`` -> ``compute``) on this machine.

Options: ``--million`` adds a 1,000,000-sample uncertainty analysis on a local Dask cluster
(``--workers``, default 2; rank and score counts reduced on the workers; prints the CPU time and the peak
RSS of the driver and of each worker); ``--big`` a build over 51,000 units (the ASEM data repeated 1,000 times,
COINr: 28 s, goal < 1 s; best of 3, and its CPU time by stage); ``--digital-nation`` the same analyses for the shipped ``digital-nation`` spec over all
countries (needs the store). Not a test: numbers depend on the machine.

    python benchmarks/sensitivity.py [--million] [--big] [--digital-nation]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "uncertainty"
COINR_UA_1000 = 147.0            # s, COINr 1.1.14, N = 1000 uncertainty analysis
COINR_SOBOL_1000x4 = 16.4 * 60   # s, COINr, Sobol N = 1000, 4 factors (6,000 rebuilds)
COINR_BUILD = 0.11               # s, one full example build
COINR_BIG = 28.0                 # s, 51,000 units

FACTORS = [
    {"address": "treat.winmax", "values": [1, 2, 3, 4, 5]},
    {"address": "normalise", "values": [{"method": "minmax", "range": [1, 100]},
                                        {"method": "zscore", "mean": 10, "sd": 2}]},
    {"address": "aggregate.method", "values": ["arithmetic", "geometric"]},
    {"address": "weights", "noise": 0.25, "levels": [2, 3]},
]


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t


def line(what: str, seconds: float, runs: int, coinr: float | None, naive_per: float | None) -> None:
    msg = f"{what:<44} {seconds:8.3f} s  {seconds / runs * 1e3:8.4f} ms/run  {runs / seconds:10.0f} runs/s"
    if coinr:
        msg += f"  x{coinr / seconds:7.0f} vs COINr"
    if naive_per:
        msg += f"  x{naive_per * runs / seconds:6.0f} vs naive loop"
    print(msg, flush=True)


def analyses(name: str, index, factors, naive_n: int, coinr_ua=None, coinr_sa=None) -> None:
    from digimeter.uncertainty import Engine, naive_evaluate, sensitivity, uncertainty

    eng = Engine.from_index(index, factors)
    U = np.random.default_rng(0).random((naive_n, eng.design.n_dims))
    slow, t_naive = timed(naive_evaluate, index, factors, U)
    naive_per = t_naive / naive_n
    fast = eng.evaluate(U)
    print(f"\n== {name}: {len(eng.units)} units, {len(index.spec.indicator_nodes())} indicators, "
          f"{len(eng.design.factors)} factors ({eng.design.n_dims} dimensions)")
    print(f"naive loop (Index.variant per sample): {naive_per * 1e3:.1f} ms per rebuild "
          f"(COINr {COINR_BUILD * 1e3:.0f} ms); engine = naive to {np.nanmax(np.abs(fast - slow)):.1e}")
    _, t = timed(uncertainty, index, factors, 1000, seed=1)
    line("uncertainty, N = 1000", t, 1000, coinr_ua, naive_per)
    _, t = timed(sensitivity, index, factors, 1000, seed=1)
    runs = 1000 * (len(eng.design.factors) + 2)
    line(f"Sobol, N = 1000 x {len(eng.design.factors)} factors ({runs} runs, per unit)", t, runs, coinr_sa,
         naive_per)
    _, t = timed(sensitivity, index, factors, 1000, seed=1, per_unit=False)
    line("Sobol, same, mean |rank shift| only", t, runs, coinr_sa, naive_per)
    _, t = timed(sensitivity, index, factors, 100, seed=1, method="morris")
    line("Morris, 100 trajectories", t, 100 * (len(eng.design.factors) + 1), None, naive_per)


def _usage() -> tuple[float, float]:
    """(peak RSS in MB, CPU seconds) of the calling process (run on each Dask worker too)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_maxrss / 1024, r.ru_utime + r.ru_stime


def million(index, workers: int) -> None:
    """1,000,000 samples on a LocalCluster: chunks counted into rank/score sketches on the workers
    (the panel scattered once, Sobol' points regenerated there from the seed); prints wall time, CPU
    time of the driver and the workers, and their peak RSS."""
    from distributed import Client

    from digimeter.uncertainty import uncertainty
    from digimeter.uncertainty.distributed import local_cluster

    n = 1_000_000
    rss0, _ = _usage()
    t, c0 = time.perf_counter(), time.process_time()
    with local_cluster(workers) as cl, Client(cl) as client:      # as uncertainty(..., workers=2) makes it
        t_start = time.perf_counter() - t
        t1, c1 = time.perf_counter(), time.process_time()
        res = uncertainty(index, FACTORS, n, seed=1, client=client, progress=True)
        t_run, c_run = time.perf_counter() - t1, time.process_time() - c1
        dt = time.perf_counter() - t
        used = client.run(_usage)
    line(f"uncertainty, N = 1e6, LocalCluster({workers}) incl. start", dt, n, COINR_UA_1000 * n / 1000, None)
    w_rss = [u[0] for u in used.values()]
    w_cpu = sum(u[1] for u in used.values())
    print(f"  cluster start {t_start:.1f} s, run {t_run:.1f} s; CPU: driver {c_run:.1f} s in the run, workers "
          f"{w_cpu:.1f} s in all (incl. their start-up) -> ({c_run + w_cpu:.1f} s) / {workers} cores "
          f"= {(c_run + w_cpu) / workers:.1f} s on idle cores")
    print(f"  peak RSS: driver {_usage()[0]:.0f} MB ({rss0:.0f} MB before the run), workers "
          f"{', '.join(f'{r:.0f}' for r in w_rss)} MB")
    tol = max(res.score_tolerance.values()) if res.score_tolerance else 0.0
    print(f"  (streaming statistics: exact={res.exact}; ranks exact, scores within one bin (<= {tol:.3f}), "
          f"{sum(res.clipped.values()) if res.clipped else 0} scores outside the bins; index rank 5-95 % of "
          f"the leader: {res.node().iloc[0][['unit', 'q05_rank', 'q95_rank']].tolist()})")


#: the stages of a build, by the function that runs each (what :func:`big` splits the CPU time into)
BUILD_STAGES = [("screen", "build.pipeline", "_screen"), ("impute", "build.pipeline", "_impute"),
                ("treat", "build.pipeline", "_treat"), ("normalise", "build.pipeline", "_normalise"),
                ("aggregate (tree)", "build.pipeline", "_aggregate_tree"), ("ranks", "_util.ranks", "rank_desc"),
                ("panel fingerprint", "panel.national", "fingerprint")]
GOAL_BIG = 1.0                   # s, #18


def big(compute, runs: int = 3) -> None:
    """The build over 51,000 units, ``runs`` times (best wall and CPU time), then ``runs`` profiled runs split by
    stage: what is left is vectorised numpy over 51,000 x 49 cells (sorts, reductions, copies)."""
    import cProfile
    import pstats

    from digimeter.uncertainty import coinr_example

    spec_b, panel_b, groups_b = coinr_example(DATA, repeat=1000)
    n = len(panel_b.values)
    compute(spec_b, panel_b, unit_meta=groups_b)            # warm (first-use imports)
    walls, cpus = [], []
    for _ in range(runs):
        c = time.process_time()
        _, t = timed(compute, spec_b, panel_b, unit_meta=groups_b)
        walls.append(t)
        cpus.append(time.process_time() - c)
    t = min(walls)
    print(f"\nbuild over {n} units: {t:.2f} s wall, {min(cpus):.2f} s CPU (best of {runs}; goal < {GOAL_BIG:.0f} s; "
          f"COINr {COINR_BIG:.0f} s, x{COINR_BIG / t:.0f})")
    best: dict[str, float] = {}
    for _ in range(runs):                                   # each stage's least CPU time over profiled runs
        prof = cProfile.Profile(time.process_time)
        prof.runcall(compute, spec_b, panel_b, unit_meta=groups_b)
        st = pstats.Stats(prof).stats
        run = {"total": max(v[3] for k, v in st.items() if k[2] == "compute")}
        for name, mod, fn in BUILD_STAGES:
            run[name] = sum(v[3] for k, v in st.items()
                            if k[2] == fn and k[0].replace("/", ".").endswith(mod + ".py"))
        run["rest (frames, weights, checks)"] = run["total"] - sum(run[name] for name, _, _ in BUILD_STAGES)
        best = {k: min(v, best.get(k, v)) for k, v in run.items()}
    total = best.pop("total")
    parts = list(best.items())
    print(f"  where the time goes (CPU, least of {runs} profiled builds, {total:.2f} s): " + ", ".join(
        f"{name} {c * 1e3:.0f} ms ({c / total:.0%})" for name, c in parts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--million", action="store_true", help="1e6-sample UA on a local Dask cluster")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--big", action="store_true", help="build over 51,000 units")
    ap.add_argument("--digital-nation", action="store_true", help="also the digital-nation spec (store)")
    args = ap.parse_args()

    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import digimeter.uncertainty, digimeter.build"], check=True)
    print(f"start-up (import digimeter.uncertainty in a fresh interpreter): {time.perf_counter() - t:.2f} s")

    from digimeter.build import compute
    from digimeter.uncertainty import coinr_example

    import scipy.stats  # noqa: F401  (imported on first use by the kernels: load it before the clocks start)

    spec, panel, groups = coinr_example(DATA)
    index, t_build = timed(compute, spec, panel, unit_meta=groups)
    print(f"ASEM nominal build: {t_build * 1e3:.0f} ms (COINr {COINR_BUILD * 1e3:.0f} ms)")
    analyses("COINr ASEM example, COINr's factors", index, FACTORS, 30, COINR_UA_1000, COINR_SOBOL_1000x4)

    if args.digital_nation:
        from digimeter.build import build

        ix = build("digital-nation")
        analyses("digital-nation, all countries", ix, "digital-nation", 10)

    if args.big:
        big(compute)

    if args.million:
        million(index, args.workers)


if __name__ == "__main__":
    main()
