"""The one tree evaluator: aggregate a spec's tree bottom-up, from indicator values to the index.

A tree is a sequence of :class:`Step` (one per aggregate node, children before parents), as
:func:`digimeter.spec.plan.resolve` makes it from a spec. :func:`evaluate` runs it over node values with
any leading axes (one panel, a stack of Monte Carlo samples, one unit's hypothetical values), with
weights that may also carry leading axes (one weight set per sample). The build, the gap
decomposition and what-it-takes (benchmark), the index propagation of targets and the uncertainty
engine all call it, so every question asked of an index aggregates the tree the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from digimeter.errors import SpecError
from digimeter.stages import aggregate as agg

__all__ = ["Step", "evaluate", "apply_step"]


@dataclass(frozen=True)
class Step:
    """One aggregate node: its children, method (a name in ``aggregate.METHODS``) and options.

    ``opts`` holds only options the method takes; ``where`` names the spec setting the method came
    from (``aggregate.by_level.2 (node 'connectivity')``), for error messages.
    """

    level: int
    code: str
    kids: tuple[str, ...]
    method: str
    opts: Mapping[str, Any] = field(default_factory=dict)
    min_share: float = 0.0
    where: str = "aggregate.method"

    @property
    def needs_context(self) -> bool:
        """True if one unit's result depends on the other units (Copeland; a rescaling zero guard)."""
        return self.method == "copeland" or self.opts.get("zero_guard") is not None

    def __call__(self, xs: np.ndarray, w: Any) -> np.ndarray:
        """Aggregate children ``xs`` (..., n_units, n_kids) with weights ``w`` (..., n_kids)."""
        try:
            return agg.aggregate(xs, w, self.method, min_share=self.min_share, **self.opts)
        except SpecError as e:
            raise SpecError(e.message, field=self.where, value=self.method,
                            fix=e.problems[0].fix if e.problems else None) from None


def apply_step(step: Step, xs: np.ndarray, w: Any, context: np.ndarray | None = None,
               row: int | None = None) -> np.ndarray:
    """Aggregate one unit's children ``xs`` (..., n_kids) -> (...).

    With ``context`` (n_units, n_kids: every unit's children) and the unit's ``row`` in it, methods
    whose result for one unit depends on the others (:attr:`Step.needs_context`) see the unit's
    values in place among the others'.
    """
    xs = np.asarray(xs, dtype=float)
    if context is not None and row is not None and step.needs_context:
        lead = xs.shape[:-1]
        flat = xs.reshape(-1, xs.shape[-1])
        full = np.broadcast_to(context, (flat.shape[0],) + context.shape).copy()
        full[:, row, :] = flat
        return step(full, w)[:, row].reshape(lead)
    return step(xs[..., None, :], w)[..., 0]


def _kid_weights(step: Step, weights: Mapping[str, Any] | Callable[[str], Any]) -> np.ndarray:
    get = weights if callable(weights) else weights.__getitem__
    ws = [np.asarray(get(k), dtype=float) for k in step.kids]
    return np.stack(np.broadcast_arrays(*ws), axis=-1)


def evaluate(steps: Iterable[Step], values: Mapping[str, np.ndarray], weights: Mapping[str, Any],
             *, from_level: int = 2, on_level: Callable[[int, dict[str, np.ndarray]], None] | None = None,
             coverage: bool = False, unit: int | None = None,
             context: Mapping[str, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Aggregate the tree bottom-up.

    Parameters
    ----------
    steps : iterable of Step
        Children before parents (as :func:`digimeter.spec.plan.resolve` orders them).
    values : mapping node -> array
        Values of the nodes below ``from_level`` (at least the indicator nodes), each shaped
        (..., n_units); leading axes broadcast across nodes. Not modified.
    weights : mapping node -> float or array (...,)
        Each node's relative weight; an array gives one weight per leading index (e.g. per sample).
        Read when a step runs, so ``on_level`` may change it.
    from_level : int, default 2
        Skip steps below this level (their nodes must be in ``values``).
    on_level : callable, optional
        ``on_level(level, values)`` runs once before the first step of each level (data-driven
        weights such as PCA update ``weights`` there).
    coverage : bool, default False
        Also return each aggregate's available weight share (:func:`aggregate.available_share`).
    unit, context : optional
        Evaluate one unit: ``values`` are that unit's (...,) without a units axis, ``unit`` is its row
        and ``context[node]`` (n_units,) every unit's values, used only by steps that need them.

    Returns
    -------
    (values, coverage) : dicts node -> array; ``values`` includes the input nodes.
    """
    vals: dict[str, np.ndarray] = dict(values)
    cov: dict[str, np.ndarray] = {}
    seen: set[int] = set()
    for step in steps:
        if step.level < from_level:
            continue
        if on_level is not None and step.level not in seen:
            seen.add(step.level)
            on_level(step.level, vals)
        wv = _kid_weights(step, weights)
        kid_vals = [np.asarray(vals[k], dtype=float) for k in step.kids]
        if unit is not None:
            xs = np.stack(np.broadcast_arrays(*kid_vals), axis=-1)
            ctx = (np.column_stack([np.asarray(context[k], dtype=float) for k in step.kids])
                   if context is not None and step.needs_context else None)
            vals[step.code] = apply_step(step, xs, wv, ctx, unit)
            continue
        if wv.ndim > 1 and all(v.ndim == 1 for v in kid_vals) and np.all(wv == wv[:1]):
            wv = wv[0]                       # one weight set for every sample: aggregate once
        xs = np.stack(np.broadcast_arrays(*kid_vals), axis=-1)
        vals[step.code] = step(xs, wv)
        if coverage:
            cov[step.code] = agg.available_share(xs, wv)
    return vals, cov
