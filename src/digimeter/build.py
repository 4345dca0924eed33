"""build(spec, store) -> Index: screen -> impute -> treat -> normalise -> aggregate.

Every stage keeps its matrix and its fitted parameters; the Index keeps the panel it started from,
so ``Index.rebuild()`` reproduces it exactly and ``Index.variant(**changes)`` rebuilds it with a changed
setting (by address: ``normalise.method``, ``aggregate.method``, ``weights.connectivity`` ...).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from . import aggregate as agg
from . import impute as imp
from . import normalise as norm
from . import treat as trt
from .errors import SpecError
from .panel import Panel, make_panel, select_units
from .spec import IndexSpec, load_spec
from .store import Store, open_store


@dataclass
class Index:
    """The result of a build.

    Attributes
    ----------
    spec : IndexSpec
    panel : Panel
        The raw units x indicators matrix the build started from (with the year of each value).
    stages : dict of str to DataFrame
        ``raw`` (indicator columns in spec order, by node code), ``screened``, ``imputed``,
        ``treated``, ``normalised``.
    params : dict
        Fitted parameters per stage (normalisation min/max etc., imputed cells, treatment log).
    scores : DataFrame
        Units x every node (indicator nodes hold normalised values; the root column is the index).
    ranks : DataFrame
        Units x every node; 1 = best; ties share the lowest rank.
    coverage : DataFrame
        Units x aggregate nodes: share of the node's weight with data.
    excluded : DataFrame
        Units screened out, and why.
    fingerprints : dict
        SHA-256 of the spec, the panel, and the software version.
    """

    spec: IndexSpec
    panel: Panel
    stages: dict[str, pd.DataFrame]
    params: dict[str, Any]
    scores: pd.DataFrame
    ranks: pd.DataFrame
    coverage: pd.DataFrame
    excluded: pd.DataFrame
    fingerprints: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def year(self) -> int:
        return self.spec.year

    @property
    def score(self) -> pd.Series:
        """The index score of each unit."""
        return self.scores[self.spec.name]

    @property
    def rank(self) -> pd.Series:
        return self.ranks[self.spec.name]

    def meta(self) -> pd.DataFrame:
        return self.spec.meta()

    def to_long(self) -> pd.DataFrame:
        """Long rows ``unit, node, score, rank`` for every unit and node (root first)."""
        order = [self.spec.name] + [c for c in self.meta().code if c != self.spec.name]
        s = self.scores[order].stack(future_stack=True).rename("score")
        r = self.ranks[order].stack(future_stack=True).rename("rank")
        out = pd.concat([s, r], axis=1).reset_index()
        out.columns = ["unit", "node", "score", "rank"]
        out["rank"] = out["rank"].astype("Int64")
        return out

    def table(self, level: str | None = None) -> pd.DataFrame:
        """Units with the index score and rank and each pillar's score, sorted by rank."""
        m = self.meta()
        top = m.code[m.depth == 1].tolist()
        cols = [self.spec.name] + top
        t = self.scores[cols].copy()
        t.insert(0, "rank", self.rank.astype("Int64"))
        return t.sort_values(["rank", self.spec.name], ascending=[True, False])

    def rebuild(self) -> "Index":
        """Rebuild from the same panel and spec: equal to this index, bit for bit."""
        return compute(self.spec, self.panel, unit_meta=self.params.get("unit_meta"))

    def variant(self, changes: dict[str, Any] | None = None, *, store: Store | None = None,
                **kw: Any) -> "Index":
        """Rebuild with settings changed by address, e.g. ``variant({"aggregate.method": "geometric"})``.

        Changing ``year``, ``year_window``, ``units`` or the tree's indicators needs the store
        (passed, or the default one).
        """
        spec = self.spec.with_changes(changes, **kw)
        same_data = (spec.year == self.spec.year and spec.year_window == self.spec.year_window
                     and spec.units == self.spec.units
                     and [n.indicator for n in spec.indicator_nodes()] == [n.indicator for n in self.spec.indicator_nodes()])
        if same_data:
            return compute(spec, self.panel, unit_meta=self.params.get("unit_meta"))
        return build(spec, store)


def _rank_desc(values: np.ndarray) -> np.ndarray:
    """Ranks, 1 = highest; ties share the lowest rank ('min'); NaN stays NaN. Works per column."""
    return pd.DataFrame(values).rank(ascending=False, method="min").to_numpy()


