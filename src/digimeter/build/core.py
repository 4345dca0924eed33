"""build(spec, store) -> Index: screen -> impute -> treat -> normalise -> aggregate.

Every stage keeps its matrix and its fitted parameters; the Index keeps the panel it started from,
so ``Index.rebuild()`` reproduces it exactly and ``Index.variant(**changes)`` rebuilds it with a changed
setting (by address: ``normalise.method``, ``aggregate.method``, ``weights.connectivity`` ...).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from .._util.ranks import rank_desc
from ..stages import aggregate as agg
from ..stages import impute as imp
from ..stages import normalise as norm
from ..stages import treat as trt
from ..stages import tree
from ..errors import SpecError
from ..panel import Panel, make_panel, select_units
from ..spec.plan import Plan, normalise_groups
from ..spec.plan import resolve as resolve_plan
from ..spec import IndexSpec, load_spec, node_directions
from ..store import Store, open_store


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
        """Rebuild from the same panel, spec and kept parameters: equal to this index, bit for bit."""
        return compute(self.spec, self.panel, unit_meta=self.params.get("unit_meta"),
                       directions=self.params.get("directions"), history=self.params.get("history"),
                       fixed=self.params.get("fixed"))

    def variant(self, changes: dict[str, Any] | None = None, *, store: Store | None = None,
                **kw: Any) -> "Index":
        """Rebuild with settings changed by address, e.g. ``variant({"aggregate.method": "geometric"})``.

        Changing ``year``, ``year_window``, ``units``, denominators or the tree's indicators needs the store
        (passed, or the default one). Parameters fixed from a reference year (:func:`build_panel`) are kept
        as long as the ``normalise`` stage is unchanged.
        """
        spec = self.spec.with_changes(changes, **kw)
        needs_history = spec.impute.get("method") == "panel" and self.params.get("history") is None
        same_data = (spec.year == self.spec.year and spec.year_window == self.spec.year_window
                     and spec.units == self.spec.units and not needs_history
                     and set(_store_codes(spec)) <= set(self.panel.values.columns))
        if same_data and _same_until_normalised(spec, self.spec):
            params = {k: v for k, v in self.params.items()
                      if k not in ("weights", "effective_weights", "weights_pca", "weights_optimised")}
            return _finish(spec, spec.meta(), self.panel, dict(self.stages), params, self.excluded)
        if same_data:
            fixed = self.params.get("fixed") if spec.normalise == self.spec.normalise else None
            return compute(spec, self.panel, unit_meta=self.params.get("unit_meta"),
                           directions=self.params.get("directions"), history=self.params.get("history"),
                           fixed=fixed)
        return build(spec, store)

    def audit(self, *, removal_levels: tuple[int, ...] | None = None, top: int = 5,
              high: float = 0.9, low: float = -0.4, method: str = "pearson") -> "Audit":
        """Statistical audit: correlations and flags, Cronbach's alpha, PCA, removal effect, strengths.

        See :func:`audit_index`.
        """
        return audit_index(self, removal_levels=removal_levels, top=top, high=high, low=low, method=method)


def _same_until_normalised(a: IndexSpec, b: IndexSpec) -> bool:
    """True if two specs differ at most in weights and aggregation (so the normalised data are the same)."""
    def strip(spec):
        d = spec.to_dict()
        for k in ("weights", "aggregate", "published", "title", "description", "source"):
            d.pop(k, None)

        def clean(nodes):
            for n in nodes:
                n.pop("weight", None)
                n.pop("aggregate", None)
                clean(n.get("children", []))
        clean(d["tree"])
        return d
    return strip(a) == strip(b) and set(a.nodes()) == set(b.nodes())


def build(spec: IndexSpec | str, store: Store | None = None, *, year: int | None = None,
          changes: dict[str, Any] | None = None, as_of_vintage: int | None = None,
          fixed: dict[str, Any] | None = None) -> Index:
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
    fixed : dict, optional
        Fitted parameters to apply instead of fitting them (``{"normalise": index.params["normalise_fit"]}``),
        as :func:`build_panel` does with a reference year.
    """
    spec = load_spec(spec) if not isinstance(spec, IndexSpec) else spec
    if year is not None:
        changes = dict(changes or {}, year=year)
    if changes:
        spec = spec.with_changes(changes)
    own = store is None
    store = store or open_store()
    kinds = spec.units.kind if isinstance(spec.units.kind, list) else [spec.units.kind]
    if kinds == ["region"] and spec.units.parent and as_of_vintage is None and fixed is None:
        # regions: read every series on the year's regional layout (older layouts converted,
        # population-weighted and marked estimated) so that no region is left out
        from .regional import regional_index

        try:
            _check_indicators(spec, store)
            return regional_index(spec, store).index
        finally:
            if own:
                store.close()
    try:
        _check_indicators(spec, store)
        units = select_units(store, spec.units, spec.year)
        codes = [n.indicator for n in spec.indicator_nodes()]
        panel = make_panel(store, _store_codes(spec), spec.year, window=spec.year_window,
                           units=units, as_of_vintage=as_of_vintage)
        umeta = store.units().set_index("code").reindex(units)
        groups = store.unit_groups(units, wide=True)
        ind_meta = {c: store.indicator(c) for c in set(codes)}
        history = _fetch_history(spec, store, units, as_of_vintage)
    finally:
        if own:
            store.close()
    if panel.values.notna().sum().sum() == 0:
        raise SpecError(f"spec '{spec.name}': no data at all for {spec.year} "
                        f"(year_window {spec.year_window})", field="year",
                        fix="choose a year with data (see `digimeter data show INDICATOR`) or widen year_window")
    empty = [n.code for n in spec.indicator_nodes() if panel.values[n.indicator].isna().all()]
    if history is not None:  # panel imputation may fill a series missing in the year itself
        have = set(history.indicator[history.value.notna()])
        empty = [c for c in empty if spec.nodes()[c].indicator not in have]
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
    # unit groupings kept apart from the units table (groups_<part>.parquet, e.g. COINr's EurAsia_group)
    # serve impute.group_by like a units column; a units column of the same name wins
    extra = [c for c in groups.columns if c not in unit_meta.columns]
    if extra:
        unit_meta = unit_meta.join(groups[extra].reindex(unit_meta.index))
    directions = node_directions(spec, ind_meta)
    return compute(spec, panel, unit_meta=unit_meta, directions=directions, history=history, fixed=fixed)


