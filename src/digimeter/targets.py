"""Targets and feasibility: can a unit reach a digital target by its deadline, and how likely is it?

A **scenario** (YAML, validated with pydantic) is a named list of **targets**: a threshold on an
indicator, an index score or an index rank, for one unit or a group of units (every region of a
country), a comparator, a deadline year, the source of the threshold and a rationale. The shipped
scenario ``fully-digital-kz`` makes "a fully digital Kazakhstan within three years" concrete.

:func:`evaluate` answers every target from the store with the forecasting engine of
:mod:`digimeter.forecast`:

- **Forecasts** come from :func:`digimeter.forecast.forecast_panel` run over *every country* of the
  indicator, so the predictive intervals are calibrated on the method's own out-of-sample errors
  pooled across countries (the reference backtest's lesson: model residuals cover far too little).
  The method (``auto``, :data:`digimeter.forecast.DEFAULT_METHOD`) is the pooled analogue model of
  :mod:`digimeter.forecast_pooled` (how countries at a given level and pace went on to change) or, at a
  horizon where its past errors were larger, the equal-weight mean of the clipped random walk with
  drift, a Gompertz curve and a damped trend (``docs/backtest.md``).
- **Thin latest years** are left out of the backtest and the calibration: counting from the end,
  a year is *thin* when fewer than half as many countries report it as the best-covered of the five
  years before it (ITU internet use: 2024 has about 50 countries against about 200 in 2023). Early
  reporters are not a random sample (a selection effect), so calibrating on them would bias the
  intervals. Their values are still used: a country that has a value in a thin year is forecast
  from it (its anchor is its own latest value), with the calibration made on the thick years.
- **History**: the last :data:`HISTORY_YEARS` years up to the last thick year (older values add
  fitting time, not skill). Values outside the indicator's valid range are dropped (and noted).
- **Regions**: a group of sub-national units is forecast as its own panel, with the *country*
  calibration of the same indicator when countries report it (the regions alone are too few to
  calibrate on), and the pooled model trained on the countries' histories as well as theirs
  (``donors``); otherwise with their own pooled errors, which is flagged.
- **Index targets** (``kind: score`` or ``rank``): :func:`index_feasibility` draws joint paths of
  every indicator of an index spec for every country (one draw of each indicator's predictive
  distribution per sample, independent across indicators and countries) and rebuilds the index with
  :func:`digimeter.build.compute` per sample, giving P(rank <= k) and P(score >= s) at the deadline.

- **Regions** are every region of the country's current layout: values published under older layouts
  are read onto today's with the crosswalk (:func:`digimeter.regions.regional_observations`, as for the
  regional index) and a region with no value at all takes its parent's; both are marked estimated.

**Judged at the deadline.** Each target says what "met" means (``met:``): ``hold`` (the default) is
the state in the deadline year, ``reach`` is any year up to it (one-off milestones). ``p_met`` is
P(met as the target defines it); whether it is met *now* is a separate fact (``met_now``). A target
met now whose ``p_met`` is below the on-track line says so: "met now, likely to slip by 2028: P = 0.32".

Every row says how fast the unit must move (required pace per year), how fast it moved in the last
five years (achieved pace) and the fastest pace any country achieved from a similar level (over five
years), and states its status in plain words: *already met* (met now and P >= 0.8), *met now, may
slip* / *likely to slip* (met now, P < 0.8 / < 0.5), *on track* (P >= 0.8), *out of reach at
historical paces* (the required pace exceeds the fastest pace any country achieved from a similar
level), *at risk* or *needs acceleration*.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import forecast as F
from .errors import DataError, NotFoundError, Problem, SpecError

__all__ = [
    "Scenario", "Target", "RankScore", "UnitGroup", "load_scenario", "parse_scenario", "shipped_scenarios",
    "Forecaster", "IndicatorForecast", "evaluate", "index_feasibility", "IndexFeasibility",
    "forecast_unit", "backtest_report", "BacktestReport", "backtest_markdown", "thin_years",
    "HISTORY_YEARS", "EVAL_MODELS", "ON_TRACK", "STALE_YEARS", "LIKELY_SLIP", "p_met_of",
]

#: years of history used for the forecasts of :func:`evaluate` (up to the last thick year)
HISTORY_YEARS = 20
#: models fitted by :func:`evaluate` (the ones its method, the equal-weight mean, combines)
EVAL_MODELS = F.COMBO_MODELS
#: probability from which a target counts as on track
ON_TRACK = 0.8
#: a unit whose latest value is older than this many years before the deadline is not forecast
STALE_YEARS = 8
#: samples used for index-level feasibility (one rebuild of the index per sample)
INDEX_SAMPLES = 200


# --------------------------------------------------------------------------------------------
# scenario files
# --------------------------------------------------------------------------------------------

class RankScore(BaseModel):
    """A threshold defined as the score of the ``rank``-th best unit of ``spec`` (in ``year``,
    default the spec's own year, i.e. the latest edition)."""

    model_config = ConfigDict(extra="forbid")
    spec: str
    rank: int = Field(ge=1)
    node: str | None = None
    year: int | None = None


class RankScoreRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank_score: RankScore


class UnitGroup(BaseModel):
    """Every unit of a kind under a parent (``{parent: KAZ, kind: region}``)."""

    model_config = ConfigDict(extra="forbid")
    parent: str
    kind: str = "region"


class Target(BaseModel):
    """One target: ``<measure of unit(s)> <comparator> <threshold>`` by ``deadline``.

    ``met`` says when it counts as met: ``hold`` (default) judges the state in the deadline year (a
    target met today that slips back by then is not met); ``reach`` counts it met if it is met in any
    year up to the deadline (a one-off milestone, e.g. "launch the service by 2027").
    """

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str | None = None
    kind: Literal["indicator", "score", "rank"] = "indicator"
    indicator: str | None = None
    spec: str | None = None
    node: str | None = None
    unit: str | None = None
    units: UnitGroup | None = None
    comparator: Literal[">=", "<=", ">", "<"] = ">="
    threshold: Union[float, RankScoreRef]
    deadline: int = Field(ge=2000, le=2100)
    #: what "met" means: ``hold`` (the state in the deadline year) or ``reach`` (in any year up to the
    #: deadline, for one-off milestones)
    met: Literal["hold", "reach"] = "hold"
    source: str = Field(min_length=1)
    rationale: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self):
        if self.kind == "indicator":
            if not self.indicator:
                raise ValueError("an indicator target needs `indicator:` (e.g. internet_users_pct)")
            if self.spec:
                raise ValueError("`spec:` is for score and rank targets; drop it or set kind: score")
            if isinstance(self.threshold, RankScoreRef):
                raise ValueError("a rank_score threshold needs kind: score")
        else:
            if not self.spec:
                raise ValueError(f"a {self.kind} target needs `spec:` (e.g. egdi)")
            if self.indicator:
                raise ValueError(f"a {self.kind} target takes `spec:` (+ `node:`), not `indicator:`")
        if self.kind == "rank":
            if isinstance(self.threshold, RankScoreRef) or float(self.threshold) != int(self.threshold) \
                    or self.threshold < 1:
                raise ValueError("a rank threshold is a whole number >= 1 (e.g. 25 for the top 25)")
            if self.comparator not in ("<=", "<"):
                raise ValueError("a rank target reads 'rank <= k' (1 = best); use comparator: '<='")
        if (self.unit is None) == (self.units is None):
            raise ValueError("give exactly one of `unit:` (e.g. KAZ) or `units: {parent: KAZ, kind: region}`")
        if self.units is not None and self.kind != "indicator":
            raise ValueError("group targets (`units:`) are only supported for indicators")
        return self


