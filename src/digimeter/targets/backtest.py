"""The backtest document: out-of-sample accuracy of every model and of the method over every country
(``digimeter backtest``), the combination methods side by side, and the tables of ``docs/backtest.md``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from .. import forecast as F
from ..errors import DataError
from .forecaster import thin_years, value_bounds, wide_panel

__all__ = ["BacktestReport", "json_records", "backtest_report", "METHODS_COMPARED", "method_comparison",
           "backtest_markdown", "reliability_table", "PCT_THRESHOLDS", "RELIABILITY_BINS"]


@dataclass
class BacktestReport:
    """Out-of-sample accuracy of every model and of the method, per origin.

    ``summary``: one row per (origin, model): ``n``, ``mae``, ``mae_baseline`` (random walk with
    5-year drift, unclipped), ``mae_rw_clipped``, ``ratio`` (mae / mae_baseline), ``bias`` (mean of
    actual - forecast), ``coverage80``, ``coverage95``. ``by_band``: the method's coverage and bias by
    level band at the origin; ``by_horizon``: the method's bias, MAE and coverage per horizon;
    ``reliability``: how often what the method gave a probability came true (:func:`reliability_table`),
    the check of a target's P(met).
    """

    indicator: str
    method: str
    summary: pd.DataFrame
    by_band: pd.DataFrame
    by_horizon: pd.DataFrame
    notes: list = field(default_factory=list)
    reliability: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict:
        def rec(df):
            return json_records(df)
        return {"indicator": self.indicator, "method": self.method, "summary": rec(self.summary),
                "by_band": rec(self.by_band), "by_horizon": rec(self.by_horizon),
                "reliability": rec(self.reliability), "notes": self.notes}


def json_records(df: pd.DataFrame) -> list[dict]:
    """Records with NaN as None (JSON-safe)."""
    from .._util.jsonsafe import records

    return records(df.reset_index(drop=True))


def _cover(a, lo_, hi_):
    return float(np.mean((a >= lo_) & (a <= hi_))) if a.size else np.nan


#: the interval bounds the backtest scores: 80 % (0.1, 0.9) and 95 % (0.025, 0.975)
_PROBS = np.array([0.1, 0.9, 0.025, 0.975])


def _backtest_origin(T: int, years: np.ndarray, vt: np.ndarray, ok: np.ndarray, held: np.ndarray, to: int,
                     lo, hi, *, models, method: str, horizons: int, level_calibration: bool):
    """One origin of :func:`backtest_report`: ``years``/``vt`` the values up to ``T`` (every country),
    ``ok`` the countries forecast, ``held`` their held-out values after ``T``. Returns the rows of the
    summary, the level bands and the horizons."""
    summ = []
    pf = F.forecast_panel(years, vt[ok], to, lo=lo, hi=hi, cap=hi, models=models, method=method,
                          n_samples=10, horizons=horizons, level_calibration=level_calibration,
                          donors=(years, vt[~ok]) if method in F.POOLED_METHODS and (~ok).any() else None)
    act = held[:, :pf.years.size]
    h = np.broadcast_to(pf.years[None, :] - T, act.shape)
    sc = F.recent_scale(years, vt[ok])
    level = vt[ok][:, -1]
    rw_p = F.fit_rw_drift(years, vt[ok], window=5)
    rwu = F.predict_rw_drift(rw_p, pf.years)
    rwc = F.clip_range(rwu, lo, hi)
    m = np.isfinite(act)
    a = act[m]
    base_mae = float(np.mean(np.abs(a - rwu[m])))
    rwc_mae = float(np.mean(np.abs(a - rwc[m])))

    def qs(point, cal):
        s_ = F.forecast_scale(sc[:, None], point, level[:, None], h)
        eq = cal.error_quantiles(np.maximum(h, 1), s_, level[:, None] if level_calibration else None)
        return F.clip_range(point[..., None] + F.interp_q(eq, cal.probs, _PROBS), lo, hi)

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
        point = F.clip_range(pred(fit(years, vt[ok], cap=hi), pf.years), lo, hi)
        if not np.isfinite(point[m]).all():  # too short for this model: score where it forecasts
            point = np.where(np.isfinite(point), point, rwc)
        try:
            cal_i = F.calibrate(bt.actual - bt.forecasts[i], F.error_scale(bt, bt.forecasts[i]),
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
    bands = _band_rows(T, level, lo, hi, act, m, pf.point, q)
    return summ, bands, _horizon_rows(T, h, act, m, pf.point, rwu, q), \
        _exceedances(level, act, m, pf.qfun[:, :act.shape[1]], pf.probs, _thresholds(lo, hi, level)).assign(origin=T)


#: the thresholds whose P(value >= threshold) the reliability table checks, for a percentage (0-100)
PCT_THRESHOLDS = (50.0, 80.0, 90.0, 95.0, 99.0)
#: the reliability table's bins of the predicted probability
RELIABILITY_BINS = (0.0, 0.1, 0.3, 0.7, 0.9, 1.0)


def _thresholds(lo, hi, level) -> tuple:
    """:data:`PCT_THRESHOLDS` for a percentage, else the median, upper quartile and 90th percentile of the
    levels at the origin."""
    if lo == 0 and hi == 100:
        return PCT_THRESHOLDS
    lv = level[np.isfinite(level)]
    return tuple(float(x) for x in np.quantile(lv, [0.5, 0.75, 0.9])) if lv.size else ()


def _exceedances(level, act, m, qfun, probs, thresholds) -> pd.DataFrame:
    """Each held-out (unit, year) of a unit below a threshold at the origin: the method's P(value >=
    threshold) read from its predictive quantile function, and whether it came true."""
    rows = []
    i, j = np.nonzero(m)
    for t in thresholds:
        below = level[i] < t
        for u, y in zip(i[below], j[below]):
            qf = qfun[u, y]
            if not np.isfinite(qf).all():
                continue
            p_below = float(np.interp(t, qf, probs)) if t > qf[0] else 0.0
            rows.append((t, 1.0 - p_below, float(act[u, y] >= t)))
    return pd.DataFrame(rows, columns=["threshold", "predicted", "realised"])


def reliability_table(exceedances: pd.DataFrame, bins=RELIABILITY_BINS) -> pd.DataFrame:
    """How often what was given a probability came true: the predicted P(value >= threshold) of units
    below the threshold at the origin (a target not yet met), binned, against the share that reached it,
    per origin (the ``origin`` column of ``exceedances``, when it has one), with a row ``all`` per origin
    holding the Brier score. Calibrated probabilities put ``realised`` near ``predicted`` in every bin."""
    cols = ["origin", "predicted_bin", "n", "predicted", "realised", "brier"]
    if exceedances.empty:
        return pd.DataFrame(columns=cols)
    e = exceedances if "origin" in exceedances else exceedances.assign(origin="all")
    rows = []
    for origin, eo in e.groupby("origin", sort=True):
        b = np.clip(np.digitize(eo.predicted, bins[1:-1]), 0, len(bins) - 2)
        for k in range(len(bins) - 1):
            g = eo[b == k]
            if len(g):
                rows.append({"origin": origin, "predicted_bin": f"{bins[k]:g}-{bins[k + 1]:g}", "n": len(g),
                             "predicted": float(g.predicted.mean()), "realised": float(g.realised.mean()),
                             "brier": np.nan})
        rows.append({"origin": origin, "predicted_bin": "all", "n": len(eo), "predicted": float(eo.predicted.mean()),
                     "realised": float(eo.realised.mean()),
                     "brier": float(np.mean((eo.predicted - eo.realised) ** 2))})
    return pd.DataFrame(rows, columns=cols)


def _band_rows(T, level, lo, hi, act, m, point, q) -> list[dict]:
    """The method's accuracy and coverage by level band at the origin."""
    bands = []
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
                      "mae": float(np.mean(np.abs(ak - point[mk]))) if ak.size else np.nan,
                      "bias": float(np.mean(ak - point[mk])) if ak.size else np.nan,
                      "coverage80": _cover(ak, q[..., 0][mk], q[..., 1][mk]),
                      "coverage95": _cover(ak, q[..., 2][mk], q[..., 3][mk])})
    return bands