def build_panel(spec: IndexSpec | str, store: Store | None = None, *, years: list[int] | range,
                normalise: str = "per_year", reference_year: int | None = None,
                changes: dict[str, Any] | None = None, skip_missing: bool = False,
                as_of_vintage: int | None = None) -> dict[int, Index]:
    """Build one index per year over a panel of years.

    Parameters
    ----------
    spec : IndexSpec or str
    store : Store, optional
    years : list of int
    normalise : {"per_year", "reference"}
        ``"per_year"``: each year is normalised on its own data (scores are relative within the
        year, as the UN EGDI). ``"reference"``: the normalisation parameters (min/max, mean/sd,
        reference values ...) are fitted on ``reference_year`` and applied unchanged to every year,
        so that scores compare over time (as DESI's fixed minima and maxima, and COINr's panel
        normalisation). The parameters are kept in each Index (``params["fixed"]``), so every
        year rebuilds exactly.
    reference_year : int, optional
        Default: the last of ``years``.
    changes : dict, optional
        Settings changed by address for every year.
    skip_missing : bool
        Leave out years without data (e.g. between biennial editions) instead of raising.

    Returns
    -------
    dict of int to Index, in year order.

    References
    ----------
    COINr ``Normalise.purse(global = TRUE)`` (``R/normalise.R``), https://github.com/bluefoxr/COINr ;
    OECD/JRC (2008) Handbook on Constructing Composite Indicators, section 5 (normalisation over time),
    https://doi.org/10.1787/9789264043466-en
    """
    if normalise not in ("per_year", "reference"):
        raise SpecError(f"build_panel: normalise must be per_year or reference, not {normalise!r}",
                        field="normalise", value=normalise, fix="use per_year or reference")
    years = sorted(int(y) for y in years)
    if not years:
        raise SpecError("build_panel: no years given", field="years", fix="give years=[2018, 2019, ...]")
    spec = load_spec(spec) if not isinstance(spec, IndexSpec) else spec
    if changes:
        spec = spec.with_changes(changes)
    own = store is None
    store = store or open_store()
    try:
        fixed = None
        out: dict[int, Index] = {}
        if normalise == "reference":
            ref_year = int(reference_year if reference_year is not None else years[-1])
            ref = build(spec, store, year=ref_year, as_of_vintage=as_of_vintage)
            fixed = {"normalise": ref.params["normalise_fit"], "reference_year": ref_year}
            ref = build(spec, store, year=ref_year, as_of_vintage=as_of_vintage, fixed=fixed)
            if ref_year in years:
                out[ref_year] = ref
        for y in years:
            if y in out:
                continue
            try:
                out[y] = build(spec, store, year=y, as_of_vintage=as_of_vintage, fixed=fixed)
            except SpecError as e:
                if skip_missing and "no data" in str(e):
                    continue
                raise
    finally:
        if own:
            store.close()
    return dict(sorted(out.items()))


