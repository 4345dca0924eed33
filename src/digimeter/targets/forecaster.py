"""The forecaster: every indicator's forecasts, made once per evaluation and cached (every country, or a
group of regions read onto today's layout), and one unit's forecast (``digimeter forecast``).
See :mod:`digimeter.targets` for the method."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from .. import forecast as F
from ..errors import DataError, NotFoundError

__all__ = ["HISTORY_YEARS", "EVAL_MODELS", "STALE_YEARS", "thin_years", "value_bounds", "wide_panel",
           "IndicatorForecast", "Forecaster", "forecast_unit",
           "START_COST", "forecast_cost", "split_work", "forecast_countries"]

#: years of history used for the forecasts of :func:`~digimeter.targets.evaluate` (up to the last thick year)
HISTORY_YEARS = 20
#: models fitted by :func:`~digimeter.targets.evaluate` (the ones its method, the equal-weight mean, combines)
EVAL_MODELS = F.COMBO_MODELS
#: a unit whose latest value is older than this many years before the deadline is not forecast
STALE_YEARS = 8


def thin_years(counts: pd.Series, *, share: float = 0.5, lookback: int = 5) -> list[int]:
    """Trailing years reported by too few units (see the module docstring).

    ``counts``: number of units with a value, indexed by year. Walking back from the last year, a
    year is thin when its count is below ``share`` times the largest count of the ``lookback``
    years before it; the walk stops at the first year that is not thin.
    """
    c = counts.sort_index()
    c = c.reindex(range(int(c.index.min()), int(c.index.max()) + 1), fill_value=0)
    thin = []
    for y in reversed(c.index.tolist()):
        prev = c[(c.index < y) & (c.index >= y - lookback)]
        if len(prev) and c[y] < share * prev.max():
            thin.append(int(y))
        else:
            break
    return sorted(thin)


def value_bounds(meta: dict) -> tuple[float | None, float | None]:
    """An indicator's valid range ``(min_value, max_value)`` from its metadata (None: unbounded)."""
    lo, hi = meta.get("min_value"), meta.get("max_value")
    lo = None if lo is None or pd.isna(lo) else float(lo)
    hi = None if hi is None or pd.isna(hi) else float(hi)
    return lo, hi


def _seed(seed: int, *keys: str) -> int:
    return int(seed) + zlib.crc32("|".join(keys).encode()) % 1_000_003


def _years_text(years) -> str:
    """[2011, 2012, 2013, 2015] -> '2011-2013, 2015'."""
    ys, out = sorted(set(int(y) for y in years)), []
    for y in ys:
        if out and y == out[-1][1] + 1:
            out[-1][1] = y
        else:
            out.append([y, y])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in out)


def wide_panel(obs: pd.DataFrame) -> pd.DataFrame:
    """Observations (``unit``, ``year``, ``value``) as units x every year from the first to the last."""
    w = obs.pivot_table(index="unit", columns="year", values="value", aggfunc="last")
    if w.empty:
        return w
    return w.reindex(columns=range(int(w.columns.min()), int(w.columns.max()) + 1))


