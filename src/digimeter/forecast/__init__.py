"""Trajectory models with honest predictive intervals, and the target questions built on them.

Everything here is a pure function on arrays: a series is a shared 1-D ``years`` axis (ints) and a
``values`` array of shape ``(n_units, n_years)`` (NaN = missing); a 1-D ``values`` is one unit.
No store access, no printing, no global random state.

The pieces (one module each)
----------------------------
- **Models** (:mod:`~digimeter.forecast.models`, ``MODELS[name] = (fit, predict)``): ``logistic``,
  ``gompertz`` (saturation fitted within ``[max observed, cap]``), ``bass`` (Bass 1969 diffusion, market
  size within the same bounds), ``linear`` trend, ``damped`` (Holt damped trend, Gardner & McKenzie
  1985) and ``rw_drift`` (random walk with drift, the baseline). ``fit(years, values, *, cap=None) ->
  params`` (a dict of arrays of shape ``(n_units,)``), ``predict(params, years) -> (n_units,
  len(years))``. Every fit is vectorised over units (curves: a grid over the saturation level plus
  batched Levenberg-Marquardt steps; Holt: a batched grid over the smoothing parameters).
- **Backtest** (:mod:`~digimeter.forecast.backtest`, :func:`backtest`): rolling-origin evaluation
  (Tashman 2000) of every model on each series' own history, horizons 1..H, fitting only on data up to
  each origin.
- **Method** (:func:`method_forecasts`, in :mod:`~digimeter.forecast.backtest`): ``"mean"``
  (equal-weight mean of clipped ``rw_drift``, ``gompertz`` and ``damped``, the combination that beat the
  random walk in the project's reference backtest), ``"inverse_mae"`` (weights proportional to 1/MAE of
  each series' own backtest) or ``"select"`` (lowest own-backtest MAE). Weights used at a backtest
  origin only use errors whose target year is at or before that origin (nested, so the method's own
  errors are honest). ``"pooled"``: the pooled analogue model of :mod:`digimeter.forecast.pooled` (how
  series at a given level and pace in the whole panel, plus any ``donors`` panel, went on to change);
  ``"auto"`` (the default of ``digimeter targets``, ``forecast`` and ``backtest``): per horizon,
  ``"pooled"`` or ``"mean"``, whichever erred less out of sample (:func:`pooled_method_forecasts`).
- **Intervals** (:mod:`~digimeter.forecast.calibrate`, :func:`calibrate`): empirical quantiles of the
  *method's own* out-of-sample errors by horizon, divided by each series' recent volatility (mean
  absolute annual change over the 5 years before the origin, floored) and pooled over all units passed
  in; quantiles are computed separately within bins of that volatility when a bin has enough errors
  (Mondrian-style conditional calibration). Not confidence bands of a fitted curve, which cover far too
  little. A forecast's quantiles are ``point + scale * Q_h(p)``, clipped to the valid range; samples
  share one uniform draw across the years of a path (comonotone paths), so a path's quantile rank is
  stable over time.
- **Forecasts** (:mod:`~digimeter.forecast.panel`): :func:`forecast_panel`, :func:`forecast_series`.
- **Target questions** (:mod:`~digimeter.forecast.reach`): :func:`prob_reach`, :func:`crossing_year`,
  :func:`required_pace`, :func:`achieved_pace`, :func:`fastest_pace_from_level`.

References
----------
Bass, F. M. (1969). A new product growth for model consumer durables. Management Science 15(5),
215-227. doi:10.1287/mnsc.15.5.215
Gardner, E. S., & McKenzie, E. (1985). Forecasting trends in time series. Management Science 31(10),
1237-1246. doi:10.1287/mnsc.31.10.1237
Hyndman, R. J., & Koehler, A. B. (2006). Another look at measures of forecast accuracy. International
Journal of Forecasting 22(4), 679-688. doi:10.1016/j.ijforecast.2006.03.001
Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review.
International Journal of Forecasting 16(4), 437-450. doi:10.1016/S0169-2070(00)00065-0
Vovk, V., Gammerman, A., & Shafer, G. (2005). Algorithmic Learning in a Random World (Mondrian
conformal prediction, ch. 4). Springer. doi:10.1007/b106715
"""

from __future__ import annotations

from .backtest import (DEFAULT_METHOD, METHODS, POOLED_METHODS, POOLED_RECENT, Backtest, backtest, backtest_origins,
                       combine, method_forecasts, method_weights, pooled_choice, pooled_method_forecasts, recent_scale)
from .calibrate import (CENTERS, MIN_COMMON_SHOCK, Calibration, CenterChoice, calibrate, choose_center,
                        cross_correlation, error_correlation, error_scale, forecast_scale, interp_q, interp_q_rows,
                        level_bands)
from .models import (COMBO_MODELS, DEFAULT_MODELS, MIN_POINTS, MODELS, QUANTILES, check_models, clip_range,
                     fit_bass, fit_damped, fit_gompertz, fit_linear, fit_logistic, fit_rw_drift,
                     last_observation, predict_bass, predict_damped, predict_gompertz, predict_linear,
                     predict_logistic, predict_rw_drift, prep_series)
from .panel import ForecastResult, PanelForecast, forecast_panel, forecast_series, method_label
from .reach import (achieved_pace, comparison, crossing_year, fastest_pace_from_level, pace_episodes, prob_reach,
                    reach_draws, required_pace)

__all__ = [
    "MODELS", "DEFAULT_MODELS", "COMBO_MODELS", "QUANTILES",
    "fit_logistic", "predict_logistic", "fit_gompertz", "predict_gompertz", "fit_bass", "predict_bass",
    "fit_linear", "predict_linear", "fit_damped", "predict_damped", "fit_rw_drift", "predict_rw_drift",
    "Backtest", "backtest", "backtest_origins", "POOLED_RECENT", "method_forecasts", "METHODS", "DEFAULT_METHOD", "POOLED_METHODS",
    "pooled_choice", "pooled_method_forecasts", "Calibration", "calibrate", "error_scale", "forecast_scale", "recent_scale", "CENTERS",
    "CenterChoice", "choose_center", "level_bands", "error_correlation", "cross_correlation", "MIN_COMMON_SHOCK",
    "PanelForecast", "ForecastResult", "forecast_panel", "forecast_series",
    "prob_reach", "reach_draws", "crossing_year", "required_pace", "achieved_pace", "fastest_pace_from_level",
    "pace_episodes",
]

#: names of :mod:`digimeter.forecast.pooled` (formerly ``digimeter.forecast_pooled``), loaded on first use
#: so that ``import digimeter.forecast`` does not load scipy.spatial
_POOLED = ("PooledSettings", "pooled_transform", "pooled_forecast", "pooled_backtest", "POOLED_K")


def __getattr__(name):
    if name in _POOLED:
        from . import pooled

        return getattr(pooled, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
