"""Benchmark: load the WDI bulk CSV layout into the store vs. a plain pandas read_csv + to_parquet.

The file is SYNTHESISED in the World Bank bulk-download layout (``Country Name, Country Code,
Indicator Name, Indicator Code, 1960, ..., 2024``) at real scale: ~1,500 indicators x 265 economies x
65 years (about 26 million cells, ~60 % filled). The values are random numbers, NOT World Bank data —
only the shape and size matter for a speed test.

Prints rows per second and peak memory (tracemalloc peak of Python allocations and the process's
max RSS) for (a) the baseline ``pd.read_csv`` + ``DataFrame.to_parquet`` and (b) digimeter's path:
read, melt to tidy rows, and ``apply_batches`` into a temporary store (one transaction, one vintage).
Not a test. ``--scale 0.1`` runs a tenth of the indicators.

    python benchmarks/ingest.py [--scale 1.0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

YEARS = list(range(1960, 2025))


def synthesise(path: Path, n_ind: int, n_eco: int, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    eco = [f"E{i:03d}" for i in range(n_eco)]
    with path.open("w", encoding="utf-8") as f:
        f.write('"Data Source","World Development Indicators (SYNTHESISED for a benchmark)",\n\n')
        f.write('"Last Updated Date","2025-01-01",\n\n')
        f.write(",".join(["Country Name", "Country Code", "Indicator Name", "Indicator Code"] + [str(y) for y in YEARS]) + ",\n")
        cells = 0
        for j in range(n_ind):
            vals = rng.lognormal(2, 1, size=(n_eco, len(YEARS)))
            vals[rng.random(vals.shape) < 0.4] = np.nan
            cells += int(np.isfinite(vals).sum())
            txt = np.where(np.isnan(vals), "", np.char.mod("%.6g", vals))
            for i, e in enumerate(eco):
                f.write(f'"Economy {e}",{e},"Synthetic indicator {j}",SYN.{j:04d},' + ",".join(txt[i]) + ",\n")
    return cells


def measure(fn):
    tracemalloc.start()
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, dt, peak


def baseline(csv: Path, out: Path) -> int:
    df = pd.read_csv(csv, skiprows=4)
    df.to_parquet(out)
    return int(df[[str(y) for y in YEARS]].notna().sum().sum())


def digimeter_load(csv: Path, db: Path) -> int:
    from digimeter.sources.http import Batch
    from digimeter.sources.update import apply_batches
    from digimeter.store import Store

    wide = pd.read_csv(csv, skiprows=4, dtype={"Country Code": str, "Indicator Code": str})
    wide = wide.drop(columns=[c for c in wide.columns if c.startswith("Unnamed")])
    long = wide.melt(id_vars=["Country Name", "Country Code", "Indicator Name", "Indicator Code"],
                     value_vars=[str(y) for y in YEARS], var_name="year", value_name="value").dropna(subset=["value"])
    obs = pd.DataFrame({"unit": long["Country Code"].to_numpy(), "indicator": long["Indicator Code"].to_numpy(),
                        "year": long["year"].astype("int32").to_numpy(), "value": long["value"].to_numpy(),
                        "note": None})
    del long
    units = wide[["Country Code", "Country Name"]].drop_duplicates().rename(
        columns={"Country Code": "code", "Country Name": "name"}).assign(kind="country")
    inds = wide[["Indicator Code", "Indicator Name"]].drop_duplicates().rename(
        columns={"Indicator Code": "code", "Indicator Name": "name"}).assign(higher_is_better=True, source="benchmark",
                                                                             source_code=lambda d: d.code)
    del wide
    with Store(db) as s:
        b = Batch("benchmark", obs, {"origin_id": "bench:synthetic", "publisher": "benchmark (synthesised)"},
                  indicators=inds, units=units)
        rep = apply_batches(s, [b], threshold=1e9)
        return rep.new


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the 1,500 indicators")
    ap.add_argument("--economies", type=int, default=265)
    ap.add_argument("--keep", type=Path, default=None, help="keep the synthesised CSV and store here")
    a = ap.parse_args()
    n_ind = max(1, int(1500 * a.scale))
    tmp = Path(a.keep or tempfile.mkdtemp(prefix="digimeter-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    csv = tmp / "WDI_synthetic.csv"
    t = time.perf_counter()
    cells = synthesise(csv, n_ind, a.economies)
    print(f"synthesised {n_ind} indicators x {a.economies} economies x {len(YEARS)} years "
          f"({cells:,} values, {csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s  [SYNTHETIC VALUES]")

    n_b, dt_b, peak_b = measure(lambda: baseline(csv, tmp / "baseline.parquet"))
    print(f"baseline  pandas read_csv + to_parquet : {n_b:>12,} values  {dt_b:7.1f} s  {n_b / dt_b:>12,.0f} values/s  "
          f"peak (tracemalloc) {peak_b / 1e6:,.0f} MB")
    db = tmp / "bench.duckdb"
    import os
    os.environ["DIGIMETER_HOME"] = str(tmp)
    from digimeter.store import Store

    Store(db).close()  # create it (and load the bundled snapshot) outside the timing
    n_d, dt_d, peak_d = measure(lambda: digimeter_load(csv, db))
    print(f"digimeter read + melt + store (1 vintage): {n_d:>12,} values  {dt_d:7.1f} s  {n_d / dt_d:>12,.0f} values/s  "
          f"peak (tracemalloc) {peak_d / 1e6:,.0f} MB")
    print(f"ratio digimeter/baseline time: {dt_d / dt_b:.1f}x; process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:,.0f} MB")
    if a.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
