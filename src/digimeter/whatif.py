"""What if: move a lever and see the scores, the ranks and P(target) change.

:func:`whatif` takes a unit, changes to its indicator values and, optionally, the spec's weights, and
answers against the **unchanged rest of the world**:

- **scores and ranks** of every node of the index spec: the index is rebuilt from the same panel with
  the unit's values changed (:func:`digimeter.build.compute`, the build's own kernels and fitted
  settings; weights through :meth:`digimeter.build.Index.variant`);
- **P(target)** for each of the scenario's indicator targets of the unit: its forecast (the one
  :func:`digimeter.targets.evaluate` makes, calibrated across countries) is shifted by the change and
  :func:`digimeter.targets.p_met_of` answers it, before and after.

A change is either

- **absolute** (``coverage_4g=99``): the latest value becomes 99, and every draw of the forecast moves
  with it (:func:`moved`: towards a bound, the same share of each draw's distance to the bound, so
  raising 91.6 % to 99 % closes 88 % of every draw's gap to 100; otherwise the same amount); or
- **per year** (``fixed_broadband=+2/yr``): the latest value grows by 2 a year until the deadline
  (``latest + 2 * (year - latest year)``), and the draws of each year move as the latest value would to
  that year's level; the index is rebuilt with the value the lever reaches by the deadline, the others
  as they are today.

Changes are keyed by the spec's node code (``coverage_4g``) or the store's indicator code
(``pop_cov_4g_pct``). A value outside the indicator's valid range (``min_value``/``max_value`` in the
store) is refused, naming the field; so is a per-year change that leaves the range by the deadline.

Speed: the base (the index, the forecasts of the unit's targets) is prepared once per (store,
unit, spec, scenario, data vintage, seed) and cached (:func:`prepare`), so a request rebuilds one
index (tens of milliseconds) and shifts a few thousand draws.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .errors import DataError, NotFoundError, Problem, SpecError

__all__ = ["Change", "WhatIfBase", "WhatIfResult", "parse_changes", "prepare", "whatif", "DEFAULT_SCENARIO",
           "clear_cache", "moved"]

#: the scenario used when none is given and the unit has targets in it
DEFAULT_SCENARIO = "fully-digital-kz"

_PER_YEAR = re.compile(r"^\s*([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)\s*/\s*(?:yr|year|y)\s*$", re.I)


@dataclass(frozen=True)
class Change:
    """One lever: ``node`` (spec node code), its store ``indicator``, ``kind`` (``set`` or ``per_year``)
    and ``value``."""

    node: str
    indicator: str
    kind: str
    value: float

    def text(self) -> str:
        return f"{self.node}={self.value:+g}/yr" if self.kind == "per_year" else f"{self.node}={self.value:g}"


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float, np.integer, np.floating)):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        return None


def parse_changes(changes: Mapping[str, Any] | list[str] | None, spec) -> list[Change]:
    """Changes as :class:`Change` objects, keyed by node code.

    ``changes``: a mapping ``{key: value}`` or a list of ``"key=value"`` texts (the CLI's ``--set``).
    ``key``: a node code of ``spec`` or a store indicator code it uses. ``value``: a number (absolute),
    ``"+2/yr"`` (per year), or ``{"per_year": 2}`` / ``{"value": 99}``. Every problem is reported at once,
    each naming its field (``changes.<key>``).
    """
    if changes is None:
        return []
    items: list[tuple[str, Any]] = []
    problems: list[Problem] = []
    if isinstance(changes, Mapping):
        items = [(str(k), v) for k, v in changes.items()]
    else:
        for text in changes:
            k, sep, v = str(text).partition("=")
            if not sep or not k.strip():
                problems.append(Problem(f"a change is KEY=VALUE, not {text!r}", field="changes", value=str(text),
                                        fix="e.g. coverage_4g=99 or fixed_broadband=+2/yr"))
                continue
            items.append((k.strip(), v.strip()))
    by_indicator = {}
    for n in spec.indicator_nodes():
        by_indicator.setdefault(n.indicator, n.code)
    nodes = {n.code: n for n in spec.indicator_nodes()}
    out: dict[str, Change] = {}
    for key, raw in items:
        fld = f"changes.{key}"
        code = key if key in nodes else by_indicator.get(key)
        if code is None:
            import difflib

            close = difflib.get_close_matches(key, list(nodes) + list(by_indicator), n=3)
            problems.append(Problem(f"'{key}' is not an indicator of spec '{spec.name}'", field=fld, value=key,
                                    fix=f"did you mean {', '.join(close)}?" if close else
                                    f"one of: {', '.join(nodes)}"))
            continue
        kind, value = "set", None
        if isinstance(raw, Mapping):
            if set(raw) == {"per_year"}:
                kind, value = "per_year", _number(raw["per_year"])
            elif set(raw) == {"value"}:
                value = _number(raw["value"])
        elif isinstance(raw, str) and _PER_YEAR.match(raw):
            kind, value = "per_year", float(_PER_YEAR.match(raw).group(1))
        else:
            value = _number(raw)
        if value is None or not math.isfinite(value):
            problems.append(Problem(f"'{key}': expected a number or a change per year such as +2/yr",
                                    field=fld, value=raw if not isinstance(raw, (dict, list)) else str(raw),
                                    fix="e.g. 99, +2/yr or {\"per_year\": 2}"))
            continue
        if code in out:
            problems.append(Problem(f"'{key}' is changed twice (as {out[code].node})", field=fld, value=raw,
                                    fix="give each indicator once"))
            continue
        out[code] = Change(node=code, indicator=nodes[code].indicator, kind=kind, value=float(value))
    if problems:
        raise DataError(f"invalid what-if change(s) ({len(problems)} problem(s))" if len(problems) > 1
                        else problems[0].message, problems=problems)
    return list(out.values())


# --------------------------------------------------------------------------------------------
# the base: prepared once per (store, unit, spec, scenario, vintage, seed)
# --------------------------------------------------------------------------------------------

@dataclass
class WhatIfBase:
    """What a what-if starts from: the index on today's data, the unit's targets with their forecasts."""

    unit: str
    unit_name: str
    index: Any                                  # digimeter.build.Index
    scenario: str | None
    deadline: int
    targets: list                               # [(Target, ForecastResult | None, base row dict)]
    meta: dict                                  # store indicator code -> store metadata
    vintage: int | None
    seed: int
    n_samples: int
    iso2: str | None = None
    variants: "OrderedDict[tuple, Any]" = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def weighted(self, weights: Mapping[str, Any] | None):
        """The base index with the spec's weights changed (``{"connectivity": 2}``); cached."""
        if not weights:
            return self.index
        clean: dict[str, float] = {}
        problems = []
        nodes = set(self.index.spec.nodes())
        for k, v in weights.items():
            key = str(k).removeprefix("weights.")
            num = _number(v)
            if key not in nodes:
                problems.append(Problem(f"no node '{key}' in spec '{self.index.spec.name}'", field=f"weights.{key}",
                                        value=key, fix="a pillar or indicator code of the spec"))
            elif num is None or not math.isfinite(num) or num < 0:
                problems.append(Problem(f"weight of '{key}' must be a number >= 0", field=f"weights.{key}",
                                        value=v if not isinstance(v, (dict, list)) else str(v)))
            else:
                clean[key] = num
        if problems:
            raise SpecError(problems[0].message if len(problems) == 1 else
                            f"invalid weight(s) ({len(problems)} problem(s))", problems=problems)
        key = tuple(sorted(clean.items()))
        with self.lock:
            if key in self.variants:
                self.variants.move_to_end(key)
                return self.variants[key]
        ix = self.index.variant({f"weights.{k}": v for k, v in clean.items()})
        with self.lock:
            self.variants[key] = ix
            while len(self.variants) > 16:
                self.variants.popitem(last=False)
        return ix


_CACHE: "OrderedDict[tuple, WhatIfBase]" = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget every prepared base (e.g. after the data changed in a way the vintage does not show)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _vintage(store) -> int | None:
    v = store.vintages()
    return int(v.vintage.max()) if len(v) else None


def prepare(unit: str, *, spec: str = "digital-nation", scenario: str | None = None, store=None,
            seed: int = 0, n_samples: int = 2000) -> WhatIfBase:
    """The base of a what-if, cached per (store, unit, spec, scenario, data vintage, seed, n_samples).

    ``scenario``: a scenario name or path; default :data:`DEFAULT_SCENARIO` when it has targets for the
    unit. Its indicator targets for ``unit`` are evaluated with :func:`digimeter.targets.evaluate`
    (the same forecasts and P as `digimeter targets`).
    """
    from .build import build
    from .spec import load_spec
    from .store import open_store
    from .targets import Forecaster, evaluate, forecast_unit, group_units, load_scenario, p_met_of

    own = store is None
    store = store or open_store()
    try:
        u = store.unit(unit)
        code = u["code"]
        sp = load_spec(spec)
        vint = _vintage(store)
        key = (str(getattr(store, "path", "")), code, sp.name, sp.model_dump_json(), str(scenario), vint, seed,
               n_samples)
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]
        ix = build(sp, store)
        ix.ranked_code(code)   # a unit the index does not rank: NotFoundError saying why
        def mine_of(t) -> bool:
            """The unit's own indicator targets, and its part of a group target (every region of its country)."""
            if t.kind != "indicator":
                return False
            if t.unit is not None:
                return t.unit == code
            return t.units is not None and t.units.parent == u.get("parent") and t.units.kind == u.get("kind")

        sc, mine = None, []
        if scenario is not None:
            sc = load_scenario(scenario)
        else:
            cand = load_scenario(DEFAULT_SCENARIO)
            if any(mine_of(t) for t in cand.targets):
                sc = cand
        if sc is not None:
            mine = [t for t in sc.targets if mine_of(t)]
        deadline = sc.deadline if sc is not None else int(sp.year) + 3
        targets = []
        if mine:
            horizon = max(deadline, int(store.query("SELECT max(year) AS y FROM observations").y.iloc[0]) + 1)
            fc = Forecaster(store, horizon, seed=seed, n_samples=n_samples)
            unit_targets = [t for t in mine if t.unit == code]
            rows = (evaluate(sc.model_copy(update={"targets": unit_targets}), store, seed=seed,
                             n_samples=n_samples, forecaster=fc) if unit_targets else None)
            for t in mine:
                try:   # the forecast evaluate makes (a group target's: within the group's units)
                    if t.unit == code:
                        r, _ = forecast_unit(store, code, t.indicator, horizon, seed=seed, n_samples=n_samples,
                                             forecaster=fc)
                    else:
                        r = fc.group(store.indicator(t.indicator)["code"], group_units(t, store),
                                     f"every {t.units.kind} of {t.units.parent}").result(code)
                except (NotFoundError, DataError):
                    r = None
                if t.unit == code:
                    row = rows[rows.target == t.id].iloc[0].to_dict()
                else:    # a group target: this unit's own chance (the group's "all" row is not simulated)
                    row = {"measure": store.indicator(t.indicator)["code"], "status": None,
                           "p_met": (p_met_of(r, float(t.threshold), t.deadline, t.comparator, t.met)[0]
                                     if r is not None else float("nan")),
                           "latest_value": float(r.anchor_value) if r is not None else None,
                           "latest_year": int(r.anchor_year) if r is not None else None}
                targets.append((t, r, row))
        codes = list(dict.fromkeys(n.indicator for n in sp.indicator_nodes()))
        meta = {c: store.indicator(c) for c in codes}
        base = WhatIfBase(unit=code, unit_name=str(u.get("name") or code), index=ix,
                          scenario=sc.name if sc is not None else None, deadline=int(deadline), targets=targets,
                          meta=meta, vintage=vint, seed=seed, n_samples=n_samples,
                          iso2=u.get("iso2") if isinstance(u.get("iso2"), str) else None)
    finally:
        if own:
            store.close()
    with _CACHE_LOCK:
        _CACHE[key] = base
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return base


