"""The engine: many variants of an index evaluated at once along a leading sample axis.

Upstream stages (screen, impute, treat, normalise) are computed once per distinct discrete choice by the
build's own public stages; weights become ``(n_samples, n_nodes)`` arrays aggregated by the one tree
evaluator (:func:`digimeter.stages.tree.evaluate`) in one call per group of samples.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from ..errors import SpecError
from .factors import STAGE_HEADS, Design

__all__ = ["Engine", "FunctionModel", "naive_evaluate"]


class Engine:
    """Evaluate many variants of an index at once.

    Parameters
    ----------
    spec : IndexSpec
    panel : Panel
        The raw data the nominal build started from.
    factors : list
        Factors (dicts, :class:`Factor`) or a :class:`Design`.
    unit_meta, directions : optional
        As :func:`digimeter.build.compute` takes them (``Index.params`` holds both).
    nodes : "aggregates" | "all" | list of codes
        Which nodes :meth:`evaluate` returns (indicator nodes give normalised values).
    """

    def __init__(self, spec, panel, factors, *, unit_meta: pd.DataFrame | None = None,
                 directions: dict[str, int] | None = None, history: pd.DataFrame | None = None,
                 fixed: dict[str, Any] | None = None, nodes: Any = "aggregates"):
        self.spec = spec
        self.panel = panel
        self.history = history
        self.fixed = fixed
        self.fast = True
        self.data_weights = spec.weight_method in ("pca", "optimised")
        self.design = factors if isinstance(factors, Design) else Design(factors, spec)
        self.unit_meta = unit_meta
        self.directions = directions
        self.meta = self.design.meta
        self.codes = self.meta.code.tolist()
        self.units = list(panel.values.index)
        self.ind_codes = [n.code for n in spec.indicator_nodes()]
        self.agg_codes = [c for c in self.codes if c not in set(self.ind_codes)]
        if isinstance(nodes, str) and nodes == "aggregates":
            self.out_nodes = list(self.agg_codes)
        elif isinstance(nodes, str) and nodes == "all":
            self.out_nodes = list(self.codes)
        else:
            nodes = [nodes] if isinstance(nodes, str) else list(nodes)
            bad = [c for c in nodes if c not in self.codes]
            if bad:
                raise SpecError(f"no node '{bad[0]}' in spec '{spec.name}'", field="nodes", value=bad[0],
                                fix=f"use one of: {', '.join(self.agg_codes)}")
            self.out_nodes = nodes
        self.n_compute = 0
        self._upstream: dict[tuple, Any] = {}
        self._plans: dict[tuple, list] = {}

    def __getstate__(self):
        """Pickled once per worker (scattered): keeps the prepared indicator arrays and aggregation plans
        (small), drops the treated data frames (recomputed on demand)."""
        d = dict(self.__dict__)
        d["_upstream"] = {k: v for k, v in self._upstream.items() if not (k and k[0] == "treated")}
        d["_plans"] = dict(self._plans)
        return d

    @classmethod
    def from_index(cls, index, factors, *, nodes: Any = "aggregates") -> "Engine":
        """An engine over the data and settings of a built index.

        Checks once that the engine's stage pipeline reproduces the index's normalised data; if the
        build has moved on in a way the engine does not mirror, every upstream choice is computed
        with :func:`digimeter.build.compute` itself (slower, same numbers).
        """
        p = index.params
        eng = cls(index.spec, index.panel, factors, unit_meta=p.get("unit_meta"), directions=p.get("directions"),
                  history=p.get("history"), fixed=p.get("fixed"), nodes=nodes)
        try:
            mine = eng._stages_fast(index.spec, p.get("fixed"))
            ref = index.stages["normalised"]
            eng.fast = (mine.shape == ref.shape and list(mine.index) == list(ref.index)
                        and np.array_equal(mine.to_numpy(dtype=float), ref.to_numpy(dtype=float), equal_nan=True))
        except Exception:  # noqa: BLE001 - any mismatch means: use compute
            eng.fast = False
        return eng

    # -- cached pieces -----------------------------------------------------------------------
    def _sub(self, key: tuple, heads: tuple[str, ...]) -> tuple:
        return tuple(key[j] for j, i in enumerate(self.design.keyed) if self.design.factors[i].head in heads)

    def _spec_for(self, key: tuple, heads: tuple[str, ...]):
        which = [i for i in self.design.keyed if self.design.factors[i].head in heads]
        changes = self.design.keyed_changes(key, which)
        if not changes:
            return self.spec, changes
        try:
            return self.spec.with_changes(changes), changes
        except SpecError as e:
            raise SpecError(f"the factor choice {changes} makes an invalid spec: {e.message}",
                            problems=e.problems) from e

    def _stages_fast(self, spec, fixed, cache_key: tuple | None = None) -> pd.DataFrame:
        """Denominate -> screen -> impute -> treat -> normalise, by the build's own public stages.

        :func:`digimeter.build.prepare` runs the stages up to treatment (cached per upstream choice)
        and :func:`digimeter.build.normalise_stage` the normalisation, so the order and the methods
        are those of :func:`digimeter.build.compute`, by construction.
        """
        from .. import build as B

        tkey = ("treated",) + cache_key if cache_key is not None else None
        if tkey is not None and tkey in self._upstream:
            x_tr, dirs = self._upstream[tkey]
        else:
            p = B.prepare(spec, self.panel, unit_meta=self.unit_meta, directions=self.directions,
                          history=self.history, until="treated")
            x_tr, dirs = p.stages["treated"], p.direction_array
            if tkey is not None:
                self._upstream[tkey] = (x_tr, dirs)
                self.n_compute += 1
        normalised, _ = B.normalise_stage(spec, x_tr, dirs, (fixed or {}).get("normalise"))
        return normalised

    def _prepared(self, key: tuple) -> tuple[np.ndarray, np.ndarray]:
        """(normalised indicators for all panel units, base node weights) for the choices ``key``.

        Computed once per distinct upstream choice (screen, impute, treat, normalise ...) and reused;
        with data-driven weights (PCA, optimised) once per distinct choice of everything.
        """
        heads = tuple(h for h in STAGE_HEADS if h != "aggregate" or self.data_weights)
        sub = self._sub(key, heads)
        if sub not in self._upstream:
            spec, changes = self._spec_for(key, heads)
            fixed = self.fixed if spec.normalise == self.spec.normalise else None
            try:
                if self.fast and not self.data_weights:
                    from ..spec.plan import base_weights

                    normalised = self._stages_fast(spec, fixed, self._sub(key, ("denominate", "screen", "impute", "treat")))
                    w = base_weights(spec, self.meta)
                else:
                    from ..build import compute

                    ix = compute(spec, self.panel, unit_meta=self.unit_meta, directions=self.directions,
                                 history=self.history, fixed=fixed)
                    normalised, w = ix.stages["normalised"], ix.params["weights"].to_dict()
                    self.n_compute += 1
            except SpecError as e:
                if not changes:
                    raise
                raise SpecError(f"the factor choice {changes} fails: {e.message}", problems=e.problems) from e
            arr = normalised.reindex(index=self.units)[self.ind_codes].to_numpy(dtype=float)
            self._upstream[sub] = (arr, np.array([w[c] for c in self.codes], dtype=float))
        return self._upstream[sub]

    def _plan(self, key: tuple) -> tuple:
        """The aggregation steps of the variant spec (:func:`digimeter.spec.plan.aggregate_steps`, as the build)."""
        sub = self._sub(key, ("aggregate",))
        if sub not in self._plans:
            from ..spec.plan import aggregate_steps

            spec, _ = self._spec_for(key, ("aggregate",))
            self._plans[sub] = aggregate_steps(spec, self.meta)
        return self._plans[sub]

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, U: np.ndarray) -> np.ndarray:
        """Scores ``(n_samples, n_units, n_out_nodes)`` for unit-hypercube samples ``U`` (n_samples, n_dims)."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        S = len(U)
        out = np.full((S, len(self.units), len(self.out_nodes)), np.nan)
        if S == 0:
            return out
        keys = self.design.keys(U)
        if keys.shape[1]:
            uniq, inv = np.unique(keys, axis=0, return_inverse=True)
            inv = inv.reshape(-1)
        else:
            uniq, inv = np.zeros((1, 0)), np.zeros(S, dtype=np.int64)
        from ..stages import tree

        ind_pos = {c: j for j, c in enumerate(self.ind_codes)}
        for g, key in enumerate(uniq):
            rows = np.flatnonzero(inv == g)
            key_t = tuple(float(v) for v in key)
            x_ind, base = self._prepared(key_t)                   # (n_units, n_ind), (n_nodes,)
            Wg = self.design.weights(U[rows], base)               # (S_g, n_nodes)
            vals: dict[str, np.ndarray] = {c: x_ind[:, ind_pos[c]] for c in self.ind_codes}
            weights = {c: Wg[:, j] for j, c in enumerate(self.codes)}
            vals, _ = tree.evaluate(self._plan(key_t), vals, weights)
            for j, c in enumerate(self.out_nodes):
                out[rows, :, j] = vals[c]
        return out


