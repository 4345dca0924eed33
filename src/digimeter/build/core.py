"""build(spec, store) -> Index: the store's values for a spec, then the pipeline
(:func:`digimeter.build.pipeline.compute`: screen -> impute -> treat -> normalise -> aggregate).

:func:`build` (one year; a spec over regions goes to :func:`digimeter.build.regional.regional_index`),
:func:`build_panel` (one index per year, optionally normalised on a reference year) and :func:`panel_scores`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..errors import SpecError
from ..panel import make_panel, select_units
from ..spec import IndexSpec, load_spec, node_directions
from ..store import Store, open_store
from .index import Index, install_builder
from .pipeline import compute, finish
from .regional import regional_index

__all__ = ["build", "build_panel", "panel_scores", "store_codes"]


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
        panel = make_panel(store, store_codes(spec), spec.year, window=spec.year_window,
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


def store_codes(spec: IndexSpec) -> list[str]:
    """Store indicators a build needs: the tree's indicators, then the denominators."""
    codes = [n.indicator for n in spec.indicator_nodes()]
    codes += [d for d, _ in spec.denominators().values()]
    return list(dict.fromkeys(codes))


def _fetch_history(spec: IndexSpec, store: Store, units: list[str],
                   as_of_vintage: int | None) -> pd.DataFrame | None:
    """Long rows of every year of the spec's indicators (for ``impute.method: panel``), else None."""
    if spec.impute.get("method") != "panel":
        return None
    obs = store.observations(indicators=store_codes(spec), units=units, as_of_vintage=as_of_vintage)
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


def rebuild(ix: Index) -> Index:
    """Rebuild an index from its panel, spec and kept parameters: equal to it, bit for bit."""
    return compute(ix.spec, ix.panel, unit_meta=ix.params.get("unit_meta"),
                   directions=ix.params.get("directions"), history=ix.params.get("history"),
                   fixed=ix.params.get("fixed"))


def variant(ix: Index, changes: dict[str, Any] | None = None, *, store: Store | None = None, **kw: Any) -> Index:
    """``ix`` rebuilt with settings changed by address (see :meth:`Index.variant`)."""
    spec = ix.spec.with_changes(changes, **kw)
    needs_history = spec.impute.get("method") == "panel" and ix.params.get("history") is None
    same_data = (spec.year == ix.spec.year and spec.year_window == ix.spec.year_window
                 and spec.units == ix.spec.units and not needs_history
                 and set(store_codes(spec)) <= set(ix.panel.values.columns))
    if same_data and same_until_normalised(spec, ix.spec):
        params = {k: v for k, v in ix.params.items()
                  if k not in ("weights", "effective_weights", "weights_pca", "weights_optimised")}
        return finish(spec, spec.meta(), ix.panel, dict(ix.stages), params, ix.excluded)
    if same_data:
        fixed = ix.params.get("fixed") if spec.normalise == ix.spec.normalise else None
        return compute(spec, ix.panel, unit_meta=ix.params.get("unit_meta"),
                       directions=ix.params.get("directions"), history=ix.params.get("history"), fixed=fixed)
    return build(spec, store)


def same_until_normalised(a: IndexSpec, b: IndexSpec) -> bool:
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


install_builder(rebuild=rebuild, variant=variant)