# --------------------------------------------------------------------------------------------
# one what-if
# --------------------------------------------------------------------------------------------

@dataclass
class WhatIfResult:
    """The answer of :func:`whatif`.

    ``changes``: one row per lever (node, indicator, measure, kind, value, latest value and year, the
    value used in the index, the valid range). ``nodes``: every node of the spec for the unit: score
    and rank before and after, and how many units are ranked. ``targets``: the scenario's indicator
    targets of the unit: P(met) before and after (``p_before``, ``p_after``), the median forecast in
    the deadline year before and after, and whether a lever moved it.
    """

    unit: str
    unit_name: str
    spec: str
    year: int
    deadline: int
    scenario: str | None
    vintage: int | None
    weights: dict
    changes: pd.DataFrame
    nodes: pd.DataFrame
    targets: pd.DataFrame
    n_ranked: int
    notes: list = field(default_factory=list)

    @property
    def score_before(self) -> float:
        return float(self.nodes.set_index("node").loc[self.spec, "score_before"])

    @property
    def score_after(self) -> float:
        return float(self.nodes.set_index("node").loc[self.spec, "score_after"])

    @property
    def rank_before(self) -> float:
        return float(self.nodes.set_index("node").loc[self.spec, "rank_before"])

    @property
    def rank_after(self) -> float:
        return float(self.nodes.set_index("node").loc[self.spec, "rank_after"])

    def p(self, target: str, when: str = "after") -> float:
        """P(met) of a target (``when``: ``before`` or ``after``)."""
        t = self.targets.set_index("target")
        if target not in t.index:
            raise NotFoundError(f"no target '{target}' for {self.unit}", field="target", value=target)
        return float(t.loc[target, f"p_{when}"])

    def to_dict(self) -> dict[str, Any]:
        from .targets import json_records

        return {"ok": True, "unit": self.unit, "unit_name": self.unit_name, "spec": self.spec, "year": self.year,
                "deadline": self.deadline, "scenario": self.scenario, "vintage": self.vintage,
                "weights": dict(self.weights),
                "index": {"score_before": _f(self.score_before), "score_after": _f(self.score_after),
                          "rank_before": _f(self.rank_before), "rank_after": _f(self.rank_after),
                          "n_ranked": int(self.n_ranked)},
                "changes": json_records(self.changes), "nodes": json_records(self.nodes),
                "targets": json_records(self.targets), "notes": list(self.notes)}


