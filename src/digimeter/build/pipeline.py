"""The pure part of a build: a panel to every stage, score and rank.

:func:`prepare` runs ``denominate`` -> ``screen`` -> ``impute`` -> ``treat`` -> ``normalise`` (the one
implementation of the stage order), :func:`compute` adds weights and aggregation with the one tree evaluator
(:func:`finish`). Each stage keeps its matrix and its fitted parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .._util.ranks import rank_desc
from ..errors import SpecError
from ..panel import Panel
from ..spec import IndexSpec
from ..spec.plan import Plan, normalise_groups
from ..spec.plan import resolve as resolve_plan
from ..stages import impute as imp
from ..stages import normalise as norm
from ..stages import treat as trt
from ..stages import tree
from .index import Index

__all__ = ["Prepared", "compute", "finish", "normalise_stage", "prepare"]


def _aggregate_tree(plan: Plan, normalised: pd.DataFrame, w: dict[str, float], *, from_level: int = 2,
                    scores: pd.DataFrame | None = None, on_level: Any = None
                    ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Aggregate bottom-up from ``from_level`` with the one tree evaluator
    (:func:`digimeter.stages.tree.evaluate`); ``on_level(level, scores, w)`` may update weights first."""
    base = normalised if scores is None else scores
    cols = {c: base[c].to_numpy(dtype=float) for c in base.columns}
    hook = None if on_level is None else (lambda level, vals: on_level(level, pd.DataFrame(vals, index=base.index), w))
    vals, coverage = tree.evaluate(plan.steps, cols, w, from_level=from_level, on_level=hook, coverage=True)
    return pd.DataFrame(vals, index=base.index), coverage


def _screen(spec: IndexSpec, data: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame, str]:
    """Screen units with :func:`digimeter.stages.screen.screen_units`; returns (keep, excluded, report, action)."""
    from ..stages import screen as scr_mod

    scr = dict(spec.screen)
    opts = {"min_availability": float(scr.pop("min_availability", 0.0)),
            "max_zero_share": scr.pop("max_zero_share", None),
            "force_include": [u for u in (scr.pop("force_include", None) or []) if u in data.index],
            "force_exclude": [u for u in (scr.pop("force_exclude", None) or []) if u in data.index],
            "action": scr.pop("action", "drop")}
    scr.pop("after", None)
    if scr:
        raise SpecError(f"screen: unknown option(s) {', '.join(scr)}", field="screen." + next(iter(scr)),
                        fix="use min_availability, max_zero_share, force_include, force_exclude, "
                            "action (drop|flag), after (denominate|impute)")
    try:
        res = scr_mod.screen_units(data, **opts)
    except SpecError as e:
        raise SpecError(f"screen: {e.message}", field="screen", fix=e.problems[0].fix if e.problems else None) from None
    rep = res.report.set_index("unit")
    avail = rep["availability"]
    forced_in = rep["forced"] == "in"
    no_data = (avail == 0) & ~forced_in
    keep = rep["kept"].to_numpy() & ~no_data.to_numpy()
    reason = rep["why"].where(~no_data, "no data").replace(
        {"availability below threshold": f"data availability below {opts['min_availability']:.0%}"})
    out = ~keep
    if opts["action"] == "flag":
        out = no_data.to_numpy()  # flagged units stay in; units without any data cannot be scored
    excluded = pd.DataFrame({"availability": avail[out], "zero_share": rep["zero_share"][out],
                             "reason": reason[out]})
    rep = rep.assign(kept=~out)
    return ~out, excluded, rep, opts["action"]