@dataclass
class IndicatorForecast:
    """Forecasts of one indicator for a set of units (see :class:`Forecaster`).

    ``base`` is the forecast of every unit from data up to the last thick year; ``recent`` (if any)
    re-forecasts the units that report a thin year, anchored on their latest value, with the
    calibration of ``base``.
    """

    indicator: str
    units: list
    base: F.PanelForecast
    recent: F.PanelForecast | None
    lo: float | None
    hi: float | None
    history: pd.DataFrame                     # wide: units x years, every stored value (incl. thin)
    thin: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    calibrated_on: str = ""
    #: unit -> {year: how} for values that are estimates (regions' history read onto today's layout,
    #: or a parent's value for a region that has none); see :meth:`Forecaster.group`
    estimated: dict = field(default_factory=dict)
    _results: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def estimated_years(self, unit) -> list[int]:
        """Years of ``unit``'s history that are estimates (empty when every value is as published)."""
        return sorted(int(y) for y in self.estimated.get(unit, {}))

    def estimated_notes(self, unit) -> list[str]:
        """What was estimated for ``unit`` and how, in words (one phrase per way)."""
        ways: dict[str, list[int]] = {}
        for y, how in sorted(self.estimated.get(unit, {}).items()):
            ways.setdefault(how, []).append(int(y))
        return [f"{_years_text(ys)}: {how} (estimated)" for how, ys in ways.items()]

    def _where(self, unit):
        if self.recent is not None and unit in self.recent.units:
            return self.recent, self.recent.units.index(unit)
        if unit in self.base.units:
            return self.base, self.base.units.index(unit)
        raise NotFoundError(f"no forecast of '{self.indicator}' for unit '{unit}' (no data)",
                            field="unit", value=unit, fix="see `digimeter data show INDICATOR -u UNIT`")

    def result(self, unit) -> F.ForecastResult:
        """The unit's :class:`~digimeter.forecast.ForecastResult` (made once per unit, then reused)."""
        if unit not in self._results:
            pf, i = self._where(unit)
            with np.errstate(divide="ignore", invalid="ignore"):  # flat series: scale 0 in the MASE column
                self._results[unit] = pf.result(i)
        return self._results[unit]

    def status(self, unit) -> str:
        pf, i = self._where(unit)
        return pf.status[i]

    def samples_at(self, year: int, units, n: int | None = None) -> np.ndarray:
        """Predictive draws of the value in ``year`` for ``units``: array (n_units, n); NaN where a
        unit has no data, or its latest value is older than :data:`STALE_YEARS` before ``year``."""
        out = []
        for u in units:
            try:
                pf, i = self._where(u)
            except NotFoundError:
                out.append(None)
                continue
            ay = pf.anchor_year[i]
            if not np.isfinite(ay) or ay < year - STALE_YEARS:
                out.append(None)
                continue
            if year <= ay:
                v = self.history.loc[u].get(year, np.nan) if u in self.history.index else np.nan
                if pd.isna(v):  # no value that year: the latest one before it
                    s = self.history.loc[u].loc[:year].dropna()
                    v = s.iloc[-1] if len(s) else np.nan
                out.append(np.full(pf.n_samples, float(v)))
            else:
                j = int(np.searchsorted(pf.years, year))
                if j >= len(pf.years) or pf.years[j] != year:
                    raise DataError(f"{self.indicator}: no forecast for {year}", field="year", value=year,
                                    fix=f"forecast to {year} or later")
                out.append(pf.unit_samples(i)[:, j])
        S = max((len(x) for x in out if x is not None), default=0)
        n = S if n is None else min(n, S)
        arr = np.full((len(units), n), np.nan)
        for k, x in enumerate(out):
            if x is not None:
                arr[k] = x[:n]
        return arr

    def draws_at(self, year: int, units, u: np.ndarray) -> np.ndarray:
        """Like :meth:`samples_at`, at given probabilities ``u`` (n_units, n) instead of the panels'
        own uniforms: joint draws with other indicators (see :func:`~digimeter.targets.index_feasibility`)."""
        arr = np.full(u.shape, np.nan)
        for k, unit in enumerate(units):
            try:
                pf, i = self._where(unit)
            except NotFoundError:
                continue
            ay = pf.anchor_year[i]
            if not np.isfinite(ay) or ay < year - STALE_YEARS:
                continue
            if year <= ay:
                arr[k] = self.samples_at(year, [unit], 1)[0, 0]
                continue
            j = int(np.searchsorted(pf.years, year))
            if j >= len(pf.years) or pf.years[j] != year:
                raise DataError(f"{self.indicator}: no forecast for {year}", field="year", value=year,
                                fix=f"forecast to {year} or later")
            arr[k] = pf.draw(i, j, u[k])
        return arr