def _horizon_rows(T, h, act, m, point, rwu, q) -> list[dict]:
    """The method's bias, MAE and coverage per horizon (and the random walk's bias)."""
    hor = []
    for hh in range(1, int(h.max()) + 1):
        mk = m & (h == hh)
        ak = act[mk]
        hor.append({"origin": T, "h": hh, "n": int(mk.sum()),
                    "bias": float(np.mean(ak - point[mk])) if ak.size else np.nan,
                    "bias_rw": float(np.mean(ak - rwu[mk])) if ak.size else np.nan,
                    "mae": float(np.mean(np.abs(ak - point[mk]))) if ak.size else np.nan,
                    "coverage80": _cover(ak, q[..., 0][mk], q[..., 1][mk])})
    return hor


def _origin_rows(vt: np.ndarray) -> np.ndarray:
    """The countries that take part at an origin: a value there and at least 5 up to it (``vt``: the
    values up to the origin)."""
    return ~np.isnan(vt[:, -1]) & ((~np.isnan(vt)).sum(1) >= 5)


def _usable_origin(yrs: np.ndarray, v: np.ndarray, T, last: int, horizons: int) -> bool:
    """Whether :func:`backtest_report` can use origin ``T``: at least 10 countries take part, a later
    year is held out, and the backtest up to ``T`` has the 5 out-of-sample errors that calibrating
    the intervals needs at the least."""
    vt = v[:, yrs <= T]
    if vt.shape[1] == 0 or T >= last or int(_origin_rows(vt).sum()) < 10:
        return False
    errors = 0
    for j in range(vt.shape[1] - 1):
        ok = _origin_rows(vt[:, :j + 1])
        errors += int((~np.isnan(vt[ok, j + 1:j + 1 + horizons])).sum())
    return errors >= 5