def _f(x) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _bounds(meta: dict) -> tuple[float, float]:
    lo, hi = meta.get("min_value"), meta.get("max_value")
    lo = -np.inf if lo is None or pd.isna(lo) else float(lo)
    hi = np.inf if hi is None or pd.isna(hi) else float(hi)
    return lo, hi


def _range_text(lo: float, hi: float) -> str:
    if np.isfinite(lo) and np.isfinite(hi):
        return f"between {lo:g} and {hi:g}"
    return f"at least {lo:g}" if np.isfinite(lo) else f"at most {hi:g}" if np.isfinite(hi) else "a number"


def moved(x, a: float, v, lo: float, hi: float):
    """Draws ``x`` of an indicator moved as its latest value moves from ``a`` to ``v``.

    Towards a finite bound the change is a share of the distance to it: raising 91.6 % to 99 % closes 88 %
    of the gap to 100, so every draw closes 88 % of its own gap (``hi - (hi - x) (hi - v) / (hi - a)``);
    ``a`` maps to ``v``, the order of the draws and the valid range are kept, and a series near its
    ceiling is not pushed through it. Without a bound in that direction the change is added. ``v`` may be
    an array (one value per year, broadcast against ``x``'s last axis).
    """
    x = np.asarray(x, dtype=float)
    v = np.broadcast_to(np.asarray(v, dtype=float), x.shape[-1:])
    out = x + (v - a)
    up = (v > a) & np.isfinite(hi) & (hi > a)
    down = (v < a) & np.isfinite(lo) & (lo < a)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(up, hi - (hi - x) * (hi - v) / (hi - a), out)
        out = np.where(down, lo + (x - lo) * (v - lo) / (a - lo), out)
    return np.clip(out, lo, hi)


