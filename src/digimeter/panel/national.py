"""From the store to a units x indicators matrix for one year (the panel a build starts from)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import SpecError
from ..store import Store


@dataclass
class Panel:
    """Values of indicators (columns) for units (rows) in a year, with where each value came from.

    ``years`` holds the year each value is from: with a ``window`` > 0 the latest value within
    ``[year - window, year]`` is taken and ``years`` says so (``lagged()`` lists those cells).
    """

    values: pd.DataFrame
    years: pd.DataFrame
    origins: pd.DataFrame
    year: int
    window: int
    vintage: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def units(self) -> list[str]:
        return self.values.index.tolist()

    @property
    def indicators(self) -> list[str]:
        return self.values.columns.tolist()

    def lagged(self) -> pd.DataFrame:
        """Cells whose value is older than the panel's year: unit, indicator, year used."""
        y = self.years.stack().rename("year_used").reset_index()
        y.columns = ["unit", "indicator", "year_used"]
        return y[y.year_used < self.year].reset_index(drop=True)

    def coverage(self) -> pd.Series:
        """Share of units with a value, per indicator."""
        return self.values.notna().mean()

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(",".join(self.units).encode())
        h.update(",".join(self.indicators).encode())
        h.update(np.ascontiguousarray(self.values.to_numpy(dtype=float)).tobytes())
        return h.hexdigest()


def select_units(store: Store, unit_filter, year: int | None = None) -> list[str]:
    """Codes of the units a spec's ``units`` filter admits (valid in ``year``, when given).

    Units with validity years (regions of a layout that changed, e.g. South Kazakhstan until 2017)
    take part only in the years they existed.
    """
    kinds = unit_filter.kind if isinstance(unit_filter.kind, list) else [unit_filter.kind]
    u = store.units(kind=kinds, parent=unit_filter.parent)
    if year is not None:
        vf = pd.to_numeric(u.valid_from, errors="coerce")
        vt = pd.to_numeric(u.valid_to, errors="coerce")
        u = u[(vf.isna() | (vf <= year)) & (vt.isna() | (vt >= year))]
    if unit_filter.un_member is not None:
        u = u[u.un_member.fillna(False).astype(bool) == unit_filter.un_member]
    if unit_filter.include:
        missing = sorted(set(unit_filter.include) - set(store.units().code))
        if missing:
            raise SpecError(f"units.include names unknown units: {', '.join(missing)}", field="units.include",
                            value=missing, fix="use unit codes from `digimeter data units`")
        u = u[u.code.isin(unit_filter.include)]
    codes = [c for c in u.code if c not in set(unit_filter.exclude)]
    if not codes:
        raise SpecError("the spec's `units` filter admits no unit", field="units",
                        fix="check units.kind / units.parent / units.include")
    return codes


def make_panel(store: Store, indicators: list[str], year: int, *, window: int = 0,
               units: list[str] | None = None, as_of_vintage: int | None = None) -> Panel:
    """The latest value of each indicator within ``[year - window, year]`` for each unit."""
    years = list(range(year - window, year + 1))
    obs = store.observations(indicators=indicators, units=units, years=years, as_of_vintage=as_of_vintage)
    if not obs.empty:
        obs = obs.sort_values("year").groupby(["unit", "indicator"], as_index=False).last()
    idx = pd.Index(units if units is not None else sorted(obs.unit.unique()), name="unit")
    cols = pd.Index(indicators, name="indicator")

    def wide(col: str) -> pd.DataFrame:
        if obs.empty:
            return pd.DataFrame(index=idx, columns=cols, dtype=float)
        return obs.pivot(index="unit", columns="indicator", values=col).reindex(index=idx, columns=cols)

    values = wide("value").astype(float)
    yrs = wide("year")
    origins = wide("origin_id")
    return Panel(values=values, years=yrs, origins=origins, year=year, window=window,
                 vintage=as_of_vintage)