class Forecaster:
    """Forecasts per indicator, made once and cached (one evaluation, one store).

    Parameters
    ----------
    store : Store
    to_year : int  last year forecast (at least every deadline)
    seed, n_samples : reproducible predictive draws; each indicator (and group) gets its own seed
        derived from ``seed``, so draws are independent across indicators.
    """

    def __init__(self, store, to_year: int, *, seed: int = 0, n_samples: int = 2000,
                 method: str = F.DEFAULT_METHOD, models=EVAL_MODELS, progress: Callable[[str], None] | None = None):
        self.store = store
        self.to_year = int(to_year)
        self.seed = seed
        self.n_samples = n_samples
        self.method = method
        self.models = tuple(models)
        self.progress = progress
        self._cache: dict = {}
        self._country_codes: list | None = None
        self._aside = None    # (Aside, {code: inputs}) while the second process of prefetch works

    def _say(self, msg):
        if self.progress:
            self.progress(msg)

    def countries(self) -> list:
        if self._country_codes is None:
            self._country_codes = self.store.units(kind="country").code.tolist()
        return self._country_codes

    def _panel(self, indicator, units):
        meta = self.store.indicator(indicator)
        lo, hi = value_bounds(meta)
        obs = self.store.observations(indicators=[meta["code"]], units=units)
        notes = []
        if obs.empty:
            return meta, lo, hi, obs, notes
        bad = ((obs.value < lo) if lo is not None else False) | ((obs.value > hi) if hi is not None else False)
        if np.any(bad):
            b = obs[bad]
            notes.append(f"{len(b)} value(s) outside the valid range [{lo}, {hi}] left out "
                         f"(e.g. {b.unit.iloc[0]} {int(b.year.iloc[0])}: {b.value.iloc[0]:g})")
            obs = obs[~bad]
        return meta, lo, hi, obs, notes

    def country(self, indicator: str) -> IndicatorForecast:
        """Every country's forecast of ``indicator`` (calibration pooled across countries)."""
        key = ("country", indicator)
        if key not in self._cache and self.pending([indicator]):
            self.collect()
        if key not in self._cache:
            self._say(f"forecasting {indicator} for every country")
            meta, lo, hi, obs, notes = self._panel(indicator, self.countries())
            if obs.empty:
                raise DataError(f"no country data for indicator '{indicator}'", field="indicator", value=indicator)
            self._cache[key] = self._forecast(meta["code"], obs, lo, hi, notes, seed_key="country")
        return self._cache[key]

    def prefetch(self, indicators, *, workers: int | None = None, prefer=()) -> None:
        """Every country's forecast of each of ``indicators`` made ahead, in two processes side by side:
        the store is read here, then about half of the work (by :func:`forecast_cost`) goes to a second
        process (:class:`digimeter._util.aside.Aside`: the forecasts hold the GIL most of the time, so
        threads did not run them side by side) while this one makes the rest. Each indicator keeps its own
        seed, so the forecasts are the ones :meth:`country` makes. The second process's forecasts are
        taken when one of them is first asked for (or by :meth:`collect`; :meth:`pending` says whether
        they are still being made), so the caller can use this process's first; should that process
        fail, its share is made here. ``prefer``: indicator codes made here if the split allows
        (:func:`split_work`), e.g. those that much later work waits for. ``workers`` (default
        ``$DIGIMETER_THREADS`` or 2) below 2: nothing ahead, each made when asked for (e.g. to profile
        them). An indicator that cannot be forecast, or that fewer than 30 countries report (a regional
        one), is left to :meth:`country`."""
        from .._util.aside import Aside

        if workers is None:
            workers = int(os.environ.get("DIGIMETER_THREADS") or 2)
        if workers < 2 or self._aside is not None:
            return
        # the second process starts now: its imports overlap the reading of the data
        indicators = list(dict.fromkeys(indicators))
        job = Aside.open(__name__, "digimeter.forecast.pooled") if len(indicators) > 1 else None
        inputs = {}
        for ind in indicators:
            try:
                meta, lo, hi, obs, notes = self._panel(ind, self.countries())
            except (DataError, NotFoundError):
                continue
            if obs["unit"].nunique() >= 30 and ("country", meta["code"]) not in self._cache:
                inputs[meta["code"]] = (obs, lo, hi, notes)
        here, there = split_work({code: forecast_cost(obs) for code, (obs, *_rest) in inputs.items()},
                                 prefer=prefer)
        if len(inputs) < 2 or not there or job is None or not job.call(
                "forecast_countries", self.settings(), [(code, *inputs[code]) for code in there]):
            if job is not None:
                job.close()
            if len(inputs) < 2:
                return
            here, there = here + there, []
        else:
            self._aside = (job, {code: inputs[code] for code in there})
        self._say(f"forecasting {len(inputs)} indicators for every country")
        try:
            for code in here:
                self._prefetched(code, *inputs[code])
        except BaseException:
            self.close()
            raise

    def pending(self, indicators) -> bool:
        """Whether any of ``indicators`` (codes) is still being forecast by the second process."""
        return self._aside is not None and any(c in self._aside[1] for c in indicators)

    def collect(self) -> None:
        """Wait for the second process of :meth:`prefetch` and keep its forecasts (made here should it fail)."""
        if self._aside is None:
            return
        (job, inputs), self._aside = self._aside, None
        kind, got = job.result()
        if kind == "error":
            raise got
        for code, args in inputs.items():
            if kind == "ok" and code in got:
                if got[code] is not None:
                    self._cache[("country", code)] = got[code]
            else:   # the second process failed: its share is made here
                self._prefetched(code, *args)

    def close(self) -> None:
        """Stop the second process of :meth:`prefetch` if it still runs (its forecasts are not kept)."""
        if self._aside is not None:
            self._aside[0].close()
            self._aside = None

    def _prefetched(self, code, obs, lo, hi, notes) -> None:
        try:
            self._cache[("country", code)] = self._forecast(code, obs, lo, hi, notes, seed_key="country")
        except DataError:
            pass

    def settings(self) -> dict:
        """What a forecast depends on besides its data (a :class:`Forecaster` without a store is made from it)."""
        return {"to_year": self.to_year, "seed": self.seed, "n_samples": self.n_samples, "method": self.method,
                "models": self.models}

    def group(self, indicator: str, units: list, label: str) -> IndicatorForecast:
        """Forecasts for a group of units (regions), calibrated on the countries' errors when they
        report the indicator, else on the group's own pooled errors."""
        key = ("group", indicator, tuple(units))
        if key not in self._cache:
            self._say(f"forecasting {indicator} for {label}")
            meta, lo, hi, obs, notes = self._panel(indicator, units)
            obs, estimated = self._on_todays_layout(meta["code"], units, obs, lo, hi, notes)
            if obs.empty:
                raise DataError(f"no data for indicator '{indicator}' in {label}", field="indicator",
                                value=indicator)
            cal, how, donors = None, "", None
            cobs = self.store.observations(indicators=[meta["code"]], units=self.countries())
            n_countries = cobs.unit.nunique()
            if n_countries >= 30:
                cf = self.country(meta["code"])
                cal = cf.base.calibration
                how = f"borrowed from the countries: {cf.calibrated_on}"
                if self.method in F.POOLED_METHODS:   # the pooled model learns from the countries too
                    inside = cobs.value.between(-np.inf if lo is None else lo, np.inf if hi is None else hi)
                    cw = wide_panel(cobs[inside])
                    donors = (cw.columns.to_numpy(), cw.to_numpy(float))
            self._cache[key] = self._forecast(meta["code"], obs, lo, hi, notes, seed_key=label,
                                              calibration=cal, how=how, donors=donors)
            self._cache[key].estimated = estimated
        return self._cache[key]

    def _on_todays_layout(self, code, units, obs, lo, hi, notes):
        """Regions' observations on today's layout, so no region is left out.

        Values published on an older layout (before regions were split or merged) are read onto the
        current one with :func:`digimeter.regions.regional_observations` (the crosswalk the regional
        index uses: a new region takes the value of the territory it was part of, merged ones the
        population-weighted mean); a region that still has no value at all gets its parent unit's
        values. Both are marked estimated. Units that are not regions of one country, or not on its
        current layout (abolished regions), keep their stored values.
        Returns ``(obs, {unit: {year: how}})``.
        """
        from ..geography import geography, regional_observations

        um = self.store.units().set_index("code").reindex(units)
        parents = um["parent"].dropna().unique()
        if um.empty or (um["kind"] != "region").any() or len(parents) != 1:
            return obs, {}
        parent = str(parents[0])
        est: dict = {}
        try:
            geo = geography(self.store, parent)
            layout = geo.latest_layout()
            on = set(geo.units(layout)) & set(units)
            ro = regional_observations(self.store, parent, code, layout=layout, geo=geo)
        except (NotFoundError, DataError):
            on, ro = set(), None
        if ro is not None and len(ro):
            ro = ro[(ro["indicator"] == code) & ro["unit"].isin(on)]
            ro = ro[~(((ro.value < lo) if lo is not None else False) | ((ro.value > hi) if hi is not None else False))]
            for r in ro[ro["estimated"].astype(bool)].itertuples(index=False):
                src = ", ".join(x for x in str(r.sources).split(";") if x)
                est.setdefault(r.unit, {})[int(r.year)] = (f"read onto today's layout ({layout}) via the "
                                                          f"crosswalk from the territory of {src} then")
            obs = pd.concat([obs[~obs["unit"].isin(on)], ro.assign(indicator=code)], ignore_index=True)
            n = sum(len(v) for v in est.values())
            if n:
                notes.append(f"{n} regional value(s) published on an earlier layout read onto {layout} via the "
                             "crosswalk (marked estimated)")
        alive = on or set(um.index[pd.to_numeric(um["valid_to"], errors="coerce").isna()])   # not abolished ones
        missing = [u for u in units if u in alive and u not in set(obs["unit"])]
        if missing:
            pobs = self.store.observations(indicators=[code], units=[parent])
            pobs = pobs[~(((pobs.value < lo) if lo is not None else False) |
                          ((pobs.value > hi) if hi is not None else False))]
            if len(pobs):
                for u in missing:
                    obs = pd.concat([obs, pobs.assign(unit=u)], ignore_index=True)
                    est[u] = {int(y): f"no value of its own: its parent {parent}'s value"
                              for y in pobs["year"]}
                notes.append(f"{len(missing)} region(s) without any value take their parent {parent}'s values "
                             f"(marked estimated): {', '.join(missing)}")
        return obs, est

    def _forecast(self, indicator, obs, lo, hi, notes, *, seed_key, calibration=None, how="", donors=None):
        counts = obs.groupby("year").unit.nunique()
        thin = thin_years(counts) if len(counts) > 1 else []
        full = wide_panel(obs)
        last_thick = int(max(set(counts.index) - set(thin)))
        first = max(int(full.columns.min()), last_thick - HISTORY_YEARS + 1)
        thick = full.loc[:, first:last_thick].dropna(how="all")
        kw = dict(lo=lo, hi=hi, cap=hi, models=self.models, method=self.method, n_samples=self.n_samples,
                  donors=donors)
        seed = _seed(self.seed, indicator, seed_key)
        base = None
        if calibration is None:
            for min_obs in (5, 3, 2):
                try:
                    base = F.forecast_panel(thick.columns.to_numpy(), thick.to_numpy(float), self.to_year,
                                            units=list(thick.index), seed=seed, min_obs=min_obs, **kw)
                    break
                except DataError as e:
                    if "too few" not in str(e) or min_obs == 2:
                        raise
            if min_obs < 5:
                notes.append(f"short series: backtest origins from {min_obs} points on")
            how = (f"calibrated on {int(base.calibration.n.sum())} out-of-sample errors of these "
                   f"{len(thick)} units, {first}-{last_thick}")
        else:
            base = F.forecast_panel(thick.columns.to_numpy(), thick.to_numpy(float), self.to_year,
                                    units=list(thick.index), seed=seed, calibration=calibration, **kw)
        recent = None
        if thin:
            movers = full.index[full[thin].notna().any(axis=1)]
            rec = full.loc[movers, first:].dropna(how="all")
            if len(rec):
                recent = F.forecast_panel(rec.columns.to_numpy(), rec.to_numpy(float), self.to_year,
                                          units=list(rec.index), seed=seed + 1,
                                          calibration=base.calibration, common_shock=base.common_shock,
                                          shock_seed=seed, **kw)
            notes.append(f"thin year(s) {', '.join(map(str, thin))} (reported by "
                         f"{', '.join(str(int(counts.get(y, 0))) for y in thin)} units against "
                         f"{int(counts.get(last_thick, 0))} in {last_thick}) left out of the calibration; "
                         "units reporting them are forecast from their latest value")
        info = base.common_shock_info or {}
        if base.common_shock > 0:
            notes.append(f"the units' draws share a common shock: their past out-of-sample errors moved together "
                         f"(correlation {base.common_shock:.2f} over {info.get('cells')} origin x horizon cells)")
        elif info.get("estimate") is not None:
            notes.append(f"draws independent across units (their past errors' correlation, "
                         f"{info['estimate']:.3f}, is negligible)")
        return IndicatorForecast(indicator=indicator, units=list(full.index), base=base, recent=recent, lo=lo,
                                 hi=hi, history=full, thin=thin, notes=notes, calibrated_on=how or
                                 f"{first}-{last_thick}")