def _shifted(r, v_of_year, lo: float, hi: float, new_anchor: float | None):
    """The forecast ``r`` with every draw (and the point and quantiles) moved as its anchor moves to
    ``v_of_year(years)`` (see :func:`moved`)."""
    yrs = np.asarray(r.years, dtype=float)
    v = np.asarray(v_of_year(yrs), dtype=float)
    a = float(r.anchor_value)
    q = r.quantiles.copy()
    q.loc[:, :] = moved(q.to_numpy(float).T, a, v, lo, hi).T
    return dataclasses.replace(r, samples=moved(r.samples, a, v, lo, hi), point=moved(r.point, a, v, lo, hi),
                               quantiles=q, anchor_value=(r.anchor_value if new_anchor is None else new_anchor))


def _median_at(r, year: int) -> float:
    if r is None:
        return float("nan")
    yrs = np.asarray(r.years)
    if year in yrs:
        return float(np.median(r.samples[:, int(np.searchsorted(yrs, year))]))
    return float(r.anchor_value) if year <= r.anchor_year else float("nan")


def whatif(unit: str, changes: Mapping[str, Any] | list[str] | None = None, *, weights: Mapping[str, Any] | None = None,
           spec: str = "digital-nation", scenario: str | None = None, store=None, seed: int = 0,
           n_samples: int = 2000, base: WhatIfBase | None = None) -> WhatIfResult:
    """Scores, ranks and P(target) for ``unit`` with its indicators changed (see the module docstring).

    Parameters
    ----------
    unit : str  a country (ISO3)
    changes : mapping or list of "key=value"
        ``{"coverage_4g": 99, "fixed_broadband": "+2/yr"}``; keys are node codes of ``spec`` or store
        indicator codes.
    weights : mapping, optional  node code -> weight (``{"connectivity": 2}``)
    spec : str  the index spec (default ``digital-nation``)
    scenario : str, optional  default :data:`DEFAULT_SCENARIO` when it has targets for the unit
    store, seed, n_samples : as :func:`digimeter.targets.evaluate`
    base : WhatIfBase, optional  a prepared base (default: :func:`prepare`, cached)

    Raises
    ------
    DataError : a change that is not a number, names no indicator of the spec, or leaves the indicator's
        valid range (the error names the field ``changes.<key>``).
    SpecError : a weight on an unknown node or negative (field ``weights.<node>``).
    """
    b = base or prepare(unit, spec=spec, scenario=scenario, store=store, seed=seed, n_samples=n_samples)
    ix0 = b.index
    sp = ix0.spec
    chs = parse_changes(changes, sp)
    ixw = b.weighted(weights)
    u = b.unit
    rows, values = _resolve_changes(b, chs)
    ix1 = _changed_index(ixw, ix0.panel, values, u) if values else ixw
    nodes = _node_table(sp, ix0, ix1, u, chs)
    targets = _target_table(b, chs, sp)
    notes = [f"the rest of the world as in the {sp.name} {sp.year} build (data vintage {b.vintage})"]
    if any(c.kind == "per_year" for c in chs):
        notes.append(f"per-year changes: the index uses the value the lever reaches by {b.deadline} "
                     "(latest + change x years); each year's forecast draws move as the latest value would")
    if b.scenario is None:
        notes.append("no scenario with targets for this unit: no P(target)")
    return WhatIfResult(unit=u, unit_name=b.unit_name, spec=sp.name, year=int(sp.year), deadline=b.deadline,
                        scenario=b.scenario, vintage=b.vintage, weights=dict(weights or {}),
                        changes=pd.DataFrame(rows, columns=["node", "indicator", "name", "measure", "source", "kind",
                                                            "value", "latest", "latest_year", "used", "valid_min",
                                                            "valid_max"]),
                        nodes=nodes, targets=targets, n_ranked=int(ix1.ranks[sp.name].notna().sum()), notes=notes)