def backtest_report(store, indicator: str, *, origins=(2012, 2015, 2018), horizons: int = 8,
                    method: str = F.DEFAULT_METHOD,
                    models=F.DEFAULT_MODELS, progress: Callable[[str], None] | None = None,
                    level_calibration: bool = False) -> BacktestReport:
    """Rolling-origin backtest over every country: fit on data up to each origin, forecast 1..H years.

    For each origin ``T`` every model and the method are fitted on values up to ``T`` only (thin
    trailing years excluded, as in :func:`~digimeter.targets.evaluate`); the method's intervals are
    calibrated on its own nested out-of-sample errors up to ``T`` (pooled over countries), each
    model's on its own errors. Held-out values ``T+1 .. min(T+H, last thick year)`` are compared with the forecasts.
    ``level_calibration``: also bin the calibration errors by level band (see
    :func:`digimeter.forecast.forecast_panel`; off by default, for the reason given there).
    """
    meta = store.indicator(indicator)
    code = meta["code"]
    lo, hi = value_bounds(meta)
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
    w = wide_panel(obs[~obs.year.isin(thin)])
    yrs = w.columns.to_numpy()
    v = w.to_numpy(float)
    last = int(yrs.max())
    early = [int(T) for T in origins if T < yrs.min()]
    if early:
        start = next((int(T) for T in yrs if _usable_origin(yrs, v, T, last, horizons)), None)
        hint = f"choose --origin {start} or later" if start is not None else "no origin has enough data"
        raise DataError(f"no data before {int(yrs.min())} for {code}; {hint}")
    summ, bands, hor, exc = [], [], [], []
    for T in origins:
        if progress:
            progress(f"{code}: origin {T}")
        keep = yrs <= T
        vt = v[:, keep]
        ok = _origin_rows(vt)
        if ok.sum() < 10 or T >= last:
            notes.append(f"origin {T}: too few countries with data or nothing held out; skipped")
            continue
        s, b, h, x = _backtest_origin(T, yrs[keep], vt, ok, v[ok][:, ~keep], min(T + horizons, last), lo, hi,
                                      models=models, method=method, horizons=horizons,
                                      level_calibration=level_calibration)
        summ += s
        bands += b
        hor += h
        exc.append(x)
    summary = pd.DataFrame(summ)
    if "chosen" in summary:
        summary["chosen"] = summary["chosen"].eq(True)
    exc = pd.concat(exc, ignore_index=True) if exc else pd.DataFrame(columns=["threshold", "predicted", "realised",
                                                                               "origin"])
    return BacktestReport(indicator=code, method=method, summary=summary, by_band=pd.DataFrame(bands),
                          by_horizon=pd.DataFrame(hor), notes=notes, reliability=reliability_table(exc))


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
        if len(r.reliability):
            out.append(f"Reliability of P(value >= threshold) for countries below the threshold at the origin "
                       f"({r.indicator}; every horizon):\n")
            out.append(_md_table(r.reliability) + "\n")
        if comparisons and r.indicator in comparisons and len(comparisons[r.indicator]):
            out.append(f"The combination methods side by side ({r.indicator}; `best`: lowest MAE at the origin):\n")
            out.append(_md_table(comparisons[r.indicator]) + "\n")
        if r.notes:
            out.append("Notes: " + "; ".join(r.notes) + "\n")
    return "\n".join(out)
