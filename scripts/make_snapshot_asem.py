"""Make the bundled snapshot part ``coinr_asem``: COINr's ASEM example data (Parquet).

Reads ``<shared>/methods/coinr_asem/input_iData.csv`` and ``input_iMeta.csv`` (COINr 1.1.14's
``ASEM_iData`` and ``ASEM_iMeta``, written by COINr itself at full precision) and writes
``src/digimeter/data/snapshot/{indicators,origins,observations,groups}_coinr_asem.parquet``
(and ``units_coinr_asem.parquet`` only if some ASEM unit is not already a country of the store).

- Indicators: every iMeta row of Type ``Indicator`` and ``Denominator`` becomes the store indicator
  ``asem_<iCode>`` (the prefix keeps them apart from the store's own codes, e.g. ``population``);
  name, unit and direction (``higher_is_better = Direction == 1``; denominators: True) from iMeta,
  ``source_code`` = COINr's iCode.
- Observations: the 51 units x (49 indicators + 4 denominators) for the year in the ``Time``
  column (2018); blank cells are not stored (missing).
- Groups: the iMeta rows of Type ``Group`` (GDP_group, GDPpc_group, Pop_group, EurAsia_group) as
  ``unit, grouping, group`` rows, read by ``build`` for ``impute.group_by``.

Nothing here types in a number. Run: python scripts/make_snapshot_asem.py --shared ../shared
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd

from digimeter import store

PKG = Path(__file__).resolve().parents[1] / "src" / "digimeter" / "data"
OUT = PKG / "snapshot"
PART = "coinr_asem"
PREFIX = "asem_"
ORIGIN_ID = "coinr_asem"
RETRIEVED = "2026-11-29"  # when the files were assembled into shared/methods (as the other parts)

# the store's own column lists (observations without vintage: the store assigns it)
UNIT_COLS, IND_COLS, ORIGIN_COLS = store.UNIT_COLS, store.IND_COLS, store.ORIGIN_COLS
OBS_COLS = [c for c in store.OBS_COLS if c != "vintage"]
GROUP_COLS = ["unit", "grouping", "group", "origin_id"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default="../shared", type=Path, help="the shared folder (holds methods/coinr_asem)")
    args = ap.parse_args()
    base = args.shared / "methods" / "coinr_asem"
    data_path, meta_path = base / "input_iData.csv", base / "input_iMeta.csv"
    d = pd.read_csv(data_path)
    m = pd.read_csv(meta_path)

    # --- indicators (and denominators) --------------------------------------------------------
    ind_meta = m[m.Type.isin(["Indicator", "Denominator"])]
    indicators = pd.DataFrame({
        "code": PREFIX + ind_meta.iCode,
        "name": ind_meta.iName,
        "unit": ind_meta.Unit,
        "higher_is_better": [True if t == "Denominator" else int(v) == 1
                             for t, v in zip(ind_meta.Type, ind_meta.Direction)],
        "min_value": None, "max_value": None,
        "source": "JRC COINr example (ASEM)",
        "source_code": ind_meta.iCode,
        "description": [f"COINr ASEM example {t.lower()} {c}" + (f" (pillar {p})" if isinstance(p, str) else "")
                        + (f"; denominated by {den} in COINr's example build" if isinstance(den, str) else "")
                        for t, c, p, den in zip(ind_meta.Type, ind_meta.iCode, ind_meta.Parent,
                                                ind_meta.Denominator)],
    })
    missing_cols = sorted(set(ind_meta.iCode) - set(d.columns))
    if missing_cols:
        raise SystemExit(f"iMeta codes without an iData column: {missing_cols}")

    # --- origin ---------------------------------------------------------------------------------
    common = {
        "publisher": "JRC (COINr example data, ASEM Sustainable Connectivity Portal)",
        "edition": "COINr 1.1.14",
        "url": "https://bluefoxr.github.io/COINr/reference/ASEM_iData.html; https://github.com/bluefoxr/COINr",
        "licence": "MIT (COINr 1.1.14 and the example data it ships, as stated in shared methods/coinr_asem/"
                   "README.md); cite Becker et al. (2022) JOSS 7(78) 4567 and the JRC ASEM Sustainable "
                   "Connectivity Portal",
        "retrieved": RETRIEVED,
    }
    origins = pd.DataFrame([
        {**common, "origin_id": ORIGIN_ID,
         "dataset": "COINr example data ASEM_iData (ASEM Sustainable Connectivity index: 51 countries, "
                    "49 indicators, 4 denominators, 4 groupings, 2018)",
         "repository": "bluefoxr/COINr (CRAN 1.1.14) data/ASEM_iData.rda, written to CSV by COINr 1.1.14: "
                       "shared methods/coinr_asem/input_iData.csv",
         "sha256": sha256(data_path),
         "note": "observations and unit groups; units are COINr's uCode (ISO 3166 alpha-3), year from the "
                 f"Time column; indicator metadata from origin {ORIGIN_ID}_meta"},
        {**common, "origin_id": f"{ORIGIN_ID}_meta",
         "dataset": "COINr example metadata ASEM_iMeta (indicator names, units, directions, weights, tree)",
         "repository": "bluefoxr/COINr (CRAN 1.1.14) data/ASEM_iMeta.rda, written to CSV by COINr 1.1.14: "
                       "shared methods/coinr_asem/input_iMeta.csv",
         "sha256": sha256(meta_path),
         "note": "names, units and directions of the asem_* indicators; the tree and weights are in the "
                 "shipped spec asem (src/digimeter/data/specs/asem.yaml)"},
    ])

    # --- observations ---------------------------------------------------------------------------
    years = d.Time.unique()
    if len(years) != 1:
        raise SystemExit(f"expected one Time value in iData, got {sorted(years)}")
    long = d.melt(id_vars=["uCode", "Time"], value_vars=list(ind_meta.iCode), var_name="iCode",
                  value_name="value").dropna(subset=["value"])
    obs = pd.DataFrame({"unit": long.uCode, "indicator": PREFIX + long.iCode, "year": long.Time.astype("int32"),
                        "value": long.value.astype(float), "origin_id": ORIGIN_ID, "note": None})[OBS_COLS]
    dup = obs.duplicated(["unit", "indicator", "year"])
    if dup.any():
        raise SystemExit(f"duplicate keys:\n{obs[dup].head()}")

    # --- unit groups ------------------------------------------------------------------------------
    gcodes = list(m.iCode[m.Type == "Group"])
    g = d.melt(id_vars=["uCode"], value_vars=gcodes, var_name="grouping", value_name="group").dropna()
    groups = pd.DataFrame({"unit": g.uCode, "grouping": g.grouping, "group": g.group.astype(str),
                           "origin_id": ORIGIN_ID})[GROUP_COLS]

    # --- units: the ASEM countries must be in the country part; add any that are not ------------
    known = pd.read_parquet(OUT / "units_countries.parquet")
    extra = d[~d.uCode.isin(known.code)]
    OUT.mkdir(parents=True, exist_ok=True)
    units_path = OUT / f"units_{PART}.parquet"
    if len(extra):
        units = pd.DataFrame({c: None for c in UNIT_COLS}, index=range(len(extra)))
        units["code"], units["name"], units["kind"] = extra.uCode.to_numpy(), extra.uName.to_numpy(), "country"
        units.to_parquet(units_path, index=False)
        print(f"added units (not in the country part): {', '.join(extra.uCode)}")
    elif units_path.exists():
        units_path.unlink()

    indicators[IND_COLS].to_parquet(OUT / f"indicators_{PART}.parquet", index=False)
    origins[ORIGIN_COLS].to_parquet(OUT / f"origins_{PART}.parquet", index=False)
    obs.sort_values(["indicator", "unit"]).to_parquet(OUT / f"observations_{PART}.parquet", index=False)
    groups.sort_values(["grouping", "unit"]).to_parquet(OUT / f"groups_{PART}.parquet", index=False)
    print(f"units {d.uCode.nunique()} ({len(extra)} new), indicators {len(indicators)}, groups {len(groups)}, "
          f"observations {len(obs)}")


if __name__ == "__main__":
    main()
