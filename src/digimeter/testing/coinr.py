"""COINr's ASEM example (Becker et al., COINr ``build_example_coin()``) as a spec and a panel, for the
parity tests and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["coinr_example"]


def coinr_example(folder: str | Path, *, repeat: int = 1):
    """COINr's ASEM example (``input_iData.csv``, ``input_iMeta.csv``) as ``(spec, panel, unit_meta)``.

    The panel holds the *denominated* indicators (COINr's first step); the spec imputes by the
    ``EurAsia_group`` mean, treats outliers (winmax 5), min-max normalises to [0, 100] and aggregates with
    arithmetic means, as ``build_example_coin()``. ``repeat`` stacks the units that many times
    (``AUT_2`` ...) for scale tests.
    """
    from ..panel import Panel
    from ..spec import parse_spec

    folder = Path(folder)
    data = pd.read_csv(folder / "input_iData.csv")
    im = pd.read_csv(folder / "input_iMeta.csv")
    ind = im[im.Type == "Indicator"]
    aggm = im[im.Type == "Aggregate"]
    root = aggm[aggm.Level == aggm.Level.max()].iCode.iloc[0]

    def node(code):
        r = im[im.iCode == code].iloc[0]
        if r.Type == "Indicator":
            return {"code": code, "name": r.iName, "indicator": code, "weight": float(r.Weight),
                    "direction": int(r.Direction)}
        return {"code": code, "name": r.iName, "weight": float(r.Weight),
                "children": [node(c) for c in im.iCode[im.Parent == code]]}

    spec = parse_spec({"name": root, "title": "ASEM Sustainable Connectivity (COINr example)", "year": 2018,
                       "impute": {"method": "mean_group", "group_by": "EurAsia_group"},
                       "treat": {"method": "coinr", "winmax": 5},
                       "normalise": {"method": "minmax", "range": [0, 100]},
                       "aggregate": {"method": "arithmetic"},
                       "tree": [node(c) for c in im.iCode[im.Parent == root]]}, source="coinr-asem")
    x = data.set_index("uCode")[ind.iCode.tolist()].astype(float)
    for _, r in ind.dropna(subset=["Denominator"]).iterrows():
        x[r.iCode] = x[r.iCode] / data.set_index("uCode")[r.Denominator]
    groups = data.set_index("uCode")[["uName", "EurAsia_group", "GDP_group"]].rename(columns={"uName": "name"})
    if repeat > 1:
        x = pd.concat([x.set_axis([f"{u}_{k}" if k else u for u in x.index]) for k in range(repeat)])
        groups = pd.concat([groups.set_axis([f"{u}_{k}" if k else u for u in groups.index]) for k in range(repeat)])
    x.index.name = "unit"
    x.columns.name = "indicator"
    years = pd.DataFrame(2018, index=x.index, columns=x.columns).where(x.notna())
    panel = Panel(values=x, years=years, origins=pd.DataFrame(index=x.index, columns=x.columns), year=2018,
                  window=0)
    return spec, panel, groups
