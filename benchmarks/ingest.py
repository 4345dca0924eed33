"""Benchmark: load the WDI bulk CSV layout into the store vs. a plain pandas read_csv + to_parquet.

The file is SYNTHESISED in the World Bank bulk-download layout (``Country Name, Country Code,
Indicator Name, Indicator Code, 1960, ..., 2024``) at real scale: ~1,500 indicators x 265 economies x
65 years (about 26 million cells, ~60 % filled). The values are random numbers, NOT World Bank data —
only the shape and size matter for a speed test.

Three phases, each in a fresh Python process so its peak memory is its own (max RSS of that process,
which includes DuckDB's and Arrow's native memory; the RSS after imports is printed for reference):

* baseline: ``pd.read_csv`` + ``DataFrame.to_parquet``;
* load: digimeter's import path for this layout — :func:`digimeter.sources.worldbank.read_bulk_csv`
  (pyarrow's multi-threaded CSV reader, numpy unpivot, categorical unit/indicator codes) and
  :func:`digimeter.sources.update.apply_batches` into a store holding the bundled snapshot (one
  transaction, one vintage; the rows reach DuckDB as Arrow, one ``INSERT ... SELECT``);
* re-import: the same file again into that store (every value compared, nothing added).

Values/s counts non-empty cells. Not a test. ``--scale 0.02`` runs 2 % of the indicators (a few seconds).

    python benchmarks/ingest.py [--scale 1.0] [--economies 265] [--keep DIR]

Recorded results, 2026-11-29, 2 vCPU container (23 GB RAM, Linux), Python 3.11, DuckDB 2.0.1,
pandas 3.1.1, pyarrow 26 (other jobs shared the two cores at times; compare within a row):

    scale  values       baseline pandas          digimeter load                     re-import (0 new)
    2 %       310,690   0.1 s 2.30 M/s  143 MB   0.4 s 0.76 M/s  295 MB  (3.0x)     0.5 s 0.63 M/s  340 MB
    10 %    1,551,137   0.6 s 2.78 M/s  174 MB   1.3 s 1.18 M/s  455 MB  (2.4x)     1.8 s 0.87 M/s  584 MB
    FULL   15,501,736   5.6 s 2.76 M/s  578 MB  10.4 s 1.49 M/s 1473 MB  (1.9x)    18.3 s 0.85 M/s 3026 MB
    (values/s; peak RSS of the phase's process; full scale: 1,500 indicators x 265 economies x 65
    years, 155 MB CSV, parse 3.9 s of the 10.4 s; store file 114 MB)

Before the optimisation (same machine, same day; the old benchmark's pandas melt + ``apply_batches``
with per-step pandas copies, object strings, two comparison joins and an ART primary-key index on
``observations``), load only, timed without tracemalloc: 2 %: 1.3 s = 233,000 values/s, peak RSS
368 MB; 10 %: 7.1 s = 217,000 values/s, 835 MB; FULL: 64.0 s = 242,000 values/s, peak RSS 6,277 MB. (The old script timed
under tracemalloc, which slows Python allocation and does not see DuckDB/Arrow memory: it printed
28,000 and 31,600 values/s at 2 % and 10 % on a busy machine.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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


def _rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory (``VmHWM``: its peak; unlike ``ru_maxrss`` it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1e3
    return float("nan")


def phase_baseline(csv: Path, db: Path) -> dict:
    import pandas as pd

    base = _rss_mb()
    t = time.perf_counter()
    df = pd.read_csv(csv, skiprows=4)
    df.to_parquet(csv.with_suffix(".parquet"))
    dt = time.perf_counter() - t
    n = int(df[[str(y) for y in YEARS]].notna().sum().sum())
    return {"values": n, "seconds": dt, "base_rss_mb": base}


def _load(csv: Path, db: Path) -> dict:
    from digimeter.sources.update import apply_batches
    from digimeter.sources.worldbank import read_bulk_csv
    from digimeter.store import Store

    with Store(db) as s:
        base = _rss_mb()
        t = time.perf_counter()
        b = read_bulk_csv(csv, s, new_units_kind="country", origin_id="bench:synthetic")
        t_parse = time.perf_counter() - t
        rep = apply_batches(s, [b], threshold=1e9)
        dt = time.perf_counter() - t
    return {"values": rep.new + rep.changed + rep.unchanged, "new": rep.new, "unchanged": rep.unchanged,
            "vintage": rep.vintage, "seconds": dt, "parse_seconds": t_parse, "base_rss_mb": base}


PHASES = {"baseline": phase_baseline, "load": _load, "reimport": _load}


def run_phase(name: str, csv: Path, db: Path) -> dict:
    """Run one phase in a child process; return its numbers and its own max RSS."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--csv", str(csv), "--db", str(db)],
                         check=True, capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the 1,500 indicators (default 1.0)")
    ap.add_argument("--economies", type=int, default=265)
    ap.add_argument("--keep", type=Path, default=None, help="keep the synthesised CSV and store here")
    ap.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    ap.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase:  # child process
        r = PHASES[a.phase](a.csv, a.db)
        r["max_rss_mb"] = _rss_mb("VmHWM")
        print(json.dumps(r))
        return

    n_ind = max(1, int(1500 * a.scale))
    tmp = Path(a.keep or tempfile.mkdtemp(prefix="digimeter-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    csv = tmp / "WDI_synthetic.csv"
    t = time.perf_counter()
    cells = synthesise(csv, n_ind, a.economies)
    print(f"synthesised {n_ind} indicators x {a.economies} economies x {len(YEARS)} years "
          f"({cells:,} values, {csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s  [SYNTHETIC VALUES]",
          flush=True)
    os.environ["DIGIMETER_HOME"] = str(tmp)
    db = tmp / "bench.duckdb"
    if db.exists():
        db.unlink()
    from digimeter.store import Store

    Store(db).close()  # create it (and load the bundled snapshot) outside the timing

    def show(label: str, r: dict, extra: str = "") -> None:
        print(f"{label:<44}: {r['values']:>12,} values {r['seconds']:7.1f} s {r['values'] / r['seconds']:>11,.0f} values/s"
              f"  peak RSS {r['max_rss_mb']:,.0f} MB (after imports {r['base_rss_mb']:,.0f} MB){extra}", flush=True)

    rb = run_phase("baseline", csv, db)
    show("baseline  pandas read_csv + to_parquet", rb)
    rl = run_phase("load", csv, db)
    show("digimeter read_bulk_csv + apply_batches", rl, f"; parse {rl['parse_seconds']:.1f} s, vintage {rl['vintage']}")
    rr = run_phase("reimport", csv, db)
    show("digimeter re-import (all unchanged)", rr, f"; {rr['new']} new, vintage {rr['vintage']}")
    print(f"ratio digimeter/baseline time: load {rl['seconds'] / rb['seconds']:.1f}x, "
          f"re-import {rr['seconds'] / rb['seconds']:.1f}x; store file {db.stat().st_size / 1e6:,.0f} MB")
    if a.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
