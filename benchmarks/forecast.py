"""Time the forecasts a scenario needs: every country x every indicator the shipped scenario uses
(its targets' indicators and the indicators of the index specs its targets rank on), with the default
method (the pooled analogue model chosen per horizon against the combination: backtests of the models
and of the pooled model at every origin, calibration, final forecasts and draws). Prints seconds per
indicator and the total; the goal is under 10 s on 2 cores. Also the seconds spent in the pooled
model (its backtests and forecasts; issue 18 cut it to about a third).

Usage: python benchmarks/forecast.py [scenario] [--method auto|pooled|mean]
(default: fully-digital-kz; the bundled snapshot store in a temporary DIGIMETER_HOME)
"""

import os
import sys
import tempfile
import time

os.environ.setdefault("DIGIMETER_HOME", tempfile.mkdtemp(prefix="digimeter-bench-"))

from digimeter import forecast as F  # noqa: E402
from digimeter.forecast import pooled  # noqa: E402
from digimeter.errors import DigimeterError  # noqa: E402
from digimeter.spec import load_spec  # noqa: E402
from digimeter.store import open_store  # noqa: E402
from digimeter.targets import Forecaster, load_scenario  # noqa: E402

args = [a for a in sys.argv[1:] if not a.startswith("--")]
method = sys.argv[sys.argv.index("--method") + 1] if "--method" in sys.argv else F.DEFAULT_METHOD
if "--method" in sys.argv:
    args.remove(method)
sc = load_scenario(args[0] if args else "fully-digital-kz")
store = open_store()
countries = set(store.units(kind="country").code)
codes = []
for t in sc.targets:
    if t.indicator:
        codes.append(t.indicator)
    for sp in {t.spec, getattr(t.threshold, "spec", None)} - {None}:
        codes += [n.indicator for n in load_spec(sp).indicator_nodes()]
codes = [c for c in dict.fromkeys(codes)
         if store.observations(indicators=[c], units=sorted(countries)).unit.nunique() >= 30]
fc = Forecaster(store, max(t.deadline for t in sc.targets), method=method, n_samples=2000)
in_pooled = [0.0]   # seconds inside the pooled model (its backtests and forecasts; issue 18)


def _timed(f):
    def g(*a, **k):
        t0 = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            in_pooled[0] += time.perf_counter() - t0
    return g


pooled.pooled_backtest, pooled.pooled_forecast = _timed(pooled.pooled_backtest), _timed(pooled.pooled_forecast)
total_series, t_all = 0, time.perf_counter()
for c in codes:
    t0 = time.perf_counter()
    try:
        f = fc.country(c)
        n = len(f.units) if hasattr(f, "units") else len(f.base.units)
        how = f.base.method
    except DigimeterError as exc:   # report, keep timing the others
        n, how = 0, f"error: {exc}"
    dt = time.perf_counter() - t0
    total_series += n
    print(f"{c:36s} {n:4d} countries  {dt:6.2f} s  {how}", flush=True)
dt = time.perf_counter() - t_all
print(f"{'total (' + str(len(codes)) + ' indicators, ' + method + ')':36s} {total_series:4d} series     {dt:6.2f} s")
print(f"{'  of which the pooled model':36s}              {in_pooled[0]:6.2f} s  ({in_pooled[0] / dt:.0%}; "
      "issue 18: about 3x less than with the per-horizon k-d trees)")