def build(spec: IndexSpec | str, store: Store | None = None, *, year: int | None = None,
          changes: dict[str, Any] | None = None, as_of_vintage: int | None = None) -> Index:
    """Build an index from the store.

    Parameters
    ----------
    spec : IndexSpec or str
        A spec or the name/path of one (see :func:`digimeter.spec.load_spec`).
    store : Store, optional
        Default: the user's store (created from the bundled snapshot on first use).
    year : int, optional
        Overrides ``spec.year``.
    changes : dict, optional
        Settings changed by address (``{"normalise.method": "zscore"}``), as ``--set`` on the CLI.
    as_of_vintage : int, optional
        Build from the data as they were at that vintage.
    """
    spec = load_spec(spec) if not isinstance(spec, IndexSpec) else spec
    if year is not None:
        changes = dict(changes or {}, year=year)
    if changes:
        spec = spec.with_changes(changes)
    own = store is None
    store = store or open_store()
    try:
        _check_indicators(spec, store)
        units = select_units(store, spec.units)
        codes = [n.indicator for n in spec.indicator_nodes()]
        panel = make_panel(store, list(dict.fromkeys(codes)), spec.year, window=spec.year_window,
                           units=units, as_of_vintage=as_of_vintage)
        umeta = store.units().set_index("code").reindex(units)
        ind_meta = {c: store.indicator(c) for c in set(codes)}
    finally:
        if own:
            store.close()
    if panel.values.notna().sum().sum() == 0:
        raise SpecError(f"spec '{spec.name}': no data at all for {spec.year} "
                        f"(year_window {spec.year_window})", field="year",
                        fix="choose a year with data (see `digimeter data show INDICATOR`) or widen year_window")
    empty = [n.code for n in spec.indicator_nodes() if panel.values[n.indicator].isna().all()]
    if empty:
        latest = {}
        for n in spec.indicator_nodes():
            if n.code in empty:
                latest[n.code] = n.indicator
        raise SpecError(
            f"spec '{spec.name}': indicator(s) with no data for {spec.year} within "
            f"year_window {spec.year_window}: {', '.join(empty)}", field="year_window",
            fix="set a wider year_window, choose another year, or drop the indicator")
    unit_meta = umeta[["name", "un_region", "wb_region", "income_group"]].copy()
    directions = {n.code: (n.direction if n.direction is not None
                           else (1 if ind_meta[n.indicator]["higher_is_better"] else -1))
                  for n in spec.indicator_nodes()}
    return compute(spec, panel, unit_meta=unit_meta, directions=directions)


def _check_indicators(spec: IndexSpec, store: Store) -> None:
    from .errors import NotFoundError, Problem

    problems = []
    parents = {n.code: p for n, _, p in spec.walk()}
    for n in spec.indicator_nodes():
        try:
            store.indicator(n.indicator)
        except NotFoundError as e:
            p = e.problems[0] if e.problems else None
            problems.append(Problem(f"indicator '{n.indicator}' of node '{n.code}' (in '{parents[n.code]}') "
                                    "is not in the store", field=f"{n.code}.indicator", value=n.indicator,
                                    fix=p.fix if p else None))
    if problems:
        raise SpecError(f"spec '{spec.name}': unknown indicator(s)", problems=problems)