def _resolve_changes(b: "WhatIfBase", chs: list) -> tuple[list[dict], dict[str, float]]:
    """Each change as the value the index uses, checked against the indicator's valid range; one
    :class:`DataError` naming every field out of range."""
    u, sp, panel = b.unit, b.index.spec, b.index.panel
    problems, rows, values = [], [], {}
    for c in chs:
        m = b.meta[c.indicator]
        lo, hi = _bounds(m)
        latest = float(panel.values.loc[u, c.indicator]) if u in panel.values.index else float("nan")
        ly = panel.years.loc[u, c.indicator] if u in panel.years.index else np.nan
        ly = int(ly) if pd.notna(ly) else None
        fld = f"changes.{c.node}"
        if c.kind == "set":
            used = c.value
            if not (lo <= used <= hi):
                problems.append(Problem(f"{c.node} ({c.indicator}) = {c.value:g} is outside its valid range "
                                        f"[{lo:g}, {hi:g}] ({m.get('unit') or ''})".replace(" ()", ""),
                                        field=fld, value=c.value, fix=f"give a value {_range_text(lo, hi)}"))
                continue
        else:
            if not np.isfinite(latest) or ly is None:
                problems.append(Problem(f"{c.node}: {u} has no latest value to add to per year", field=fld,
                                        value=c.value, fix="give an absolute value instead"))
                continue
            years = max(b.deadline - ly, 0)
            used = latest + c.value * years
            if not (lo <= used <= hi):
                problems.append(Problem(f"{c.node} ({c.indicator}): {latest:g} {c.value:+g}/yr for {years} years "
                                        f"reaches {used:g} by {b.deadline}, outside its valid range [{lo:g}, {hi:g}]",
                                        field=fld, value=c.value,
                                        fix=f"a change per year that keeps it {_range_text(lo, hi)}"))
                continue
        values[c.indicator] = used
        rows.append({"node": c.node, "indicator": c.indicator, "name": sp.nodes()[c.node].name or c.node,
                     "measure": m.get("unit"), "source": m.get("source"), "kind": c.kind, "value": c.value,
                     "latest": latest, "latest_year": ly, "used": used,
                     "valid_min": lo if np.isfinite(lo) else None, "valid_max": hi if np.isfinite(hi) else None})
    if problems:
        raise DataError(problems[0].message if len(problems) == 1 else
                        f"what-if change(s) out of range ({len(problems)} problem(s))", problems=problems)
    return rows, values


