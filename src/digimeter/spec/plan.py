"""A spec resolved once into a plan: typed settings of the stages that evaluate its tree.

:func:`resolve` reads a spec's ``normalise``, ``weights`` and ``aggregate`` stages once, checks
every method and option against the kernel module that owns it (its ``METHODS`` and ``ALIASES``:
``aggregate.method: mean`` is ``arithmetic``, ``normalise.method: min-max`` is ``minmax``) and returns
a :class:`Plan`: the normalisation groups, the base weights and the aggregation steps, children
before parents. The build, benchmark (gaps, what it takes), targets (index propagation) and the
uncertainty engine all evaluate the tree from this plan with :func:`digimeter.stages.tree.evaluate`,
so one setting means the same thing everywhere.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SpecError
from .index import IndexSpec
from ..stages import aggregate as agg
from ..stages import normalise as norm
from ..stages.tree import Step

__all__ = ["Plan", "resolve", "aggregate_steps", "base_weights", "normalise_groups", "AGGREGATE_SETTINGS"]

#: keys of the ``aggregate`` stage that are not options of a method
AGGREGATE_SETTINGS = ("method", "by_level", "min_share")


@dataclass(frozen=True)
class Plan:
    """A spec resolved: ``steps`` (aggregation, bottom-up), ``weights`` (every node's base weight,
    before data-driven weighting) and ``normalise`` (groups of indicators sharing a method)."""

    name: str
    steps: tuple[Step, ...]
    weights: dict[str, float]
    normalise: tuple[norm.Group, ...]
    indicators: tuple[str, ...]

    @property
    def linear(self) -> bool:
        """True if every aggregate is an arithmetic mean."""
        return all(s.method == "arithmetic" for s in self.steps)


def _method_opts(method: str, opts: dict[str, Any]) -> dict[str, Any]:
    allowed = agg.options_of(method)
    return {k: v for k, v in opts.items() if k in allowed}


def aggregate_settings(spec: IndexSpec) -> tuple[str, dict[int, tuple[str, dict]], float, dict[str, Any]]:
    """``(method, {level: (method, options)}, min_share, options)`` of the ``aggregate`` stage, options
    checked (methods are checked per node by :func:`aggregate_steps`, so an error names the node)."""
    ag = dict(spec.aggregate)
    method = ag.pop("method")   # resolved per node (so an error names the node)
    by_level_raw = ag.pop("by_level", None) or {}
    try:
        min_share = float(ag.pop("min_share", 0.0))
    except (TypeError, ValueError):
        raise SpecError("aggregate.min_share must be a number in [0, 1]", field="aggregate.min_share") from None
    known = agg.OPTIONS
    bad = sorted(set(ag) - known)
    if bad:
        raise SpecError(f"aggregate: unknown option(s) {', '.join(bad)}", field="aggregate." + bad[0],
                        fix=f"use method, by_level, min_share or an option of a method: {', '.join(sorted(known))}")
    if not isinstance(by_level_raw, dict):
        raise SpecError("aggregate.by_level must map a level to a method", field="aggregate.by_level",
                        value=by_level_raw, fix="e.g. by_level: {2: geometric, 3: {method: generalised, p: 0.5}}")
    by_level: dict[int, tuple[str, dict]] = {}
    for k, v in by_level_raw.items():
        try:
            level = int(k)
        except (TypeError, ValueError):
            raise SpecError(f"aggregate.by_level: {k!r} is not a level number", field="aggregate.by_level",
                            value=k, fix="levels count up from the indicators (1)") from None
        where = f"aggregate.by_level.{level}"
        if isinstance(v, dict):
            v = dict(v)
            m = v.pop("method", method)
            bad = sorted(set(v) - known)
            if bad:
                raise SpecError(f"{where}: unknown option(s) {', '.join(bad)}", field=f"{where}.{bad[0]}",
                                fix=f"use an option of a method: {', '.join(sorted(known))}")
            by_level[level] = (m, {**ag, **v})
        else:
            by_level[level] = (v, ag)
    return method, by_level, min_share, ag


def aggregate_steps(spec: IndexSpec, meta: pd.DataFrame | None = None) -> tuple[Step, ...]:
    """The aggregation steps, bottom-up (level by level, in tree order within a level).

    A node's own ``aggregate`` wins over ``aggregate.by_level``, which wins over ``aggregate.method``;
    options of the stage serve every level and each method takes those it knows.
    """
    meta = spec.meta() if meta is None else meta
    method, by_level, min_share, opts = aggregate_settings(spec)
    nodes = spec.nodes()
    kids_of: dict[str, list[str]] = {}
    for c, par in zip(meta.code.tolist(), meta.parent.tolist()):
        kids_of.setdefault(par, []).append(c)
    aggs = [(int(lv), c) for c, lv, k in zip(meta.code.tolist(), meta.level.tolist(), meta.kind.tolist())
            if k == "aggregate"]
    steps = []
    for level in sorted({lv for lv, _ in aggs}):
        for code in [c for lv, c in aggs if lv == level]:
            node = nodes.get(code)
            if node is not None and node.aggregate:
                m, o, where = node.aggregate, opts, f"node '{code}' > aggregate"
            elif level in by_level:
                (m, o), where = by_level[level], f"aggregate.by_level.{level} (node '{code}')"
            else:
                m, o, where = method, opts, f"aggregate.method (node '{code}')"
            m = agg.resolve(m, where)
            steps.append(Step(level, code, tuple(kids_of.get(code, [])), m, _method_opts(m, o), min_share, where))
    return tuple(steps)


def base_weights(spec: IndexSpec, meta: pd.DataFrame | None = None) -> dict[str, float]:
    """Every node's weight as the build starts from it: node weights and numeric ``weights.<node>``
    overrides (``custom``), or 1 for every node but explicit overrides (``equal``). PCA and optimised
    weights are fitted on the data by the build from these."""
    meta = spec.meta() if meta is None else meta
    w = {c: float(v) for c, v in zip(meta.code, meta.weight)}
    if spec.weight_method == "equal":
        w = {c: 1.0 for c in w}
        for c in spec.nodes():
            if c in spec.weights and not isinstance(spec.weights[c], (str, dict, list)):
                w[c] = float(spec.weights[c])
    return w


def _suggest(word: str, codes) -> str:
    close = difflib.get_close_matches(word, list(codes), n=3)
    return f"did you mean {', '.join(close)}?" if close else "use indicator node codes"


def normalise_groups(spec: IndexSpec, icodes: list[str] | None = None) -> tuple[norm.Group, ...]:
    """The ``normalise`` stage as groups of indicators sharing a method and options (``indiv``
    overrides per indicator), each method and option checked against :mod:`digimeter.stages.normalise`."""
    icodes = [n.code for n in spec.indicator_nodes()] if icodes is None else list(icodes)
    nodes = spec.nodes()
    nm = dict(spec.normalise)
    gmethod = nm.pop("method")
    indiv = nm.pop("indiv", None) or {}
    unknown = [k for k in indiv if k not in icodes]
    if unknown:
        raise SpecError(f"normalise.indiv names {', '.join(unknown)}, not indicator nodes",
                        field="normalise.indiv", value=unknown, fix=_suggest(unknown[0], icodes))
    all_opts = norm.OPTIONS | {"ref_unit"}
    groups: dict[str, dict] = {}
    for j, c in enumerate(icodes):
        if c in indiv:
            o = dict(indiv[c]) if isinstance(indiv[c], dict) else {"method": indiv[c]}
            m = o.pop("method", gmethod)
            opts, where = {**nm, **o}, f"normalise.indiv.{c}"
            strict = set(o)
        else:
            m, opts, where, strict = gmethod, nm, "normalise", set(nm)
        m = norm.ALIASES.get(m, m) if isinstance(m, str) else m
        if m not in norm.METHODS:
            valid = ", ".join(norm.METHODS)
            raise SpecError(f"{where}: unknown normalisation method {m!r} (node '{c}')", field=where + ".method",
                            value=m, fix=f"use one of: {valid}")
        bad = sorted(set(strict) - all_opts)
        if bad:
            raise SpecError(f"{where}: unknown option(s) {', '.join(bad)} (node '{c}')", field=f"{where}.{bad[0]}",
                            fix=f"options of '{m}': {', '.join(norm.METHODS[m].options) or '(none)'}")
        valid_o = set(norm.METHODS[m].options) | ({"ref_unit"} if m == "dist2ref" else set())
        use = {k: v for k, v in opts.items() if k in valid_o}
        key = json.dumps([m, use], sort_keys=True, default=str)
        g = groups.setdefault(key, {"method": m, "opts": use, "codes": [], "cols": [], "where": where})
        g["codes"].append(c)
        g["cols"].append(j)
    out = []
    for g in groups.values():
        m, codes = g["method"], g["codes"]
        lo = hi = target = None
        if m == "goalposts":
            lo = np.array([nodes[c].goalposts[0] if nodes[c].goalposts else np.nan for c in codes])
            hi = np.array([nodes[c].goalposts[1] if nodes[c].goalposts else np.nan for c in codes])
            missing = [c for c, a in zip(codes, lo) if np.isnan(a)]
            if missing:
                raise SpecError("normalise.method is goalposts but some indicators have no goalposts: "
                                + ", ".join(missing), field="goalposts",
                                fix="add `goalposts: [lower, upper]` to each indicator node")
        if m == "dist2target" and g["opts"].get("target") is None:
            target = np.array([nodes[c].target if nodes[c].target is not None else np.nan for c in codes])
            if np.isnan(target).any():
                miss = [c for c, v in zip(codes, target) if np.isnan(v)]
                raise SpecError(f"{g['where']}: dist2target needs a target for node(s) {', '.join(miss)}",
                                field="target", fix="add `target: <value>` to the node, or normalise.target")
        out.append(norm.Group(m, g["opts"], tuple(codes), tuple(g["cols"]), g["where"], lo, hi, target))
    return tuple(out)


def resolve(spec: IndexSpec, meta: pd.DataFrame | None = None) -> Plan:
    """Resolve ``spec`` once into a :class:`Plan` (raises :class:`SpecError` naming the setting)."""
    meta = spec.meta() if meta is None else meta
    icodes = tuple(n.code for n in spec.indicator_nodes())
    return Plan(spec.name, aggregate_steps(spec, meta), base_weights(spec, meta),
                normalise_groups(spec, list(icodes)), icodes)