def compute(spec: IndexSpec, panel: Panel, *, unit_meta: pd.DataFrame | None = None,
            directions: dict[str, int] | None = None) -> Index:
    """The pure part of a build: from a panel to every stage, score and rank."""
    meta = spec.meta()
    ind_nodes = spec.indicator_nodes()
    icodes = [n.code for n in ind_nodes]
    if directions is None:
        directions = {n.code: (n.direction or 1) for n in ind_nodes}
    dirs = np.array([directions[c] for c in icodes], dtype=float)
    raw = pd.DataFrame({n.code: panel.values[n.indicator].to_numpy(dtype=float) for n in ind_nodes},
                       index=panel.values.index)
    raw.columns.name = "node"
    stages: dict[str, pd.DataFrame] = {"raw": raw}
    params: dict[str, Any] = {"directions": directions, "unit_meta": unit_meta}

    # -- screen: drop units with too little data ------------------------------------------------
    scr = dict(spec.screen)
    min_av = float(scr.pop("min_availability", 0.0))
    force_in = set(scr.pop("force_include", []) or [])
    force_out = set(scr.pop("force_exclude", []) or [])
    if scr:
        raise SpecError(f"screen: unknown option(s) {', '.join(scr)}", field="screen",
                        fix="use min_availability, force_include, force_exclude")
    avail = raw.notna().mean(axis=1)
    keep = ((avail >= min_av) & (avail > 0)) | raw.index.isin(force_in)
    keep &= ~raw.index.isin(force_out)
    why = np.where(raw.index.isin(force_out), "forced out",
                   np.where(avail == 0, "no data", f"data availability below {min_av:.0%}"))
    excluded = pd.DataFrame({"availability": avail[~keep], "reason": why[~keep.to_numpy()]})
    x = raw[keep]
    stages["screened"] = x

    # -- impute ------------------------------------------------------------------------------
    im = dict(spec.impute)
    method = im.pop("method")
    group_by = im.pop("group_by", None)
    if group_by:
        if unit_meta is None or group_by not in unit_meta:
            raise SpecError(f"impute.group_by '{group_by}' is not a unit attribute", field="impute.group_by",
                            fix="use un_region, wb_region or income_group")
        im["groups"] = unit_meta.reindex(x.index)[group_by].fillna("(none)").to_numpy()
    x_imp, mask = imp.impute(x, method, **im)
    stages["imputed"] = x_imp
    params["imputed"] = imp.imputation_report(x_imp, mask, method=method) if mask.to_numpy().any() else \
        pd.DataFrame(columns=["unit", "indicator", "value", "method"])

    # -- treat ---------------------------------------------------------------------------------
    tr = dict(spec.treat)
    tmethod = tr.pop("method")
    if tmethod == "none":
        x_tr, tlog = x_imp.copy(), None
    elif tmethod in ("coinr", "winsorise"):
        x_tr, tlog = trt.treat(x_imp, **tr)
    else:
        raise SpecError(f"unknown treatment method {tmethod!r}", field="treat.method", value=tmethod,
                        fix="use none or coinr (COINr's skew/kurtosis rule with Winsorisation then log)")
    stages["treated"] = x_tr
    params["treat"] = tlog

    # -- normalise (higher is better after flipping, except goalposts which take direction) -------
    nm = dict(spec.normalise)
    nmethod = nm.pop("method")
    arr = x_tr.to_numpy(dtype=float)
    if nmethod == "goalposts":
        lo = meta.set_index("code").loc[icodes, "goalpost_lo"].to_numpy(dtype=float)
        hi = meta.set_index("code").loc[icodes, "goalpost_hi"].to_numpy(dtype=float)
        missing = [c for c, a, b in zip(icodes, lo, hi) if np.isnan(a) or np.isnan(b)]
        if missing:
            raise SpecError("normalise.method is goalposts but some indicators have no goalposts: "
                            + ", ".join(missing), field="goalposts",
                            fix="add `goalposts: [lower, upper]` to each indicator node")
        nm.update(lo=lo, hi=hi, direction=dirs)
        if "range" in nm:
            nm["range"] = tuple(nm["range"])
        y, p = norm.normalise(arr, "goalposts", **nm)
    else:
        if "range" in nm:
            nm["range"] = tuple(nm["range"])
        y, p = norm.normalise(arr * dirs, nmethod, **nm)
    normalised = pd.DataFrame(y, index=x_tr.index, columns=icodes)
    stages["normalised"] = normalised
    params["normalise"] = {k: pd.Series(np.asarray(v).reshape(-1)[:len(icodes)] if np.asarray(v).size >= len(icodes)
                                        else np.repeat(np.asarray(v).reshape(-1), len(icodes)), index=icodes)
                           for k, v in p.items()}

    # -- aggregate, bottom-up ------------------------------------------------------------------
    ag = dict(spec.aggregate)
    amethod = ag.pop("method")
    by_level = {int(k): v for k, v in (ag.pop("by_level", None) or {}).items()}
    min_share = float(ag.pop("min_share", 0.0))
    nodes = spec.nodes()
    scores = normalised.copy()
    coverage = {}
    for level in sorted(set(meta.level[meta.kind == "aggregate"])):
        for _, row in meta[(meta.level == level) & (meta.kind == "aggregate")].iterrows():
            code = row.code
            kids = meta.code[meta.parent == code].tolist()
            w = np.array([spec.weight_of(k) for k in kids], dtype=float)
            node = nodes.get(code)
            method = (node.aggregate if node is not None and node.aggregate else by_level.get(level, amethod))
            xs = scores[kids].to_numpy(dtype=float)
            scores[code] = agg.aggregate(xs, w, method, min_share=min_share, **ag)
            coverage[code] = agg.available_share(xs, w)
    order = meta.code.tolist()
    scores = scores[order]
    ranks = pd.DataFrame(_rank_desc(scores.to_numpy()), index=scores.index, columns=order)
    cov = pd.DataFrame(coverage, index=scores.index)[[c for c in order if c in coverage]]
    fp = {"spec": spec.fingerprint(), "panel": panel.fingerprint(), "digimeter": __version__,
          "data_vintage": str(panel.vintage) if panel.vintage is not None else "current"}
    return Index(spec=spec, panel=panel, stages=stages, params=params, scores=scores, ranks=ranks,
                 coverage=cov, excluded=excluded, fingerprints=fp)