def _changed_index(ixw, panel, values: dict[str, float], u: str):
    """The index with the unit's values changed in ``panel``, the rest of the world as it is."""
    from .build import compute
    from .panel import Panel

    vals = panel.values.copy()
    yrs = panel.years.copy()
    ori = panel.origins.copy()
    for ind, v in values.items():
        vals.loc[u, ind] = v
        ori.loc[u, ind] = "what-if"
    p2 = Panel(values=vals, years=yrs, origins=ori, year=panel.year, window=panel.window,
               vintage=panel.vintage, notes=list(panel.notes))
    prm = ixw.params
    ix1 = compute(ixw.spec, p2, unit_meta=prm.get("unit_meta"), directions=prm.get("directions"),
                  history=prm.get("history"), fixed=prm.get("fixed"))
    return ix1


def _node_table(sp, ix0, ix1, u: str, chs: list) -> pd.DataFrame:
    """Score and rank of every node before and after."""
    meta = sp.meta()
    n_rows = []
    for r in meta.itertuples(index=False):
        n_rows.append({"node": r.code, "name": r.name, "depth": int(r.depth), "parent": r.parent,
                       "score_before": float(ix0.scores[r.code].get(u, np.nan)),
                       "score_after": float(ix1.scores[r.code].get(u, np.nan)),
                       "rank_before": float(ix0.ranks[r.code].get(u, np.nan)),
                       "rank_after": float(ix1.ranks[r.code].get(u, np.nan))})
    nodes = pd.DataFrame(n_rows)
    nodes["changed"] = nodes.node.isin([c.node for c in chs])
    return nodes


def _target_table(b: "WhatIfBase", chs: list, sp) -> pd.DataFrame:
    """P(target) before and after: the target's forecast shifted by the change."""
    from .targets import p_met_of

    by_ind = {c.indicator: c for c in chs}
    t_rows = []
    for t, r, row in b.targets:
        ind = row.get("measure") or t.indicator
        c = by_ind.get(ind)
        thr = float(t.threshold)
        p0 = float(row.get("p_met", np.nan))
        p1, r1 = p0, r
        if c is not None and r is not None:
            lo, hi = _bounds(b.meta[ind])
            a = float(r.anchor_value)
            if c.kind == "set":
                r1 = _shifted(r, lambda y, v=c.value: np.full_like(y, v), lo, hi, c.value)
            else:
                ay = float(r.anchor_year)
                r1 = _shifted(r, lambda y, ay=ay, k=c.value, a=a: np.clip(a + k * np.maximum(y - ay, 0.0), lo, hi),
                              lo, hi, None)
            p1 = float(p_met_of(r1, thr, t.deadline, t.comparator, t.met)[0])
        t_rows.append({"target": t.id, "name": t.name, "indicator": ind,
                       "node": next((n.code for n in sp.indicator_nodes() if n.indicator == ind), None),
                       "comparator": t.comparator, "threshold": thr, "deadline": int(t.deadline), "met": t.met,
                       "latest": row.get("latest_value"), "latest_year": row.get("latest_year"),
                       "p_before": p0, "p_after": p1, "median_before": _median_at(r, int(t.deadline)),
                       "median_after": _median_at(r1, int(t.deadline)), "changed": c is not None,
                       "status_before": row.get("status"), "source": t.source})
    targets = pd.DataFrame(t_rows, columns=["target", "name", "indicator", "node", "comparator", "threshold",
                                            "deadline", "met", "latest", "latest_year", "p_before", "p_after",
                                            "median_before", "median_after", "changed", "status_before", "source"])
    return targets