def _history_array(spec: IndexSpec, history: pd.DataFrame, units: list[str], year: int,
                   current: pd.DataFrame, dens: dict[str, tuple[str, float]]
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """(times, units, indicator nodes) array of denominated values; slice ``year`` = ``current``."""
    h = history[history.unit.isin(units) & history.value.notna()]
    years = sorted(set(h.year.astype(int)) | {int(year)})
    codes = sorted(set(h.indicator))
    cube = np.full((len(years), len(units), len(codes)), np.nan)
    cube[pd.Index(years).get_indexer(h.year.astype(int)), pd.Index(units).get_indexer(h.unit),
         pd.Index(codes).get_indexer(h.indicator)] = h.value.to_numpy(dtype=float)
    pos = {c: i for i, c in enumerate(codes)}
    nan = np.full(cube.shape[:2], np.nan)
    arr = np.full((len(years), len(units), len(current.columns)), np.nan)
    for j, n in enumerate(spec.indicator_nodes()):
        v = cube[:, :, pos[n.indicator]] if n.indicator in pos else nan
        if n.code in dens:
            dcode, scale = dens[n.code]
            d = cube[:, :, pos[dcode]] if dcode in pos else nan
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(d != 0, v / d * scale, np.nan)
        arr[:, :, j] = v
    ti = years.index(int(year))
    arr[ti] = current.to_numpy(dtype=float)
    return arr, np.asarray(years, dtype=float), ti


def _impute(spec: IndexSpec, x: pd.DataFrame, unit_meta: pd.DataFrame | None,
            history: pd.DataFrame | None, year: int, dens: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    im = dict(spec.impute)
    method = im.pop("method")
    then = im.pop("then", None)
    group_by = im.pop("group_by", None)

    def groups():
        if unit_meta is None or group_by not in unit_meta:
            have = ", ".join(map(str, unit_meta.columns)) if unit_meta is not None else "(none)"
            raise SpecError(f"impute.group_by '{group_by}' is not a unit attribute", field="impute.group_by",
                            value=group_by, fix=f"use one of: {have}")
        return unit_meta.reindex(x.index)[group_by].to_numpy(dtype=object)

    empty = pd.DataFrame(columns=["unit", "indicator", "value", "method"])
    if method == "panel":
        pm = im.pop("panel_method", "latest")
        kw = {k: im.pop(k) for k in ("max_time", "max_gap") if k in im}
        if im:
            raise SpecError(f"impute: unknown option(s) {', '.join(im)} for method panel", field="impute",
                            fix="use panel_method, max_time, max_gap, then, group_by")
        if history is None:
            raise SpecError("impute.method panel needs the history of the indicators", field="impute.method",
                            fix="build from the store (build()) or pass history= to compute()")
        arr, times, ti = _history_array(spec, history, list(x.index), year, x, dens)
        try:
            out, mask = imp.panel(arr, pm, times=times, **kw)
        except SpecError as e:
            raise SpecError(f"impute.panel_method: {e.message}", field="impute.panel_method", value=pm,
                            fix=f"use one of {', '.join(imp.PANEL_METHODS)}") from None
        x1 = pd.DataFrame(out[ti], index=x.index, columns=x.columns)
        m1 = pd.DataFrame(mask[ti], index=x.index, columns=x.columns)
        rep = imp.imputation_report(x1, m1, method=f"panel:{pm}") if m1.to_numpy().any() else empty
        if then:
            sub = spec.with_changes({"impute": {"method": then, **({"group_by": group_by} if group_by else {})}})
            x2, rep2 = _impute(sub, x1, unit_meta, None, year, dens)
            return x2, pd.concat([rep, rep2], ignore_index=True) if len(rep2) else rep
        return x1, rep
    if then:
        raise SpecError("impute.then only follows method panel", field="impute.then")
    if group_by and method in ("mean", "median"):
        method = f"{method}_group"
    if method in ("mean_group", "median_group"):
        if not group_by:
            raise SpecError(f"impute.method {method} needs group_by (a unit attribute)", field="impute.group_by",
                            fix="add `group_by: wb_region` (or income_group, un_region ...)")
        im["groups"] = groups()
    try:
        x_imp, mask = imp.impute(x, method, **im)
    except TypeError:
        raise SpecError(f"impute: unknown option(s) {', '.join(k for k in im if k != 'groups')} for method "
                        f"{method}", field="impute", fix="use method and group_by") from None
    except SpecError as e:
        raise SpecError(f"impute.method: {e.message}", field="impute.method", value=method,
                        fix=f"use none, mean, median, mean_group, median_group or panel") from None
    rep = imp.imputation_report(x_imp, mask, method=method) if mask.to_numpy().any() else empty
    return x_imp, rep


def _treat(spec: IndexSpec, x: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    tr = dict(spec.treat)
    tmethod = tr.pop("method")
    if tmethod not in trt.SPEC_METHODS:
        raise SpecError(f"unknown treatment method {tmethod!r}", field="treat.method", value=tmethod,
                        fix="use none, coinr (COINr's skew/kurtosis rule: Winsorise then log), boxcox or log")
    if tmethod == "none":
        return x.copy(), None
    bad = sorted(set(tr) - set(trt.SPEC_OPTIONS))
    if bad:
        raise SpecError(f"treat: unknown option(s) {', '.join(bad)}", field="treat." + bad[0],
                        fix=f"use {', '.join(trt.SPEC_OPTIONS)}")
    lam = tr.pop("lambda", tr.pop("lmbda", None))
    if tmethod == "boxcox":
        tr.setdefault("f1", None)
        tr.setdefault("f2", "boxcox")
        tr["f2_params"] = {"lmbda": 0.5 if lam is None else float(lam), **(tr.get("f2_params") or {})}
    elif tmethod == "log":
        tr.setdefault("f1", None)
        tr.setdefault("f2", "log_CT")
    if tr.get("f1") in ("none", "None"):
        tr["f1"] = None
    if tr.get("f2") in ("none", "None"):
        tr["f2"] = None
    indiv = tr.get("indiv")
    if indiv:
        codes = set(x.columns)
        unknown = [k for k in indiv if k not in codes]
        if unknown:
            raise SpecError(f"treat.indiv names {', '.join(unknown)}, not indicator nodes", field="treat.indiv",
                            value=unknown, fix=_suggest_codes(unknown[0], codes))
    try:
        return trt.treat(x, **tr)
    except SpecError as e:
        raise SpecError(f"treat: {e.message}", field="treat", fix=e.problems[0].fix if e.problems else None) from None


def _suggest_codes(word: str, codes) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(codes), n=3)
    return f"did you mean {', '.join(close)}?" if close else "use indicator node codes"


def _normalise(spec: IndexSpec, x_tr: pd.DataFrame, dirs: np.ndarray, fixed: list[dict] | None
               ) -> tuple[pd.DataFrame, list[dict]]:
    """Normalise every indicator by the plan's groups (:func:`digimeter.spec.plan.normalise_groups`, with
    per-indicator overrides in ``normalise.indiv``); ``fixed`` = fitted params."""
    groups = normalise_groups(spec, list(x_tr.columns))
    out, fits = norm.apply_groups(list(groups), x_tr.to_numpy(dtype=float), dirs, units=x_tr.index.tolist(),
                                  fixed=fixed)
    return pd.DataFrame(out, index=x_tr.index, columns=list(x_tr.columns)), fits


def _params_by_name(fits: list[dict], icodes: list[str]) -> dict[str, pd.Series]:
    """Fitted normalisation parameters as ``{name: Series over indicator nodes}`` (NaN where not used)."""
    out: dict[str, pd.Series] = {}
    for f in fits:
        for k, v in f["params"].items():
            a = np.asarray(v, dtype=float).reshape(-1)
            if a.size not in (len(f["codes"]), 1):
                continue
            s = out.setdefault(k, pd.Series(np.nan, index=icodes, dtype=float))
            s[f["codes"]] = a if a.size == len(f["codes"]) else np.repeat(a, len(f["codes"]))
    return out


def _explicit_weights(spec: IndexSpec) -> dict[str, float]:
    nodes = spec.nodes()
    return {k: float(v) for k, v in spec.weights.items() if k in nodes}


def _levels_opt(v: Any, default: list[int], top: int) -> list[int]:
    if v is None:
        return default
    if v == "all":
        return list(range(1, top))
    return [int(i) for i in (v if isinstance(v, (list, tuple)) else [v])]


@dataclass
class Prepared:
    """The stages of a build before weighting: what :func:`prepare` returns.

    ``stages``: ``raw``, ``denominated``, ``screened``, ``imputed``, ``treated`` and (unless stopped
    earlier) ``normalised`` (units x indicator nodes); ``params``: the fitted parameters and logs of
    each stage (as in :attr:`Index.params`); ``excluded``: units the screen left out, with reasons;
    ``directions``: indicator node -> +1/-1.
    """

    stages: dict[str, pd.DataFrame]
    params: dict[str, Any]
    excluded: pd.DataFrame
    directions: dict[str, int]

    @property
    def direction_array(self) -> np.ndarray:
        return np.array(list(self.directions.values()), dtype=float)


def prepare(spec: IndexSpec, panel: Panel, *, unit_meta: pd.DataFrame | None = None,
            directions: dict[str, int] | None = None, history: pd.DataFrame | None = None,
            fixed: dict[str, Any] | None = None, until: str = "normalised") -> Prepared:
    """Run the stages before weighting: ``denominate`` -> ``screen`` (before or after imputation,
    ``screen.after``) -> ``impute`` -> ``treat`` -> ``normalise``, each as the spec sets it.

    The one implementation of the stage order: :func:`compute` is ``prepare`` followed by weighting
    and aggregation, and the uncertainty engine runs ``prepare(..., until="treated")`` then
    :func:`normalise_stage` for each choice of normalisation. Parameters as :func:`compute`;
    ``until`` is ``"treated"`` or ``"normalised"`` (the last stage run).
    """
    if until not in ("treated", "normalised"):
        raise SpecError(f"prepare: until must be treated or normalised, not {until!r}", field="until", value=until)
    ind_nodes = spec.indicator_nodes()
    icodes = [n.code for n in ind_nodes]
    given = dict(directions or {})
    directions = {n.code: int(n.direction if n.direction is not None else given.get(n.code, 1)) for n in ind_nodes}
    dirs = np.array([directions[c] for c in icodes], dtype=float)
    missing_cols = sorted({n.indicator for n in ind_nodes} - set(panel.values.columns))
    if missing_cols:
        raise SpecError(f"spec '{spec.name}': the panel has no column for indicator(s) {', '.join(missing_cols)}",
                        field="tree", fix="build the panel with every indicator the spec names")
    raw = pd.DataFrame({n.code: panel.values[n.indicator].to_numpy(dtype=float) for n in ind_nodes},
                       index=panel.values.index)
    raw.columns.name = "node"
    stages: dict[str, pd.DataFrame] = {"raw": raw}
    params: dict[str, Any] = {"directions": directions, "unit_meta": unit_meta}
    if history is not None:
        params["history"] = history
    if fixed:
        params["fixed"] = fixed

    # -- denominate -------------------------------------------------------------------------
    dens = spec.denominators()
    if dens:
        from ..stages import screen as scr_mod

        dcodes = sorted({d for d, _ in dens.values()})
        absent = [d for d in dcodes if d not in panel.values.columns]
        if absent:
            who = [k for k, (d, _) in dens.items() if d in absent]
            raise SpecError(f"denominate: denominator(s) {', '.join(absent)} (for {', '.join(who)}) are not in "
                            "the panel", field="denominate." + who[0], value=absent,
                            fix="use a store indicator (population, gdp_usd ...) or add the column to the panel")
        den_frame = panel.values[dcodes].astype(float)
        x = scr_mod.denominate(raw, den_frame, {k: d for k, (d, _) in dens.items()},
                               scale={k: s for k, (_, s) in dens.items()})
        params["denominate"] = pd.DataFrame({"denominator": {k: d for k, (d, _) in dens.items()},
                                             "scale": {k: s for k, (_, s) in dens.items()}})
    else:
        x = raw.copy()
    stages["denominated"] = x

    # -- screen (on the denominated data, or after imputation as in COINr's example) ------------
    screen_after = spec.screen.get("after", "denominate")
    if screen_after not in ("denominate", "impute"):
        raise SpecError(f"screen.after must be denominate or impute, not {screen_after!r}", field="screen.after",
                        value=screen_after, fix="use denominate (screen before imputation) or impute (after, as COINr's example)")

    def do_screen(data):
        keep, excluded, rep, action = _screen(spec, data)
        params["screen"] = rep
        return keep, excluded

    if screen_after != "impute":
        keep, excluded = do_screen(x)
        x = x[keep]
        stages["screened"] = x
        x_imp, rep = _impute(spec, x, unit_meta, history, panel.year, dens)
        stages["imputed"] = x_imp
    else:
        x_imp, rep = _impute(spec, x, unit_meta, history, panel.year, dens)
        stages["imputed"] = x_imp
        keep, excluded = do_screen(x_imp)
        x_imp = x_imp[keep]
        rep = rep[rep.unit.isin(x_imp.index)].reset_index(drop=True) if len(rep) else rep
        stages["screened"] = x_imp
    params["imputed"] = rep

    # -- treat ----------------------------------------------------------------------------------
    x_tr, tlog = _treat(spec, x_imp)
    stages["treated"] = x_tr
    params["treat"] = tlog
    out = Prepared(stages=stages, params=params, excluded=excluded, directions=directions)
    if until == "treated":
        return out

    # -- normalise (higher is better after flipping, except goalposts which take direction) -------
    normalised, fits = normalise_stage(spec, x_tr, dirs, (fixed or {}).get("normalise"))
    stages["normalised"] = normalised
    params["normalise"] = _params_by_name(fits, icodes)
    params["normalise_fit"] = fits
    return out


def normalise_stage(spec: IndexSpec, treated: pd.DataFrame, directions: np.ndarray,
                    fixed: list[dict] | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The normalisation stage on treated data: ``(normalised, fitted parameters per indicator)``.

    ``directions``: +1/-1 per column of ``treated``; ``fixed``: fitted parameters to apply instead of
    fitting (``Index.params["normalise_fit"]``).
    """
    return _normalise(spec, treated, directions, fixed)


def compute(spec: IndexSpec, panel: Panel, *, unit_meta: pd.DataFrame | None = None,
            directions: dict[str, int] | None = None, history: pd.DataFrame | None = None,
            fixed: dict[str, Any] | None = None) -> Index:
    """The pure part of a build: from a panel to every stage, score and rank.

    Stages, each set in the spec: ``denominate`` -> ``screen`` (before or after imputation,
    ``screen.after``) -> ``impute`` -> ``treat`` -> ``normalise`` (:func:`prepare`) -> ``weights``
    -> ``aggregate``. See docs/methods.md for every method, its options and its reference.

    Parameters
    ----------
    spec : IndexSpec
    panel : Panel
        Values of the store indicators the spec names (and of its denominators), units x indicators.
    unit_meta : DataFrame, optional
        Unit attributes indexed by unit code (``name``, groups for ``impute.group_by``).
    directions : dict, optional
        Indicator node -> +1/-1; a node's own ``direction`` wins. Default +1.
    history : DataFrame, optional
        Long ``unit, indicator, year, value`` rows, needed by ``impute.method: panel``.
    fixed : dict, optional
        Fitted parameters to apply instead of fitting: ``{"normalise": [...]}`` as in
        ``Index.params["normalise_fit"]`` (used by :func:`build_panel` with a reference year).
    """
    p = prepare(spec, panel, unit_meta=unit_meta, directions=directions, history=history, fixed=fixed)
    # -- weights and aggregation, bottom-up -------------------------------------------------------
    return finish(spec, spec.meta(), panel, p.stages, p.params, p.excluded)


def finish(spec: IndexSpec, meta: pd.DataFrame, panel: Panel, stages: dict[str, pd.DataFrame],
            params: dict[str, Any], excluded: pd.DataFrame) -> Index:
    """Weights and aggregation from the normalised stage (shared by compute and quick variants)."""
    normalised = stages["normalised"]
    plan = resolve_plan(spec, meta)
    w = dict(plan.weights)
    explicit = _explicit_weights(spec)
    wmethod = spec.weight_method
    wopts = {k: v for k, v in spec.weights.items() if k in ("level", "target", "objective", "cortype",
                                                            "maxiter", "tol") and k not in spec.nodes()}
    top = int(meta.level.max())
    hook = None
    if wmethod == "pca":
        from ..stages import weight as wt

        pca_levels = _levels_opt(wopts.get("level"), [1], top)
        pca_info = []

        def hook(level, scores, w):
            if level - 1 not in pca_levels:
                return
            lw = wt.pca_weights(scores, meta, level - 1)
            neg = [c for c, v in lw.items() if v < 0]
            if neg:
                warnings.warn(f"PCA weights: negative loadings set to 0 for {', '.join(neg)}", UserWarning,
                              stacklevel=3)
            for c, v in lw.items():
                w[c] = explicit.get(c, max(float(v), 0.0))
            pca_info.append(lw.attrs.get("groups").assign(level=level - 1))

    scores, coverage = _aggregate_tree(plan, normalised, w, on_level=hook)
    if wmethod == "pca":
        params["weights_pca"] = pd.concat(pca_info, ignore_index=True) if pca_info else None
    elif wmethod == "optimised":
        from ..stages import weight as wt

        lev = int(wopts.get("level", top - 1))
        codes = meta.code[meta.level == lev].tolist()
        if not codes or lev >= top:
            raise SpecError(f"weights.level {lev} has no nodes below the index", field="weights.level",
                            value=lev, fix=f"use a level between 1 and {top - 1}")
        tgt = wopts.get("target", "equal")
        if isinstance(tgt, dict):
            bad = [k for k in tgt if k not in codes]
            if bad:
                raise SpecError(f"weights.target names {', '.join(bad)}, not nodes of level {lev}",
                                field="weights.target", value=bad, fix=f"use {', '.join(codes)}")
            tgt = [float(tgt.get(c, 1.0)) for c in codes]
        objective = wopts.get("objective", "balance")
        base_scores = scores

        def score_fn(wv):
            w2 = dict(w, **dict(zip(codes, map(float, wv))))
            s2, _ = _aggregate_tree(plan, normalised, w2, from_level=lev + 1, scores=base_scores)
            return s2[spec.name].to_numpy()

        try:
            res = wt.optimise_weights(scores[codes].to_numpy(dtype=float), score_fn, method=objective,
                                      target=None if objective == "infomax" else tgt,
                                      cortype=wopts.get("cortype", "pearson"), tol=float(wopts.get("tol", 1e-4)),
                                      maxiter=int(wopts.get("maxiter", 500)))
        except SpecError as e:
            raise SpecError(f"weights (optimised): {e.message}", field="weights", fix=e.problems[0].fix if e.problems else None) from None
        for c, v in zip(codes, res.weights):
            w[c] = explicit.get(c, float(v))
        scores, coverage = _aggregate_tree(plan, normalised, w)
        params["weights_optimised"] = pd.DataFrame({"weight": res.weights, "corr_with_index": res.correlations,
                                                    "target": res.target if res.target is not None else np.nan},
                                                   index=pd.Index(codes, name="code"))
    from ..stages import weight as wt

    params["weights"] = pd.Series(w, name="weight").reindex(meta.code)
    wmeta = meta.assign(weight=params["weights"].to_numpy())
    params["effective_weights"] = wt.effective_weights(wmeta)
    order = meta.code.tolist()
    scores = scores[order]
    ranks = pd.DataFrame(rank_desc(scores.to_numpy(), axis=0), index=scores.index, columns=order)
    cov = pd.DataFrame(coverage, index=scores.index)[[c for c in order if c in coverage]]
    fp = {"spec": spec.fingerprint(), "panel": panel.fingerprint(), "digimeter": __version__,
          "data_vintage": str(panel.vintage) if panel.vintage is not None else "current"}
    return Index(spec=spec, panel=panel, stages=stages, params=params, scores=scores, ranks=ranks,
                 coverage=cov, excluded=excluded, fingerprints=fp)
