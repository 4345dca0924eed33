"""Index targets: every country's indicator forecasts propagated through an index spec (joint draws,
the index rebuilt per draw with the spec's plan and the one tree evaluator), giving P(rank <= k) and
P(score >= s)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import forecast as F
from ..errors import NotFoundError, SpecError
from .forecaster import Forecaster

__all__ = ["INDEX_SAMPLES", "IndexFeasibility", "batchable", "compute_batch", "index_feasibility"]

#: samples used for index-level feasibility (one rebuild of the index per sample)
INDEX_SAMPLES = 200


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


def batchable(spec) -> bool:
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
    imputation or treatment (:func:`batchable`). Returns ``(scores, ranks)``, each (n_samples, n_units),
    NaN for units screened out.
    """
    from .._util.ranks import rank_desc
    from ..spec.plan import resolve as resolve_plan
    from ..stages import normalise as norm
    from ..stages import tree

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
    from ..build import build, compute
    from ..panel import Panel, select_units
    from ..spec import load_spec, node_directions

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
    batched = batchable(spec_y)
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