def panel_scores(indices: dict[int, Index], node: str | None = None) -> pd.DataFrame:
    """Units x years table of one node's scores (default the index) from :func:`build_panel`."""
    cols = {y: ix.scores[node or ix.spec.name] for y, ix in indices.items()}
    return pd.DataFrame(cols)


def _store_codes(spec: IndexSpec) -> list[str]:
    """Store indicators a build needs: the tree's indicators, then the denominators."""
    codes = [n.indicator for n in spec.indicator_nodes()]
    codes += [d for d, _ in spec.denominators().values()]
    return list(dict.fromkeys(codes))


def _fetch_history(spec: IndexSpec, store: Store, units: list[str],
                   as_of_vintage: int | None) -> pd.DataFrame | None:
    """Long rows of every year of the spec's indicators (for ``impute.method: panel``), else None."""
    if spec.impute.get("method") != "panel":
        return None
    obs = store.observations(indicators=_store_codes(spec), units=units, as_of_vintage=as_of_vintage)
    return obs[["unit", "indicator", "year", "value"]].reset_index(drop=True)


def _check_indicators(spec: IndexSpec, store: Store) -> None:
    from ..errors import NotFoundError, Problem

    problems = []
    parents = {n.code: p for n, _, p in spec.walk()}
    for k, (d, _) in spec.denominators().items():
        try:
            store.indicator(d)
        except NotFoundError as e:
            p = e.problems[0] if e.problems else None
            problems.append(Problem(f"denominator '{d}' of node '{k}' is not in the store",
                                    field=f"denominate.{k}", value=d, fix=p.fix if p else None))
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
    out, fits = norm.apply_groups(list(groups), x_tr.to_numpy(dtype=float), dirs, units=list(x_tr.index),
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
    return _finish(spec, spec.meta(), panel, p.stages, p.params, p.excluded)


def _finish(spec: IndexSpec, meta: pd.DataFrame, panel: Panel, stages: dict[str, pd.DataFrame],
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


# ------------------------------------------------------------------------------------------------
# statistical audit
# ------------------------------------------------------------------------------------------------

@dataclass
class Audit:
    """The statistical audit of an index (see :func:`audit_index`); every part is a DataFrame."""

    correlations: pd.DataFrame
    """Long ``level, node1, node2, corr``: pairwise correlations of the nodes of each level."""
    corr_flags: pd.DataFrame
    """``level, group, node1, node2, corr, flag``: collinear (> high) or negative (< low) pairs within a group."""
    corr_parents: pd.DataFrame
    """``code, level, parent, corr_parent, corr_index``: each node against its parent and the index."""
    cronbach: pd.DataFrame
    """``level, group, n_children, n_units, alpha``."""
    pca: pd.DataFrame
    """``level, group, n_children, n_units, var_explained_pc1, n_eigen_above_1, var_explained``."""
    removal: pd.DataFrame
    """``code, level, mean_abs_rank_change, max_abs_rank_change``: effect on index ranks of zeroing a weight."""
    rank_changes: pd.DataFrame
    """Units x removed nodes: nominal rank minus rank without the node (positive = moves up without it)."""
    strengths: pd.DataFrame
    """``unit, kind (strength|weakness), position, code, name, group, rank, value``."""

    def tables(self) -> dict[str, pd.DataFrame]:
        """The audit as named tables (what ``digimeter audit`` prints)."""
        return {"correlations": self.correlations, "flags": self.corr_flags, "parents": self.corr_parents,
                "cronbach": self.cronbach, "pca": self.pca, "removal": self.removal,
                "strengths": self.strengths}


def audit_index(index: Index, *, removal_levels: tuple[int, ...] | None = None, top: int = 5,
                high: float = 0.9, low: float = -0.4, method: str = "pearson",
                units: list[str] | None = None) -> Audit:
    """Statistical audit of a built index, as COINr's analysis functions and the JRC's audits do.

    Parameters
    ----------
    index : Index
    removal_levels : tuple of int, optional
        Levels whose nodes are removed one at a time (weight set to 0 via :meth:`Index.variant`);
        default indicators and pillars (levels 1 and 2, those below the index).
    top : int
        Number of strengths and of weaknesses per unit.
    high, low : float
        Correlation flags within a group: above ``high`` "collinear", below ``low`` "negative".
    method : {"pearson", "spearman", "kendall"}
    units : list of str, optional
        Units whose strengths and weaknesses are reported (default all).

    Returns
    -------
    Audit

    References
    ----------
    OECD/JRC (2008) Handbook on Constructing Composite Indicators, sections 4 and 7,
    https://doi.org/10.1787/9789264043466-en ; COINr ``get_corr``, ``get_corr_flags``, ``get_cronbach``,
    ``get_PCA``, ``remove_elements``, ``get_str_weak``, https://github.com/bluefoxr/COINr ;
    Cronbach (1951) https://doi.org/10.1007/BF02310555 ; Saisana, Saltelli & Tarantola (2005)
    https://doi.org/10.1111/j.1467-985X.2005.00350.x
    """
    from ..stats import audit as aud

    meta = index.meta()
    data = index.scores
    top_level = int(meta.level.max())
    corr_rows, flags, cron, pcas = [], [], [], []
    for lev in range(1, top_level):
        codes = [c for c in meta.code[meta.level == lev] if c in data.columns]
        cm = aud.correlations(data[codes], method=method)
        for i, a in enumerate(codes):
            for b in codes[i + 1:]:
                corr_rows.append({"level": lev, "node1": a, "node2": b, "corr": cm.loc[a, b]})
        f = aud.corr_flags(data, meta, level=lev, high=high, low=low, method=method)
        flags.append(f.assign(level=lev))
        if lev < top_level:
            cron.append(aud.cronbach_by_group(data, meta, level=lev).assign(level=lev))
            p = aud.pca_by_group(data, meta, level=lev).assign(level=lev)
            p["var_explained"] = [None if v is None else " ".join(f"{x:.3f}" for x in v)
                                  for v in p["var_explained"]]
            pcas.append(p)

    def first(df, col="level"):
        return df[[col] + [c for c in df.columns if c != col]]

    corr = pd.DataFrame(corr_rows, columns=["level", "node1", "node2", "corr"])
    flag_df = first(pd.concat(flags, ignore_index=True)) if flags else pd.DataFrame(
        columns=["level", "group", "node1", "node2", "corr", "flag"])
    parents = aud.corr_with_parents(data, meta, method=method)
    cron_df = first(pd.concat(cron, ignore_index=True)) if cron else pd.DataFrame()
    pca_df = first(pd.concat(pcas, ignore_index=True)) if pcas else pd.DataFrame()

    # removal of each node (weight 0), through the builder, as COINr's remove_elements
    levels = removal_levels or tuple(lv for lv in (1, 2) if lv < top_level)
    nominal = index.rank
    changes, rows = {}, []
    for lev in levels:
        for code in meta.code[meta.level == lev]:
            v = index.variant({f"weights.{code}": 0.0})
            ch = nominal - v.rank.reindex(nominal.index)
            changes[code] = ch
            rows.append({"code": code, "level": int(lev), "mean_abs_rank_change": float(ch.abs().mean()),
                         "max_abs_rank_change": float(ch.abs().max())})
    removal = pd.DataFrame(rows, columns=["code", "level", "mean_abs_rank_change", "max_abs_rank_change"])
    rank_changes = pd.DataFrame(changes, index=nominal.index)

    # strengths and weaknesses: ranks of normalised indicators, reported with the raw values
    norm_ = index.stages["normalised"]
    values = index.stages["raw"].reindex(norm_.index)
    sw = []
    for u in (units if units is not None else list(norm_.index)):
        s, w = aud.strengths_weaknesses(norm_, u, top=top, bottom=top, meta=meta, values=values,
                                        report_level=min(2, top_level - 1))
        sw.append(s.assign(unit=u, kind="strength", position=range(1, len(s) + 1)))
        w = w.iloc[::-1]
        sw.append(w.assign(unit=u, kind="weakness", position=range(1, len(w) + 1)))
    cols = ["unit", "kind", "position", "code", "name", "group", "rank", "value"]
    strengths = pd.concat(sw, ignore_index=True)[cols] if sw else pd.DataFrame(columns=cols)
    return Audit(correlations=corr, corr_flags=flag_df, corr_parents=parents, cronbach=cron_df, pca=pca_df,
                 removal=removal, rank_changes=rank_changes, strengths=strengths)