class Scenario(BaseModel):
    """A named set of targets."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    title: str | None = None
    description: str | None = None
    promise: str | None = None
    baseline_year: int | None = None
    targets: list[Target] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _unique(cls, v):
        ids = [t.id for t in v]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"target ids must be unique; repeated: {', '.join(dup)}")
        return v

    @property
    def deadline(self) -> int:
        return max(t.deadline for t in self.targets)


def _where(loc: tuple, data: Any) -> tuple[str, str | None]:
    """Readable location (``target 'internet_use', field 'deadline'``) from a pydantic loc."""
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        tid = None
        if isinstance(data, dict) and isinstance(data.get("targets"), list) and loc[1] < len(data["targets"]):
            t = data["targets"][loc[1]]
            tid = t.get("id") if isinstance(t, dict) else None
        rest = [str(x) for x in loc[2:] if not str(x).startswith(("float", "RankScoreRef"))]
        who = f"target '{tid}'" if tid else f"targets[{loc[1]}]"
        return who, ".".join(rest) or None
    return "scenario", ".".join(str(x) for x in loc) or None


def parse_scenario(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping; raise :class:`SpecError` naming each culprit target and field."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a scenario is a mapping with `name:` and `targets:`", file=source,
                        fix="see src/digimeter/data/scenarios/fully-digital-kz.yaml")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems, seen = [], set()
        for e in exc.errors():
            who, fld = _where(tuple(e["loc"]), data)
            msg = e["msg"].removeprefix("Value error, ")
            fix = None
            if e["type"] == "extra_forbidden":
                import difflib
                word = str(e["loc"][-1])
                allowed = Target.model_fields if who.startswith("target") else Scenario.model_fields
                close = difflib.get_close_matches(word, list(allowed), n=2)
                msg = f"unknown field '{word}'"
                fix = f"did you mean {', '.join(close)}?" if close else f"allowed: {', '.join(allowed)}"
            elif e["type"] == "missing":
                fix = f"add `{e['loc'][-1]}:`"
            elif e["type"] == "literal_error":
                fix = msg
            key = (who, fld, msg)
            if key in seen:
                continue
            seen.add(key)
            # a threshold failing both alternatives gives two errors; keep one clear message
            if fld and fld.startswith("threshold") and "threshold" in {k[1] for k in seen if k[0] == who and k != key}:
                continue
            text = f"{who}, field '{fld}': {msg}" if fld else f"{who}: {msg}"
            if fld and fld.startswith("threshold"):
                text = (f"{who}, field 'threshold': expected a number or "
                        "{rank_score: {spec: egdi, rank: 25}}")
                fld = "threshold"
            problems.append(Problem(text, file=source, field=f"{who}.{fld}" if fld else who,
                                    value=e.get("input") if not isinstance(e.get("input"), (dict, list)) else None,
                                    fix=fix))
        raise SpecError(f"{source}: invalid scenario ({len(problems)} problem(s))", problems=problems) from None


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios bundled with digimeter, by name."""
    folder = Path(str(resources.files("digimeter") / "data" / "scenarios"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_scenario(name_or_path: str | Path | Scenario) -> Scenario:
    """Load a shipped scenario by name (``fully-digital-kz``) or a YAML file by path."""
    if isinstance(name_or_path, Scenario):
        return name_or_path
    shipped = shipped_scenarios()
    p = shipped.get(str(name_or_path), Path(name_or_path))
    if not p.exists():
        raise NotFoundError(f"no scenario named '{name_or_path}' and no such file", value=str(name_or_path),
                            fix=f"use a shipped scenario ({', '.join(shipped)}) or a path to a YAML file")
    from ._util.yamlsafe import load_yaml_file

    data = load_yaml_file(p)   # no aliases, bounded depth; errors name the file and line
    return parse_scenario(data, source=str(p))


# --------------------------------------------------------------------------------------------
# data and forecasts
# --------------------------------------------------------------------------------------------

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


def _bounds(meta: dict) -> tuple[float | None, float | None]:
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


def _wide(obs: pd.DataFrame) -> pd.DataFrame:
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
        pf, i = self._where(unit)
        with np.errstate(divide="ignore", invalid="ignore"):  # flat series: scale 0 in the MASE column
            return pf.result(i)

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
                out.append(np.full(pf.samples.shape[1], float(v)))
            else:
                j = int(np.searchsorted(pf.years, year))
                if j >= len(pf.years) or pf.years[j] != year:
                    raise DataError(f"{self.indicator}: no forecast for {year}", field="year", value=year,
                                    fix=f"forecast to {year} or later")
                out.append(pf.samples[i, :, j])
        S = max((len(x) for x in out if x is not None), default=0)
        n = S if n is None else min(n, S)
        arr = np.full((len(units), n), np.nan)
        for k, x in enumerate(out):
            if x is not None:
                arr[k] = x[:n]
        return arr

    def draws_at(self, year: int, units, u: np.ndarray) -> np.ndarray:
        """Like :meth:`samples_at`, at given probabilities ``u`` (n_units, n) instead of the panels'
        own uniforms: joint draws with other indicators (see :func:`index_feasibility`)."""
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

    def _say(self, msg):
        if self.progress:
            self.progress(msg)

    def countries(self) -> list:
        if self._country_codes is None:
            self._country_codes = self.store.units(kind="country").code.tolist()
        return self._country_codes

    def _panel(self, indicator, units):
        meta = self.store.indicator(indicator)
        lo, hi = _bounds(meta)
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
        if key not in self._cache:
            self._say(f"forecasting {indicator} for every country")
            meta, lo, hi, obs, notes = self._panel(indicator, self.countries())
            if obs.empty:
                raise DataError(f"no country data for indicator '{indicator}'", field="indicator", value=indicator)
            self._cache[key] = self._forecast(meta["code"], obs, lo, hi, notes, seed_key="country")
        return self._cache[key]

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
                    cw = _wide(cobs[cobs.value.between(-np.inf if lo is None else lo, np.inf if hi is None else hi)])
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
        from .geography import geography, regional_observations

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
        full = _wide(obs)
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


# --------------------------------------------------------------------------------------------
# paces and status
# --------------------------------------------------------------------------------------------

def _sign(comparator: str) -> int:
    return 1 if comparator in (">=", ">") else -1


def _met(value, threshold, comparator) -> bool:
    return bool(F.comparison(comparator)(value, threshold))


def _fastest(long: pd.DataFrame, level: float, sign: int, tol: float, window: int = 5):
    """Fastest pace in the target's direction from near ``level`` (pace, unit, window)."""
    if long.empty or not np.isfinite(level):
        return np.nan, None, window
    d = long.assign(value=sign * long["value"])
    found = []  # the episode length with the most units wins (biennial series have no 5-year episodes)
    for w in (window, window - 1, window + 1):
        best = F.fastest_pace_from_level(d, sign * level, window=w, tol=tol)
        if len(best):
            found.append((len(best), -abs(w - window), w, best))
    if not found:
        return np.nan, None, window
    _, _, w, best = max(found, key=lambda x: (x[0], x[1]))
    return float(sign * best["pace"].iloc[0]), str(best["unit"].iloc[0]), w


#: below this P(met), a target met now is "likely to slip" (between it and :data:`ON_TRACK`: "may slip")
LIKELY_SLIP = 0.5


def p_met_of(forecast, threshold: float, deadline: int, comparator: str = ">=", met: str = "hold"
             ) -> tuple[float, float, float]:
    """``(p_met, p_at_deadline, p_reach)`` of one forecast (a :class:`digimeter.forecast.ForecastResult`).

    ``p_at_deadline``: the share of predictive draws that meet the target in the deadline year;
    ``p_reach``: the share that meet it in some year up to the deadline, or now;
    ``p_met``: the one ``met`` names (``hold`` -> ``p_at_deadline``, ``reach`` -> ``p_reach``).
    """
    if met not in ("hold", "reach"):
        raise SpecError(f"unknown definition of met {met!r}", field="met", value=met, fix="'hold' or 'reach'")
    p_reach = F.prob_reach(forecast, threshold, deadline, comparator, mode="any")
    p_at = F.prob_reach(forecast, threshold, deadline, comparator, mode="at")
    return (p_at if met == "hold" else p_reach), p_at, p_reach


def _status_code(p_met: float, already: bool, req: float, fastest: float, sign: int, p_at: float,
                 deadline: int, value: float, year: int, achieved: float = np.nan) -> tuple[str, dict]:
    """The status as a machine-readable code and its parameters (what :func:`_status` says in words).

    ``p_met`` is P(met as the target defines it: in the deadline year for ``hold``, in any year up to
    it for ``reach``); ``already`` whether it is met now (the latest value); ``p_at`` P(met in the
    deadline year). A target met now counts as met only when ``p_met`` is on track:

    Codes: ``no_forecast`` (too little data); ``already_met`` (met now and ``p_met`` >= :data:`ON_TRACK`;
    ``value``, ``year``, ``p``; for a ``reach`` target that may not hold, ``p_still`` and ``deadline``);
    ``met_now_may_slip`` / ``met_now_likely_to_slip`` (met now, but ``p_met`` below :data:`ON_TRACK` /
    below :data:`LIKELY_SLIP`: ``value``, ``year``, ``p``, ``deadline``); ``on_track``,
    ``out_of_reach``, ``at_risk`` (``p``), ``needs_acceleration``. :func:`_row_for` and
    :func:`_eval_index` add paces; ``no_data``, ``no_forecast_stale`` (``year``) and group rows
    (``met``, ``n_units``) are set where they arise.
    """
    if not np.isfinite(p_met):
        return "no_forecast", {}
    if already:
        params = {"value": float(value), "year": int(year), "p": float(p_met)}
        if p_met < ON_TRACK:
            params.update(deadline=int(deadline))
            return ("met_now_likely_to_slip" if p_met < LIKELY_SLIP else "met_now_may_slip"), params
        if np.isfinite(p_at) and p_at < ON_TRACK and year < deadline:
            params.update(p_still=float(p_at), deadline=int(deadline))
        return "already_met", params
    if p_met >= ON_TRACK:
        return "on_track", {"p": float(p_met)}
    if np.isfinite(req) and np.isfinite(fastest) and sign * req > sign * fastest:
        return "out_of_reach", {"p": float(p_met)}
    if np.isfinite(req) and np.isfinite(achieved) and sign * req <= sign * achieved:
        return "at_risk", {"p": float(p_met)}
    return "needs_acceleration", {"p": float(p_met)}


def _status(p_met: float, already: bool, req: float, fastest: float, sign: int, p_at: float,
            deadline: int, value: float, year: int, achieved: float = np.nan) -> str:
    code, k = _status_code(p_met, already, req, fastest, sign, p_at, deadline, value, year, achieved)
    if code == "no_forecast":
        return "no forecast (too little data)"
    if code == "already_met":
        s = f"already met ({value:.4g} in {year})"
        if "p_still" in k:
            s += f"; may slip back: P(still met in {deadline}) = {p_at:.2f}"
        return s
    if code in ("met_now_may_slip", "met_now_likely_to_slip"):
        how = "likely to slip" if code == "met_now_likely_to_slip" else "may slip"
        return f"met now ({value:.4g} in {year}), {how} by {deadline}: P = {p_met:.2f}"
    if code == "on_track":
        return "on track"
    if code == "out_of_reach":
        return "out of reach at historical paces"
    if code == "at_risk":
        return (f"at risk (P = {p_met:.2f}): the last 5 years' pace would suffice, but the forecast "
                "expects growth to slow")
    return "needs acceleration"


# --------------------------------------------------------------------------------------------
# index-level feasibility
# --------------------------------------------------------------------------------------------

@dataclass
class IndexFeasibility:
    """Predictive draws of an index's scores and ranks in ``year`` (see :func:`index_feasibility`).

    ``scores`` and ``ranks`` are arrays (n_samples, n_units) for ``node``; ``latest`` the index built
    on the latest data (``latest_year``) for reference.
    """

    spec: str
    node: str
    year: int
    units: list
    scores: np.ndarray
    ranks: np.ndarray
    latest: Any = None
    latest_year: int | None = None
    notes: list = field(default_factory=list)

    def _i(self, unit):
        if unit not in self.units:
            raise NotFoundError(f"{unit} is not among the units of spec '{self.spec}'", field="unit", value=unit)
        return self.units.index(unit)

    def p_rank_at_most(self, unit, k):
        """P(rank <= k) for each ``k`` (monotone non-decreasing in ``k``; unranked draws count as not met)."""
        r = self.ranks[:, self._i(unit)]
        k = np.asarray(k, dtype=float)
        out = (np.nan_to_num(r, nan=np.inf)[:, None] <= k.reshape(-1)[None, :]).mean(0)
        return float(out[0]) if k.ndim == 0 else out.reshape(k.shape)

    def p_score_at_least(self, unit, s):
        """P(score >= s) for each ``s`` (monotone non-increasing in ``s``)."""
        x = self.scores[:, self._i(unit)]
        s = np.asarray(s, dtype=float)
        out = (np.nan_to_num(x, nan=-np.inf)[:, None] >= s.reshape(-1)[None, :]).mean(0)
        return float(out[0]) if s.ndim == 0 else out.reshape(s.shape)

    def summary(self, unit) -> pd.DataFrame:
        """Quantiles (5, 25, 50, 75, 95 %) of the unit's score and rank in ``year``."""
        i = self._i(unit)
        q = [0.05, 0.25, 0.5, 0.75, 0.95]
        return pd.DataFrame({"score": np.nanquantile(self.scores[:, i], q),
                             "rank": np.nanquantile(self.ranks[:, i], q[::-1])}, index=pd.Index(q, name="q"))


def _batchable(spec) -> bool:
    """True when :func:`compute_batch` reproduces :func:`digimeter.build.compute` for this spec
    (no imputation or outlier treatment, whose kernels are fitted one panel at a time, and no weights
    fitted on the data: PCA or optimised)."""
    return (spec.impute.get("method") == "none" and spec.treat.get("method") == "none"
            and spec.weight_method in ("custom", "equal"))


def compute_batch(spec, X: np.ndarray, directions: dict, node: str | None = None, units: list | None = None):
    """Scores and ranks of ``node`` for a stack of panels at once (the build's kernels on a leading axis).

    ``X``: array (n_samples, n_units, n_indicators), indicators in the order of
    ``spec.indicator_nodes()``. Screening uses the missing-data pattern (the same in every sample);
    normalisation and aggregation run once over the leading sample axis, with parameters fitted per
    sample, exactly as :func:`digimeter.build.compute` does for one panel. Only for specs without
    imputation or treatment (:func:`_batchable`). Returns ``(scores, ranks)``, each (n_samples, n_units),
    NaN for units screened out.
    """
    from ._util.ranks import rank_desc
    from .spec.plan import resolve as resolve_plan
    from .stages import normalise as norm
    from .stages import tree

    node = node or spec.name
    meta = spec.meta()
    ind_nodes = spec.indicator_nodes()
    icodes = [n.code for n in ind_nodes]
    dirs = np.array([directions[c] for c in icodes], dtype=float)
    S, U, _ = X.shape
    scr = dict(spec.screen)
    min_av = float(scr.pop("min_availability", 0.0))
    avail = np.isfinite(X).any(0).mean(1)                                           # (U,)
    keep = (avail >= min_av) & (avail > 0)
    if units is not None:
        codes = np.asarray(units, dtype=object)
        keep |= np.isin(codes, list(scr.pop("force_include", None) or []))
        keep &= ~np.isin(codes, list(scr.pop("force_exclude", None) or []))
    x = X[:, keep, :]
    # the spec's plan, evaluated as the build does: its normalisation groups, then the one tree evaluator
    plan = resolve_plan(spec, meta)
    kept = list(np.asarray(units, dtype=object)[keep]) if units is not None else None
    y, _ = norm.apply_groups(list(plan.normalise), x, dirs, units=kept)
    scores, _ = tree.evaluate(plan.steps, {c: y[..., k] for k, c in enumerate(icodes)}, plan.weights)
    sc = np.full((S, U), np.nan)
    sc[:, keep] = scores[node]
    return sc, rank_desc(sc, axis=1)


def index_feasibility(spec, store, year: int, *, node: str | None = None, n_samples: int = INDEX_SAMPLES,
                      seed: int = 0, forecaster: Forecaster | None = None,
                      progress: Callable[[int, int], None] | None = None) -> IndexFeasibility:
    """Propagate every country's indicator forecasts through an index spec to ``year``.

    For each sample ``s`` (``n_samples``, default 200, fixed ``seed``), every indicator of the spec
    takes its ``s``-th predictive draw for every country (the draws of one indicator are a country's
    calibrated predictive distribution; indicators and countries are drawn independently), the panel
    is rebuilt with :func:`digimeter.build.compute` (the spec's own screening, normalisation and
    aggregation), and the scores and ranks of ``node`` (default: the index) are kept.
    Countries whose latest value of an indicator is older than :data:`STALE_YEARS` years before
    ``year`` count as missing for it (the build then treats them as it treats missing data).

    Returns an :class:`IndexFeasibility`; ``p_rank_at_most(unit, k)`` and ``p_score_at_least(unit, s)``
    answer the target questions.
    """
    from .build import build, compute
    from .panel import Panel, select_units
    from .spec import load_spec, node_directions

    spec = load_spec(spec)
    node = node or spec.name
    if node not in set(spec.meta().code):
        raise SpecError(f"no node '{node}' in spec '{spec.name}'", field="node", value=node,
                        fix=f"one of: {', '.join(spec.meta().code)}")
    fc = forecaster or Forecaster(store, year, seed=seed, n_samples=max(n_samples, 200))
    latest = build(spec, store)
    units = select_units(store, spec.units)
    ind_nodes = spec.indicator_nodes()
    codes = list(dict.fromkeys(n.indicator for n in ind_nodes))
    draws = {}
    R, r_info = (F.cross_correlation([fc.country(c).base for c in codes]) if len(codes) > 1
                 else (np.eye(1), {"pairs": {}}))
    linked = not np.allclose(R, np.eye(len(codes)))
    if linked:
        # a unit's indicators move together too: u = Phi(sqrt(rc) Z_indicator + sqrt(1 - rc) W_unit), with
        # W_unit ~ N(0, R) over the indicators; seeded by indicator and unit code only, so every year
        # (and every call) draws the same paths
        from scipy.special import ndtr

        L = np.linalg.cholesky(R)
        W = np.stack([np.random.default_rng([seed, zlib.crc32(u.encode()), 3]).standard_normal((n_samples, len(codes)))
                      @ L.T for u in units])                                       # (U, S, I)
        for k, c in enumerate(codes):
            ifc = fc.country(c)
            rc = ifc.base.common_shock
            zc = np.random.default_rng([seed, zlib.crc32(c.encode()), 4]).standard_normal(n_samples)
            u = ndtr(np.sqrt(rc) * zc[None, :] + np.sqrt(1.0 - rc) * W[:, :, k])
            draws[c] = ifc.draws_at(year, units, u)
    else:
        for c in codes:
            draws[c] = fc.country(c).samples_at(year, units, n_samples)            # (U, S)
    S = min(d.shape[1] for d in draws.values())
    meta = {c: store.indicator(c) for c in codes}
    directions = node_directions(spec, meta)
    umeta = store.units().set_index("code").reindex(units)[["name", "un_region", "wb_region", "income_group"]]
    spec_y = spec.with_changes({"year": int(year)})
    yrs = pd.DataFrame(int(year), index=pd.Index(units, name="unit"), columns=pd.Index(codes, name="indicator"))
    origins = pd.DataFrame("forecast", index=yrs.index, columns=yrs.columns)
    scores = np.full((S, len(units)), np.nan)
    ranks = np.full((S, len(units)), np.nan)
    X = np.stack([draws[n.indicator][:, :S].T for n in ind_nodes], axis=-1)       # (S, U, I)
    batched = _batchable(spec_y)
    if batched:
        scores, ranks = compute_batch(spec_y, X, directions, node, units=units)
        if progress:
            progress(S, S)
    else:
        for s in range(S):
            vals = pd.DataFrame({c: draws[c][:, s] for c in codes}, index=yrs.index)
            vals.columns.name = "indicator"
            ix = compute(spec_y, Panel(values=vals, years=yrs, origins=origins, year=int(year), window=0),
                         unit_meta=umeta, directions=directions)
            scores[s] = ix.scores[node].reindex(units).to_numpy(float)
            ranks[s] = ix.ranks[node].reindex(units).to_numpy(float)
            if progress:
                progress(s + 1, S)
    shocks = {c: fc.country(c).base.common_shock for c in codes}
    shared = ", ".join(f"{c} {r:.2f}" for c, r in shocks.items() if r > 0)
    strong = {f"{codes[int(p.split('-')[0])]}/{codes[int(p.split('-')[1])]}": r
              for p, r in r_info["pairs"].items() if abs(r) >= F.MIN_COMMON_SHOCK}
    across_ind = ("correlated across a unit's indicators as their past errors were ("
                  + ", ".join(f"{k} {v:.2f}" for k, v in sorted(strong.items(), key=lambda kv: -abs(kv[1]))[:6])
                  + (", ..." if len(strong) > 6 else "") + ")" if linked else
                  "independent across indicators (their past errors did not move together)")
    notes = [f"{S} joint draws of {len(codes)} indicator(s) for {len(units)} units, each rebuilt with the "
             f"spec's own method ({'batched over draws' if batched else 'one build per draw'}); draws "
             f"{across_ind}; across countries "
             + (f"they share a common shock where past errors moved together ({shared})" if shared
                else "independent (past errors did not move together)")]
    for c in codes:
        notes += [f"{c}: {n}" for n in fc.country(c).notes]
    return IndexFeasibility(spec=spec.name, node=node, year=int(year), units=units, scores=scores, ranks=ranks,
                            latest=latest, latest_year=latest.year, notes=notes)


# --------------------------------------------------------------------------------------------
# evaluate a scenario
# --------------------------------------------------------------------------------------------

COLUMNS = ["target", "unit", "unit_name", "measure", "latest_value", "latest_year", "estimated", "estimated_years",
           "comparator", "threshold", "deadline", "met_definition", "met_now", "p_met", "p_at_deadline", "p_reach",
           "median_crossing_year", "required_pace", "achieved_pace_5y",
           "fastest_pace_similar", "fastest_unit", "status", "status_code", "status_params", "method", "why",
           "source", "note"]


def _unit_names(store) -> dict:
    u = store.units()
    return dict(zip(u.code, u.name))


def evaluate(scenario, store, *, seed: int = 0, n_samples: int = 2000, index_samples: int = INDEX_SAMPLES,
             progress: Callable[[str], None] | None = None, forecaster: Forecaster | None = None) -> pd.DataFrame:
    """Answer every target of a scenario: one row per target (and per unit of a group target).

    Columns
    -------
    target, unit, unit_name, measure : what is measured for whom
    latest_value, latest_year : the latest observation (for score/rank targets: the index built on the
        latest data)
    estimated, estimated_years : whether the latest value is an estimate, and the years of the unit's
        history that are (regions' values read onto today's layout, or a parent's value; see
        :meth:`Forecaster.group`)
    comparator, threshold, deadline : the target (a ``rank_score`` threshold is resolved to a number)
    met_definition : what "met" means for this target: ``hold`` (the state in the deadline year, the
        default) or ``reach`` (in any year up to the deadline)
    met_now : whether the latest value meets it (a fact, not the answer)
    p_met : P(the target is met as ``met_definition`` defines it): ``p_at_deadline`` for ``hold``,
        ``p_reach`` for ``reach``. The headline probability.
    p_at_deadline : P(it is met in the deadline year itself)
    p_reach : P(it is met in some year up to the deadline; 1 if met now)
    median_crossing_year : median year the threshold is first met (None: not by the forecast horizon)
    required_pace : change per year needed from the latest value to the threshold by the deadline
    achieved_pace_5y : change per year over the last 5 years
    fastest_pace_similar, fastest_unit : the fastest change per year (over 5 years) any country achieved
        from a level near the latest value, in the target's direction, and which country
    status : plain words (already met / met now, likely to slip by 2028: P = 0.32 / on track / at risk /
        needs acceleration / out of reach at historical paces). Met now counts as met only when
        ``p_met`` is on track (>= :data:`ON_TRACK`).
    status_code, status_params : the same, machine-readable (for translations): a code (``already_met``,
        ``met_now_may_slip``, ``met_now_likely_to_slip``, ``on_track``, ``at_risk``, ``needs_acceleration``,
        ``out_of_reach``, ``no_forecast``, ``no_forecast_stale``, ``no_data``) and a dict of its numbers
        (``p``, ``value``, ``year``, ``p_still``, ``deadline``, ``required_pace``, ``achieved_pace``,
        ``pace_unit``, ``met``, ``n_units``)
    method, why : the forecasting method and why it was chosen (from the backtest)
    source : the source of the threshold; note : data caveats (thin years, stale data, calibration,
        estimated values)

    Group targets add a row ``unit = "all"``: P(every unit meets it), from the units' joint draws when
    their past errors moved together (else the product, as for independent units); its note gives the
    bounds that hold whatever their dependence.

    ``forecaster``: a :class:`Forecaster` to reuse (its forecasts are cached per indicator).

    Forecasts: see the module docstring (pooled calibration across countries, thin years left out of
    the calibration).
    """
    sc = load_scenario(scenario)
    horizon = max(sc.deadline, max(_latest_year_hint(store), 2000) + 1)
    if forecaster is not None and forecaster.to_year < horizon:
        raise DataError(f"the forecaster reaches {forecaster.to_year}, the scenario needs {horizon}",
                        field="forecaster", fix=f"make it with to_year >= {horizon}")
    fc = forecaster or Forecaster(store, horizon, seed=seed, n_samples=n_samples, progress=progress)
    names = _unit_names(store)
    rows = []
    index_cache: dict = {}
    for t in sc.targets:
        if progress:
            progress(f"target {t.id}")
        if t.kind == "indicator":
            rows += _eval_indicator(t, store, fc, names)
        else:
            rows.append(_eval_index(t, store, fc, names, index_cache, index_samples, seed))
    df = pd.DataFrame(rows)
    return df.reindex(columns=COLUMNS)


def _latest_year_hint(store) -> int:
    r = store.query("SELECT max(year) AS y FROM observations")
    return int(r.y.iloc[0]) if len(r) and pd.notna(r.y.iloc[0]) else 2024


def group_units(t: Target, store) -> list:
    """The units a group target answers for: every unit of its kind under its parent still alive at the deadline."""
    u = store.units(kind=t.units.kind, parent=t.units.parent)
    if u.empty:
        raise SpecError(f"target '{t.id}': no units of kind '{t.units.kind}' under '{t.units.parent}'",
                        field=f"target '{t.id}'.units", fix="check units.parent / units.kind (`digimeter data units`)")
    alive = u.valid_to.isna() | (pd.to_numeric(u.valid_to, errors="coerce") >= t.deadline)
    return u.code[alive].tolist()


def _row_for(t: Target, unit: str, ifc: IndicatorForecast, long: pd.DataFrame, names: dict, fastest_pool: pd.DataFrame,
             notes_extra=()) -> dict:
    thr = float(t.threshold)
    base = {"target": t.id, "unit": unit, "unit_name": names.get(unit, unit), "measure": t.indicator,
            "comparator": t.comparator, "threshold": thr, "deadline": t.deadline, "met_definition": t.met,
            "source": t.source}
    try:
        r = ifc.result(unit)
    except NotFoundError:
        return {**base, "p_met": np.nan, "p_at_deadline": np.nan, "status": "no data",
                "status_code": "no_data", "status_params": {}, "note": f"no value of {t.indicator} for {unit}"}
    ay, av = int(r.anchor_year), float(r.anchor_value)
    est_years = ifc.estimated_years(unit)
    notes = list(r.notes) + ifc.estimated_notes(unit) + list(ifc.notes) + list(notes_extra)
    base.update(estimated=ay in est_years, estimated_years=est_years)
    if ay < t.deadline - STALE_YEARS:
        return {**base, "latest_value": av, "latest_year": ay, "p_met": np.nan, "p_at_deadline": np.nan,
                "met_now": _met(av, thr, t.comparator),
                "status": f"no forecast: latest value is from {ay}",
                "status_code": "no_forecast_stale", "status_params": {"year": ay}, "note": "; ".join(notes)}
    already = _met(av, thr, t.comparator)
    p_met, p_at, p_reach = p_met_of(r, thr, t.deadline, t.comparator, t.met)
    cy = F.crossing_year(r, thr, t.comparator)
    hist = ifc.history.loc[unit].dropna() if unit in ifc.history.index else pd.Series(dtype=float)
    ach = F.achieved_pace(hist, years=5) if len(hist) >= 2 else np.nan
    req = F.required_pace(av, thr, t.deadline - ay)
    sign = _sign(t.comparator)
    lo, hi = ifc.lo, ifc.hi
    tol = 0.05 * (hi - lo) if lo is not None and hi is not None else 0.1 * abs(av) + 1e-9
    fast, fast_u, fw = _fastest(fastest_pool, av, sign, tol)
    if fw != 5 and np.isfinite(fast):
        notes.append(f"fastest pace measured over {fw}-year episodes (the series is not annual)")
    status = _status(p_met, already, req, fast, sign, p_at, t.deadline, av, ay, ach)
    code, params = _status_code(p_met, already, req, fast, sign, p_at, t.deadline, av, ay, ach)
    if status.startswith(("needs", "out of")) and np.isfinite(ach) and np.isfinite(req):
        status += f": needs {req:+.3g}/yr against {ach:+.3g}/yr achieved"
        params.update(required_pace=float(req), achieved_pace=float(ach), pace_unit="per_year")
    return {**base, "latest_value": av, "latest_year": ay, "met_now": already, "p_met": p_met,
            "p_at_deadline": p_at, "p_reach": p_reach,
            "median_crossing_year": (ay if already else cy) if (already or cy is not None) else None,
            "required_pace": req if not already else 0.0, "achieved_pace_5y": ach,
            "fastest_pace_similar": fast, "fastest_unit": fast_u, "status": status,
            "status_code": code, "status_params": params, "method": r.model,
            "why": f"{r.why}; intervals {ifc.calibrated_on}", "note": "; ".join(dict.fromkeys(notes))}


def _eval_indicator(t: Target, store, fc: Forecaster, names: dict) -> list[dict]:
    meta = store.indicator(t.indicator)
    code = meta["code"]
    # the pool for "fastest pace from a similar level": every country's series
    pool = store.observations(indicators=[code], units=fc.countries())[["unit", "year", "value"]]
    if t.unit is not None:
        unit = store.unit(t.unit)["code"]
        kind = store.unit(unit)["kind"]
        if kind == "country":
            ifc = fc.country(code)
        else:
            parent = store.unit(unit)["parent"]
            group = store.units(kind=kind, parent=parent).code.tolist() if parent else [unit]
            ifc = fc.group(code, group, f"{kind}s of {parent}")
        return [_row_for(t, unit, ifc, pool, names, pool)]
    units = group_units(t, store)
    label = f"every {t.units.kind} of {t.units.parent}"
    ifc = fc.group(code, units, label)
    if pool.empty:  # e.g. a regional-only indicator: the regions themselves (on today's layout) are the pool
        pool = ifc.history.reindex(units).stack().rename("value").reset_index()
        pool.columns = ["unit", "year", "value"]
    rows = [_row_for(t, u, ifc, pool, names, pool) for u in units]
    fin = [r for r in rows if np.isfinite(r.get("p_met", np.nan))]
    ps = np.array([r["p_met"] for r in fin])
    n_all = len(units)
    if len(ps):
        indep = float(np.prod(ps))
        lo_b = float(max(0.0, ps.sum() - (len(ps) - 1)))
        hi_b = float(ps.min())
        rho = ifc.base.common_shock
        thr = float(t.threshold)
        mode = "at" if t.met == "hold" else "any"

        def p_every(m):
            """P(every unit meets it) in mode ``m``, from the units' joint draws (sample k of every unit
            is one joint state of the country: a shared shock where their past errors moved together)."""
            hits = [F.reach_draws(ifc.result(r["unit"]), thr, t.deadline, t.comparator, mode=m) for r in fin]
            n = min(len(h) for h in hits)
            return float(np.all([h[:n] for h in hits], axis=0).mean())

        p_at_all, p_reach_all = p_every("at"), p_every("any")
        p_all = p_at_all if mode == "at" else p_reach_all
        met = sum(bool(r.get("met_now")) for r in fin)
        all_now = met == len(ps)
        params = {"p": p_all, "met": int(met), "n_units": int(len(ps))}
        if all_now and p_all < ON_TRACK:
            scode = "met_now_likely_to_slip" if p_all < LIKELY_SLIP else "met_now_may_slip"
            params["deadline"] = int(t.deadline)
            status = (f"met now, {'likely to slip' if p_all < LIKELY_SLIP else 'may slip'} by {t.deadline}: "
                      f"P = {p_all:.2f}")
        else:
            status = ("already met" if all_now else "on track" if p_all >= ON_TRACK else
                      "needs acceleration" if hi_b > 0.05 else "out of reach at historical paces")
            scode = {"already met": "already_met", "on track": "on_track", "needs acceleration": "needs_acceleration",
                     "out of reach at historical paces": "out_of_reach"}[status]
        missing = n_all - len(ps)
        what = "in the deadline year" if mode == "at" else "by the deadline"
        rows.append({"target": t.id, "unit": "all", "unit_name": f"all {len(ps)} {t.units.kind}s with data",
                     "measure": code, "comparator": t.comparator, "threshold": thr, "deadline": t.deadline,
                     "met_definition": t.met, "met_now": all_now, "p_met": p_all, "p_at_deadline": p_at_all,
                     "p_reach": p_reach_all, "source": t.source,
                     "estimated": any(bool(r.get("estimated")) for r in fin),
                     "status": f"{status} ({met} of {len(ps)} meet it now)",
                     "status_code": scode, "status_params": params,
                     "method": ("joint draws with a shared shock" if rho > 0
                                else "joint draws, independent across units"),
                     "note": ((f"P(every unit meets it {what}) = {p_all:.3f} from joint draws whose shared shock "
                               f"matches the correlation of the units' past errors ({rho:.2f}); {indep:.3f} if they "
                               "moved independently" if rho > 0 else
                               f"P(every unit meets it {what}) = {p_all:.3f} from joint draws, independent across "
                               f"units (their past errors did not move together; the product is {indep:.3f})")
                              + f"; whatever their dependence it lies in [{lo_b:.3f}, {hi_b:.3f}] (Frechet bounds)"
                              + (f"; {missing} unit(s) without a forecast left out" if missing else ""))})
    return rows


def _eval_index(t: Target, store, fc: Forecaster, names: dict, cache: dict, n_samples: int, seed: int) -> dict:
    from .spec import load_spec

    spec = load_spec(t.spec)
    node = t.node or spec.name
    unit = store.unit(t.unit)["code"]
    key = (spec.name, node, t.deadline)
    if key not in cache:
        cache[key] = index_feasibility(spec, store, t.deadline, node=node, n_samples=n_samples, seed=seed,
                                       forecaster=fc)
    fe: IndexFeasibility = cache[key]
    latest = fe.latest
    ly = int(latest.year)
    lscore = float(latest.scores[node].get(unit, np.nan))
    lrank = float(latest.ranks[node].get(unit, np.nan))
    notes = list(fe.notes)
    # the threshold
    if isinstance(t.threshold, RankScoreRef):
        ref = t.threshold.rank_score
        rspec = load_spec(ref.spec)
        if rspec.name == spec.name and (ref.year is None or ref.year == ly) and (ref.node or spec.name) == node:
            ix = latest
        else:
            from .build import build
            ix = build(rspec, store, year=ref.year)
        col = ref.node or rspec.name
        srt = ix.scores[col].dropna().sort_values(ascending=False)
        if ref.rank > len(srt):
            raise SpecError(f"target '{t.id}': rank_score rank {ref.rank} but only {len(srt)} units are scored",
                            field=f"target '{t.id}'.threshold", fix="use a smaller rank")
        thr = float(srt.iloc[ref.rank - 1])
        notes.insert(0, f"threshold = the {_ordinal(ref.rank)}-best {col} score in {ix.year} "
                        f"({srt.index[ref.rank - 1]}, {thr:.5g}), held fixed")
    else:
        thr = float(t.threshold)
    p_at = float(_index_hits(fe, unit, t, thr).mean())
    if t.kind == "rank":
        value = lrank
        measure = f"{spec.name} rank" + (f" ({node})" if node != spec.name else "")
        series_code = (spec.published or {}).get("rank") if node == spec.name else None
    else:
        value = lscore
        measure = f"{spec.name} score" + (f" ({node})" if node != spec.name else "")
        series_code = (spec.published or {}).get("score") if node == spec.name else None
    already = bool(np.isfinite(value) and _met(value, thr, t.comparator))
    crossing = ly if already else None
    p_reach = 1.0 if already else p_at
    if not already and t.deadline > ly:
        # met in any year up to the deadline: the draws are paths (each unit keeps its quantile rank
        # from year to year), so propagate every year and find each draw's first year met
        hit_years = []
        for y in range(ly + 1, t.deadline + 1):
            ky = (spec.name, node, y)
            if ky not in cache:
                cache[ky] = index_feasibility(spec, store, y, node=node, n_samples=n_samples, seed=seed,
                                              forecaster=fc)
            hit_years.append(_index_hits(cache[ky], unit, t, thr))
        hits = np.column_stack(hit_years)                                   # (draws, years)
        p_reach = float(hits.any(axis=1).mean())
        first = np.where(hits.any(axis=1), ly + 1 + hits.argmax(axis=1), np.inf)
        med = float(np.median(first))
        crossing = int(med) if np.isfinite(med) else None
    p_met = p_at if t.met == "hold" else p_reach
    sign = _sign(t.comparator)
    req = F.required_pace(value, thr, t.deadline - ly) if not already else 0.0
    ach, fast, fast_u = np.nan, np.nan, None
    if series_code:
        long = store.observations(indicators=[series_code])[["unit", "year", "value"]]
        hist = long[long.unit == unit].set_index("year")["value"]
        if len(hist) >= 2:
            ach = F.achieved_pace(hist, years=5)
        tol = 3.0 if t.kind == "rank" else (0.02 if abs(value) <= 1.5 else 0.05 * abs(value))
        fast, fast_u, fw = _fastest(long, value, sign, tol)
        if fw != 5 and np.isfinite(fast):
            notes.append(f"paces of the published {series_code} series; fastest pace over {fw}-year episodes "
                         "(biennial editions)")
    status = _status(p_met, already, req, fast, sign, p_at, t.deadline, value, ly, ach)
    code, params = _status_code(p_met, already, req, fast, sign, p_at, t.deadline, value, ly, ach)
    if t.kind == "rank" and status.startswith(("needs", "out of")) and np.isfinite(ach):
        status += f": needs {req:+.3g} places/yr against {ach:+.3g}/yr achieved"
        params.update(required_pace=float(req), achieved_pace=float(ach), pace_unit="places_per_year")
    q = fe.summary(unit)
    notes.insert(0, f"{t.deadline}: median rank {q.loc[0.5, 'rank']:.0f} (90 % interval "
                    f"{q.loc[0.95, 'rank']:.0f}-{q.loc[0.05, 'rank']:.0f}), median score {q.loc[0.5, 'score']:.4g}")
    return {"target": t.id, "unit": unit, "unit_name": names.get(unit, unit), "measure": measure,
            "latest_value": value, "latest_year": ly, "comparator": t.comparator, "threshold": thr,
            "deadline": t.deadline, "met_definition": t.met, "met_now": already, "p_met": p_met,
            "p_at_deadline": p_at, "p_reach": p_reach, "estimated": False,
            "median_crossing_year": crossing, "required_pace": req, "achieved_pace_5y": ach,
            "fastest_pace_similar": fast, "fastest_unit": fast_u, "status": status,
            "status_code": code, "status_params": params,
            "method": f"index propagation ({len(fe.scores)} draws through spec {spec.name})",
            "why": "every indicator of the spec forecast for every country (calibrated, pooled), the index "
                   "rebuilt per draw with the spec's own method",
            "source": t.source, "note": "; ".join(notes)}


def _index_hits(fe: "IndexFeasibility", unit: str, t: Target, thr: float) -> np.ndarray:
    """Per draw of an index propagation, whether the unit's rank or score meets the target."""
    i = fe.units.index(unit)
    if t.kind == "rank":
        k = thr if t.comparator == "<=" else thr - 1
        return np.nan_to_num(fe.ranks[:, i], nan=np.inf) <= k
    return F.comparison(t.comparator)(np.nan_to_num(fe.scores[:, i], nan=-np.inf if t.comparator in (">=", ">") else np.inf),
                                thr)


def _ordinal(n: int) -> str:
    suf = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suf}"


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
    one a scenario's :func:`evaluate` used, so the same forecasts are not made twice); it must reach
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


# --------------------------------------------------------------------------------------------
# backtest report (the `digimeter backtest` command and docs/backtest.md)
# --------------------------------------------------------------------------------------------

@dataclass
class BacktestReport:
    """Out-of-sample accuracy of every model and of the method, per origin.

    ``summary``: one row per (origin, model): ``n``, ``mae``, ``mae_baseline`` (random walk with
    5-year drift, unclipped), ``mae_rw_clipped``, ``ratio`` (mae / mae_baseline), ``bias`` (mean of
    actual - forecast), ``coverage80``, ``coverage95``. ``by_band``: the method's coverage and bias by
    level band at the origin; ``by_horizon``: the method's bias, MAE and coverage per horizon.
    """

    indicator: str
    method: str
    summary: pd.DataFrame
    by_band: pd.DataFrame
    by_horizon: pd.DataFrame
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        def rec(df):
            return json_records(df)
        return {"indicator": self.indicator, "method": self.method, "summary": rec(self.summary),
                "by_band": rec(self.by_band), "by_horizon": rec(self.by_horizon), "notes": self.notes}


def json_records(df: pd.DataFrame) -> list[dict]:
    """Records with NaN as None (JSON-safe)."""
    from ._util.jsonsafe import records

    return records(df.reset_index(drop=True))


def _cover(a, lo_, hi_):
    return float(np.mean((a >= lo_) & (a <= hi_))) if a.size else np.nan


def backtest_report(store, indicator: str, *, origins=(2012, 2015, 2018), horizons: int = 8,
                    method: str = F.DEFAULT_METHOD,
                    models=F.DEFAULT_MODELS, progress: Callable[[str], None] | None = None,
                    level_calibration: bool = False) -> BacktestReport:
    """Rolling-origin backtest over every country: fit on data up to each origin, forecast 1..H years.

    For each origin ``T`` every model and the method are fitted on values up to ``T`` only (thin
    trailing years excluded, as in :func:`evaluate`); the method's intervals are calibrated on its own
    nested out-of-sample errors up to ``T`` (pooled over countries), each model's on its own errors.
    Held-out values ``T+1 .. min(T+H, last thick year)`` are compared with the forecasts.
    ``level_calibration``: also bin the calibration errors by level band (see
    :func:`digimeter.forecast.forecast_panel`; off by default, for the reason given there).
    """
    meta = store.indicator(indicator)
    code = meta["code"]
    lo, hi = _bounds(meta)
    countries = store.units(kind="country").code.tolist()
    obs = store.observations(indicators=[code], units=countries)
    if obs.empty:
        raise DataError(f"no country data for '{code}'", field="indicator", value=code)
    notes = []
    bad = ((obs.value < lo) if lo is not None else False) | ((obs.value > hi) if hi is not None else False)
    if np.any(bad):
        notes.append(f"{int(np.sum(bad))} value(s) outside [{lo}, {hi}] left out")
        obs = obs[~bad]
    counts = obs.groupby("year").unit.nunique()
    thin = thin_years(counts)
    if thin:
        notes.append(f"thin year(s) {thin} left out (reported by few countries)")
    w = _wide(obs[~obs.year.isin(thin)])
    yrs = w.columns.to_numpy()
    v = w.to_numpy(float)
    last = int(yrs.max())
    P = np.array([0.1, 0.9, 0.025, 0.975])
    summ, bands, hor = [], [], []
    for T in origins:
        if progress:
            progress(f"{code}: origin {T}")
        keep = yrs <= T
        vt = v[:, keep]
        ok = ~np.isnan(vt[:, -1]) & ((~np.isnan(vt)).sum(1) >= 5)
        if ok.sum() < 10 or T >= last:
            notes.append(f"origin {T}: too few countries with data or nothing held out; skipped")
            continue
        to = min(T + horizons, last)
        pf = F.forecast_panel(yrs[keep], vt[ok], to, lo=lo, hi=hi, cap=hi, models=models, method=method,
                              n_samples=10, horizons=horizons, level_calibration=level_calibration,
                              donors=(yrs[keep], vt[~ok]) if method in F.POOLED_METHODS and (~ok).any() else None)
        act = v[ok][:, ~keep][:, :pf.years.size]
        h = np.broadcast_to(pf.years[None, :] - T, act.shape)
        sc = F.recent_scale(yrs[keep], vt[ok])
        level = vt[ok][:, -1]
        rw_p = F.fit_rw_drift(yrs[keep], vt[ok], window=5)
        rwu = F.predict_rw_drift(rw_p, pf.years)
        rwc = F.clip_range(rwu, lo, hi)
        m = np.isfinite(act)
        a = act[m]
        base_mae = float(np.mean(np.abs(a - rwu[m])))
        rwc_mae = float(np.mean(np.abs(a - rwc[m])))

        def qs(point, cal):
            eq = cal.error_quantiles(np.maximum(h, 1), sc[:, None], level[:, None] if level_calibration else None)
            return F.clip_range(point[..., None] + F.interp_q(eq, cal.probs, P), lo, hi)

        def row(name, point, cal, around=None):
            q = qs(point if around is None else around, cal)   # intervals sit around the combination
            e = a - point[m]
            return {"origin": T, "model": name, "n": int(m.sum()), "countries": int(ok.sum()),
                    "mae": float(np.mean(np.abs(e))), "mae_baseline": base_mae, "mae_rw_clipped": rwc_mae,
                    "ratio": float(np.mean(np.abs(e))) / base_mae if base_mae else np.nan,
                    "bias": float(np.mean(e)),
                    "coverage80": _cover(a, q[..., 0][m], q[..., 1][m]),
                    "coverage95": _cover(a, q[..., 2][m], q[..., 3][m])}, q

        bt = pf.backtest
        for i, name in enumerate(bt.models):
            fit, pred = F.MODELS[name]
            point = F.clip_range(pred(fit(yrs[keep], vt[ok], cap=hi), pf.years), lo, hi)
            if not np.isfinite(point[m]).all():  # too short for this model: score where it forecasts
                point = np.where(np.isfinite(point), point, rwc)
            try:
                cal_i = F.calibrate(bt.actual - bt.forecasts[i], bt.scale,
                                    level=bt.level if level_calibration else None,
                                    level_edges=F.level_bands(bt.level, lo, hi))
            except DataError:
                continue
            summ.append(row(name, point, cal_i)[0])
        label = F.method_label(method, bt.models, pf.weights[0]) if method == "select" else \
            f"{method}({', '.join(m_ for m_ in bt.models if m_ in F.COMBO_MODELS)})" if method == "mean" else method
        r, q = row(f"method: {label}", pf.point, pf.calibration, around=pf.combination)
        r["center"] = pf.center.summary() if pf.center is not None else "point"
        r["chosen"] = True
        summ.append(r)
        # by level band at the origin
        if lo == 0 and hi == 100:
            edges = [0, 20, 50, 80, 100.0001]
            labels = ["0-20", "20-50", "50-80", "80-100"]
        else:
            edges = list(np.nanquantile(level, [0, 0.25, 0.5, 0.75, 1.0]))
            edges[-1] += 1e-9
            labels = [f"{edges[k]:.3g}-{edges[k + 1]:.3g}" for k in range(4)]
        band = np.digitize(level, edges[1:-1])
        B = np.broadcast_to(band[:, None], act.shape)
        for k, lab in enumerate(labels):
            mk = m & (B == k)
            ak = act[mk]
            bands.append({"origin": T, "band": lab, "n": int(mk.sum()), "countries": int((band == k).sum()),
                          "mae": float(np.mean(np.abs(ak - pf.point[mk]))) if ak.size else np.nan,
                          "bias": float(np.mean(ak - pf.point[mk])) if ak.size else np.nan,
                          "coverage80": _cover(ak, q[..., 0][mk], q[..., 1][mk]),
                          "coverage95": _cover(ak, q[..., 2][mk], q[..., 3][mk])})
        for hh in range(1, int(h.max()) + 1):
            mk = m & (h == hh)
            ak = act[mk]
            hor.append({"origin": T, "h": hh, "n": int(mk.sum()),
                        "bias": float(np.mean(ak - pf.point[mk])) if ak.size else np.nan,
                        "bias_rw": float(np.mean(ak - rwu[mk])) if ak.size else np.nan,
                        "mae": float(np.mean(np.abs(ak - pf.point[mk]))) if ak.size else np.nan,
                        "coverage80": _cover(ak, q[..., 0][mk], q[..., 1][mk])})
    summary = pd.DataFrame(summ)
    if "chosen" in summary:
        summary["chosen"] = summary["chosen"].eq(True)
    return BacktestReport(indicator=code, method=method, summary=summary, by_band=pd.DataFrame(bands),
                          by_horizon=pd.DataFrame(hor), notes=notes)


def _md_table(df: pd.DataFrame, floatfmt="{:.3f}") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for r in df.itertuples(index=False):
        cells = []
        for v in r:
            if isinstance(v, (float, np.floating)):
                cells.append("" if not np.isfinite(v) else floatfmt.format(v))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: the combination methods `digimeter backtest --compare-methods` puts side by side
METHODS_COMPARED = F.METHODS


def method_comparison(reports: list[BacktestReport]) -> pd.DataFrame:
    """The combination methods side by side, from backtests of one indicator run with each method
    (:func:`backtest_report` with ``method=``): ``origin``, ``method``, ``mae``, ``ratio`` (to the random
    walk with drift), ``coverage80``, ``coverage95`` and ``best`` (lowest MAE at that origin)."""
    rows = []
    for r in reports:
        c = r.summary[r.summary.chosen]
        for x in c.itertuples(index=False):
            rows.append({"origin": int(x.origin), "method": r.method, "mae": float(x.mae), "ratio": float(x.ratio),
                         "coverage80": float(x.coverage80), "coverage95": float(x.coverage95)})
    df = pd.DataFrame(rows)
    if len(df):
        df["best"] = df.groupby("origin").mae.transform("min").eq(df.mae)
        df = df.sort_values(["origin", "method"]).reset_index(drop=True)
    return df


def backtest_markdown(reports: list[BacktestReport], comparisons: dict[str, pd.DataFrame] | None = None) -> str:
    """The tables of ``docs/backtest.md`` (summary, coverage by level band, bias by horizon and, with
    ``comparisons`` from :func:`method_comparison`, the combination methods side by side)."""
    out = []
    for r in reports:
        out.append(f"### {r.indicator}\n")
        s = r.summary.drop(columns=[c for c in ("chosen",) if c in r.summary])
        out.append(_md_table(s) + "\n")
        out.append(f"Coverage of the method's intervals by level band at the origin ({r.indicator}):\n")
        out.append(_md_table(r.by_band) + "\n")
        out.append(f"Bias (mean of actual - forecast) by horizon ({r.indicator}); `bias_rw`: the random walk's:\n")
        out.append(_md_table(r.by_horizon) + "\n")
        if comparisons and r.indicator in comparisons and len(comparisons[r.indicator]):
            out.append(f"The combination methods side by side ({r.indicator}; `best`: lowest MAE at the origin):\n")
            out.append(_md_table(comparisons[r.indicator]) + "\n")
        if r.notes:
            out.append("Notes: " + "; ".join(r.notes) + "\n")
    return "\n".join(out)