class FunctionModel:
    """A plain function of numeric factors, evaluated through the same design as an index.

    ``func(values)`` takes the decoded factor values ``(n_samples, n_factors)`` and returns
    ``(n_samples,)`` or ``(n_samples, n_outputs)``.
    """

    def __init__(self, func: Callable[[np.ndarray], np.ndarray], factors: Iterable[Any]):
        self.func = func
        self.design = factors if isinstance(factors, Design) else Design(factors, None)

    def evaluate(self, U: np.ndarray) -> np.ndarray:
        y = np.asarray(self.func(self.design.values(U)), dtype=float)
        return y.reshape(len(y), -1)


def naive_evaluate(index, factors, U: np.ndarray, *, nodes: Any = "aggregates") -> np.ndarray:
    """The reference: one full rebuild per sample (``Index.variant``), in a plain loop.

    Returns scores shaped like :meth:`Engine.evaluate` (units screened out are NaN).
    """
    eng = Engine.from_index(index, factors, nodes=nodes)
    U = np.atleast_2d(np.asarray(U, dtype=float))
    out = np.full((len(U), len(eng.units), len(eng.out_nodes)), np.nan)
    for s, u in enumerate(U):
        ix = index.variant(eng.design.changes(u))
        out[s] = ix.scores.reindex(index=eng.units)[eng.out_nodes].to_numpy(dtype=float)
    return out