#: a second process's start (interpreter and imports) in units of :func:`forecast_cost`
START_COST = 0.0


def forecast_cost(obs: pd.DataFrame) -> float:
    """A rough cost of an indicator's every-country forecast: the observations of its last
    :data:`HISTORY_YEARS` thick years, twice that when thin years are re-forecast (measured: about 75 us
    each on the 2-core machine of issue 18)."""
    counts = obs.groupby("year").unit.nunique()
    thin = thin_years(counts) if len(counts) > 1 else []
    last = max(set(counts.index) - set(thin), default=None)
    if last is None:
        return 0.0
    n = float(obs["year"].between(last - HISTORY_YEARS + 1, last).sum())
    return 2 * n if thin else n


def split_work(costs: dict, *, start: float = START_COST, prefer=()) -> tuple[list, list]:
    """Work items split between this process and a second one that starts ``start`` late: the items of
    ``prefer`` here first (costliest first, while this side holds at most half of the work; e.g. those whose
    results this process needs soonest), then the costliest first, each to the less loaded side. Returns
    ``(here, there)`` in the order of ``costs``."""
    load = [0.0, float(start)]
    half = (sum(costs.values()) + float(start)) / 2
    side = {}
    for k in sorted((k for k in dict.fromkeys(prefer) if k in costs), key=lambda k: -costs[k]):
        if load[0] + costs[k] <= half:
            side[k] = 0
            load[0] += costs[k]
    for k in sorted((k for k in costs if k not in side), key=lambda k: -costs[k]):
        i = int(load[1] < load[0])
        side[k] = i
        load[i] += costs[k]
    return [k for k in costs if side[k] == 0], [k for k in costs if side[k] == 1]


