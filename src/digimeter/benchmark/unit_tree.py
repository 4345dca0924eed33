"""The index's tree evaluated for one unit: the aggregation steps of the spec's plan with the weights the
build used, and the unit's node scores from its normalised indicator values, by the one tree evaluator
(:mod:`digimeter.stages.tree`). The gap decomposition and what it takes both use it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..stages import tree as tree_eval

__all__ = ["Agg", "aggregate_nodes", "needs_context", "agg_rows", "evaluate_unit"]


@dataclass(frozen=True)
class Agg:
    """An aggregation step of the index's plan with the weights its build used."""

    step: tree_eval.Step
    w: np.ndarray

    @property
    def code(self) -> str:
        return self.step.code

    @property
    def kids(self) -> list[str]:
        return list(self.step.kids)

    @property
    def method(self) -> str:
        return self.step.method


def aggregate_nodes(index) -> list[Agg]:
    """Aggregate nodes bottom-up: the steps of the spec's plan (:func:`digimeter.spec.plan.aggregate_steps`,
    the build's own), with the weights the build used (``Index.params["weights"]``)."""
    from ..spec.plan import aggregate_steps

    w = index.params["weights"]
    return [Agg(s, np.array([w[k] for k in s.kids], dtype=float))
            for s in aggregate_steps(index.spec, index.meta())]


def needs_context(a: Agg) -> bool:
    """Methods whose result for one unit depends on the other units."""
    return a.step.needs_context


def agg_rows(a: Agg, xs: np.ndarray, context: np.ndarray | None = None, row: int | None = None) -> np.ndarray:
    """Aggregate ``xs`` (..., k) -> (...); with ``context`` (n_units, k) the rows are placed in it at
    ``row`` for methods that depend on all units."""
    return tree_eval.apply_step(a.step, xs, a.w, context, row)


def evaluate_unit(index, ind_values: np.ndarray, unit: str | None = None,
                  tree: list[Agg] | None = None) -> dict[str, np.ndarray]:
    """Scores of every node from a unit's normalised indicator values ``(..., n_indicators)``
    (other units fixed; they matter only to context-dependent methods), by the one tree evaluator."""
    icodes = list(index.stages["normalised"].columns)
    vals = {c: ind_values[..., j] for j, c in enumerate(icodes)}
    row = list(index.scores.index).index(unit) if unit is not None else None
    aggs = tree if tree is not None else aggregate_nodes(index)
    out, _ = tree_eval.evaluate([a.step for a in aggs], vals, index.params["weights"], from_level=0,
                                unit=0 if row is None else row, context=None if row is None else index.scores)
    return out
