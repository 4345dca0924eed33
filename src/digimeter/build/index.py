"""The result of a build: :class:`Index` (stages, fitted parameters, scores, ranks; rebuilt exactly by
``Index.rebuild()``, or with changed settings by ``Index.variant(**changes)``) and its statistical audit
(:class:`Audit`, :func:`audit_index`).

The builder sits above this module (:mod:`digimeter.build.pipeline` makes an Index, :mod:`digimeter.build.core`
reads the store); ``rebuild`` and ``variant`` call back into it on use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..errors import NotFoundError
from ..panel import Panel
from ..spec import IndexSpec
from ..store import Store

__all__ = ["Audit", "Index", "audit_index"]


#: How an index rebuilds itself. The builder sits above the index (digimeter.build.core imports this
#: module), so it installs its functions here with :func:`install_builder` instead of this module
#: importing it: the dependency goes one way.
_BUILDER: dict[str, Callable[..., "Index"]] = {}


def install_builder(*, rebuild: Callable[..., "Index"], variant: Callable[..., "Index"]) -> None:
    """Called once by :mod:`digimeter.build.core`: ``rebuild(ix)`` and ``variant(ix, changes, store=, **kw)``."""
    _BUILDER.update(rebuild=rebuild, variant=variant)


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

    def ranked_code(self, unit: str) -> str:
        """The unit's code (case-insensitive); NotFoundError saying why when the index does not rank it
        (outside the spec's units, or excluded, e.g. for data availability)."""
        code = unit.upper() if unit.upper() in self.scores.index else unit
        if code not in self.scores.index or pd.isna(self.score.get(code)):
            why = (self.excluded.reason.get(code) if code in self.excluded.index else "not among the spec's units")
            raise NotFoundError(f"{unit} is not ranked in {self.name} {self.year}: {why}", field="unit", value=unit,
                                fix="choose a unit the spec ranks (digimeter build SPEC lists them)")
        return code

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
        return _BUILDER["rebuild"](self)

    def variant(self, changes: dict[str, Any] | None = None, *, store: Store | None = None,
                **kw: Any) -> "Index":
        """Rebuild with settings changed by address, e.g. ``variant({"aggregate.method": "geometric"})``.

        Changing ``year``, ``year_window``, ``units``, denominators or the tree's indicators needs the store
        (passed, or the default one). Parameters fixed from a reference year (:func:`build_panel`) are kept
        as long as the ``normalise`` stage is unchanged.
        """
        return _BUILDER["variant"](self, changes, store=store, **kw)

    def audit(self, *, removal_levels: tuple[int, ...] | None = None, top: int = 5,
              high: float = 0.9, low: float = -0.4, method: str = "pearson") -> "Audit":
        """Statistical audit: correlations and flags, Cronbach's alpha, PCA, removal effect, strengths.

        See :func:`audit_index`.
        """
        return audit_index(self, removal_levels=removal_levels, top=top, high=high, low=low, method=method)


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