def forecast_countries(settings: dict, items: list) -> dict:
    """Every country's forecasts of several indicators from their observations (what
    :meth:`Forecaster.prefetch` sends to a second process): ``{code: IndicatorForecast or None}``
    (None: it cannot be forecast). ``items``: ``(code, obs, lo, hi, notes)`` each."""
    fc = Forecaster(None, **settings)
    for item in items:
        fc._prefetched(*item)
    return {code: fc._cache.get(("country", code)) for code, *_rest in items}


# --------------------------------------------------------------------------------------------
# one unit's forecast (the `digimeter forecast` command)
# --------------------------------------------------------------------------------------------

def forecast_unit(store, unit: str, indicator: str, to_year: int, *, seed: int = 0, n_samples: int = 2000,
                  method: str = F.DEFAULT_METHOD, progress: Callable[[str], None] | None = None,
                  forecaster: Forecaster | None = None):
    """Forecast one unit's indicator to ``to_year`` with intervals calibrated across its peers.

    A country is forecast within the panel of every country; a region within its country's regions
    (calibrated on the countries' errors when they report the indicator). Returns
    ``(ForecastResult, IndicatorForecast)``. ``forecaster``: a :class:`Forecaster` to reuse (e.g. the
    one a scenario's :func:`~digimeter.targets.evaluate` used, so the same forecasts are not made twice); it must reach
    ``to_year``.
    """
    u = store.unit(unit)
    code = store.indicator(indicator)["code"]
    models = F.DEFAULT_MODELS if method not in ("mean", *F.POOLED_METHODS) else EVAL_MODELS
    if forecaster is not None:
        if forecaster.to_year < to_year or forecaster.method != method:
            raise DataError(f"the forecaster reaches {forecaster.to_year} with method {forecaster.method!r}; "
                            f"this forecast needs {to_year} with {method!r}", field="forecaster",
                            fix="make it with a later to_year and the same method, or leave it out")
        fc = forecaster
    else:
        fc = Forecaster(store, to_year, seed=seed, n_samples=n_samples, method=method, models=models,
                        progress=progress)
    if u["kind"] == "country":
        ifc = fc.country(code)
    else:
        group = store.units(kind=u["kind"], parent=u["parent"]).code.tolist() if u["parent"] else [u["code"]]
        ifc = fc.group(code, group, f"{u['kind']}s of {u['parent']}")
    return ifc.result(u["code"]), ifc
