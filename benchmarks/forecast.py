"""Time forecast_panel (backtest of 6 models at every origin + calibration + final forecast) on every
country's series of each ITU indicator in the core wide file. Prints seconds and series per second.

Usage: python benchmarks/forecast.py [path/to/itu_ict_core_wide.csv]
(default: ../shared/data/countries/itu/itu_ict_core_wide.csv relative to the repository root)
"""

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from digimeter.forecast import forecast_panel

root = Path(__file__).resolve().parents[1]
path = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared/data/countries/itu/itu_ict_core_wide.csv"
d = pd.read_csv(path)
d = d[d["year"] <= 2023]
indicators = [c for c in d.columns if c not in ("iso3", "country", "year")]
total_series, t_all = 0, time.perf_counter()
for ind in indicators:
    w = d.pivot(index="iso3", columns="year", values=ind).dropna(how="all")
    w = w.reindex(columns=range(int(w.columns.min()), int(w.columns.max()) + 1))
    pct = ind.endswith("_pct") and "gni" not in ind
    t0 = time.perf_counter()
    try:
        pf = forecast_panel(w.columns.to_numpy(), w.to_numpy(), 2030, lo=0.0, hi=100.0 if pct else None,
                            n_samples=1000)
        ok = sum(s == "ok" for s in pf.status)
    except Exception as exc:  # report, keep timing the others
        ok = f"error: {exc}"
    dt = time.perf_counter() - t0
    total_series += len(w)
    print(f"{ind:32s} {len(w):4d} series  {dt:6.2f} s  {len(w) / dt:7.1f} series/s  ok={ok}")
dt = time.perf_counter() - t_all
print(f"{'total':32s} {total_series:4d} series  {dt:6.2f} s  {total_series / dt:7.1f} series/s")
