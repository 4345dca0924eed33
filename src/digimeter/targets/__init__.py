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
  :mod:`digimeter.forecast.pooled` (how countries at a given level and pace went on to change) or, at a
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

The package, by what its functions do: :mod:`~digimeter.targets.scenario` (the scenario schema,
loading, shipped scenarios), :mod:`~digimeter.targets.forecaster` (the :class:`Forecaster`: per-indicator
cached forecasts, regions onto today's layout; :func:`forecast_unit`), :mod:`~digimeter.targets.index`
(index targets: propagation through the spec, :func:`compute_batch`), :mod:`~digimeter.targets.evaluation`
(:func:`evaluate`, statuses, P(met), paces) and :mod:`~digimeter.targets.backtest` (the backtest document).
Every name is re-exported here (``from digimeter.targets import evaluate``).
"""

from __future__ import annotations

from .backtest import (
    METHODS_COMPARED,
    BacktestReport,
    backtest_markdown,
    backtest_report,
    json_records,
    method_comparison,
)
from .cache import evaluate_cached, evaluation_key, store_fingerprint
from .evaluation import COLUMNS, LIKELY_SLIP, ON_TRACK, evaluate, group_units, p_met_of, status_code, status_text
from .forecaster import (
    EVAL_MODELS,
    HISTORY_YEARS,
    STALE_YEARS,
    Forecaster,
    IndicatorForecast,
    forecast_unit,
    thin_years,
)
from .index import INDEX_SAMPLES, IndexFeasibility, batchable, compute_batch, index_feasibility
from .scenario import (
    RankScore,
    RankScoreRef,
    Scenario,
    Target,
    UnitGroup,
    load_scenario,
    parse_scenario,
    shipped_scenarios,
)

__all__ = [
    "Scenario", "Target", "RankScore", "UnitGroup", "load_scenario", "parse_scenario", "shipped_scenarios",
    "Forecaster", "IndicatorForecast", "evaluate", "index_feasibility", "IndexFeasibility",
    "forecast_unit", "backtest_report", "BacktestReport", "backtest_markdown", "thin_years",
    "HISTORY_YEARS", "EVAL_MODELS", "ON_TRACK", "STALE_YEARS", "LIKELY_SLIP", "p_met_of",
    "RankScoreRef", "INDEX_SAMPLES", "COLUMNS", "compute_batch", "batchable", "status_code", "status_text",
    "json_records", "method_comparison", "METHODS_COMPARED", "group_units", "evaluate_cached", "evaluation_key",
    "store_fingerprint",
]
