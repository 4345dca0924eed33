"""Benchmarks and gaps: where a unit stands against the leaders, why, and what it would take.

* :func:`rankings` -- a unit's rank and percentile in every bundled index and ranking (UN EGDI and its
  components, World Bank GTMI and its components, IMD WDCR and its factors, ``digital-nation`` and any
  user spec), with the rank correlation between rankings and what each one measures.
* :func:`peers` -- peer groups (UN subregion / WB region, income group, nearest by GDP per capita PPP,
  a custom list); :func:`frontier` -- distance to the leader, the top-5 mean, the top-25 threshold and
  the peer mean, in score and in each indicator's natural unit.
* :func:`gap` -- the contribution of each pillar and indicator to the score gap between a unit and a
  reference, exact for arithmetic means (effective weight x normalised gap, weights rescaled for
  missing data as the build does) and Shapley values for other aggregations; waterfall-ready.
* :func:`what_it_takes` -- the least (optionally cost-weighted) improvement that lifts a unit to a
  target rank or score under plausible bounds (observed pace from a similar level x years to the
  deadline; the indicator's valid range), solved with :mod:`scipy.optimize` and verified by rebuilding.
* :func:`strengths` -- indicators where a unit is furthest above / below its peers' median.

References
----------
Shapley, L. S. (1953), A value for n-person games, in Contributions to the Theory of Games II,
https://doi.org/10.1515/9781400881970-018 ; Castro, Gomez & Tejada (2009), Polynomial calculation of
the Shapley value based on sampling, https://doi.org/10.1016/j.cor.2008.04.004 ;
OECD/JRC (2008), Handbook on Constructing Composite Indicators, https://doi.org/10.1787/9789264043466-en
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..stages import normalise as norm
from .._util.ranks import rank_desc
from ..stages import tree as tree_eval
from ..errors import DataError, DigimeterError, NotFoundError, SpecError

__all__ = ["RANKINGS", "Rankings", "rankings", "differences", "pillar_extremes", "rank_history", "main_reason",
           "ranking_methods", "THEMES", "peers", "frontier", "gap", "waterfall", "shapley", "what_it_takes",
           "Plan", "pace", "strengths", "percentile_of_rank"]

# --------------------------------------------------------------------------------------------
# published rankings in the store
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A ranking published by someone else, read from the store.

    ``score`` / ``rank`` are store indicator codes; when ``rank`` is None the rank is computed from
    the score (1 = highest, ties share the lowest rank).
    """

    key: str
    name: str
    family: str
    score: str | None
    rank: str | None
    measures: str
    parent: str | None = None
    official_ranks: bool = True   # False: the publisher publishes scores only (ranks are digimeter's)


_EGDI = ("UN DESA, United Nations E-Government Survey (biennial, 193 UN Member States)")
_GTMI = ("World Bank GovTech Dataset (2020, 2022, 2025 editions; about 198 economies; "
         "answers of governments to a survey, checked by the Bank)")
_IMD = ("IMD World Competitiveness Center, World Digital Competitiveness Ranking (about 63-69 economies; "
        "two thirds hard data, one third IMD's Executive Opinion Survey)")

# what a rank in the side-by-side table rests on (``basis``), with its English note ({n}: units ranked)
BASIS_NOTES: dict[str, str] = {
    "press": "rank as quoted in the press; of {n} economies",
    "press_partial": "rank as quoted in the press; partial table",
    "published_among": "as published, among {n} economies",
    "published_incomplete": "as published, among {n} economies; {k} of them in the bundled copy",
    "computed_unofficial": "rank computed by digimeter from the published scores; the publisher publishes no ranks",
    "published": "published rank",
    "computed": "rank computed from the published scores",
    "spec": "built by digimeter",
    "spec_unranked": "built by digimeter",
    "not_built": "not built",
}

RANKINGS: tuple[Published, ...] = (
    Published("egdi", "EGDI", "UN E-Government", "egdi", "egdi_rank",
              "E-government development: mean of online services (OSI), telecom infrastructure (TII) and "
              "human capital (HCI), one third each. " + _EGDI),
    Published("osi", "EGDI: Online Service Index", "UN E-Government", "osi", None,
              "What national government portals offer online (services, participation, openness), "
              "assessed by UN researchers.", parent="egdi"),
    Published("tii", "EGDI: Telecom Infrastructure Index", "UN E-Government", "tii", None,
              "Connectivity from ITU data: internet users, mobile and fixed broadband subscriptions.",
              parent="egdi"),
    Published("hci", "EGDI: Human Capital Index", "UN E-Government", "hci", None,
              "Schooling, not digital skills: adult literacy, enrolment, expected and mean years of "
              "schooling (UNESCO).", parent="egdi"),
    Published("epi", "EGDI: E-Participation Index", "UN E-Government", "epi", None,
              "Online information, consultation and decision-making offered by the government "
              "(not part of the EGDI score).", parent="egdi"),
    Published("gtmi", "GTMI", "World Bank GovTech", "gtmi", None,
              "Digital transformation of the public sector: core government systems, service delivery, "
              "citizen engagement and GovTech enablers, equal weights. " + _GTMI),
    Published("gtmi_cgsi", "GTMI: Core Government Systems", "World Bank GovTech", "gtmi_cgsi", None,
              "Back-office platforms: financial management, tax, customs, HR, interoperability, cloud.",
              parent="gtmi"),
    Published("gtmi_psdi", "GTMI: Public Service Delivery", "World Bank GovTech", "gtmi_psdi", None,
              "Online services and portals as governments report them.", parent="gtmi"),
    Published("gtmi_dcei", "GTMI: Digital Citizen Engagement", "World Bank GovTech", "gtmi_dcei", None,
              "Participation platforms, open data and feedback channels.", parent="gtmi"),
    Published("gtmi_gtei", "GTMI: GovTech Enablers", "World Bank GovTech", "gtmi_gtei", None,
              "Strategy, institutions, laws, digital skills in the public sector, innovation policy.",
              parent="gtmi"),
    Published("imd", "IMD WDCR", "IMD", None, "imd_wdcr_rank",
              "Capacity of an economy to adopt and explore digital technologies: knowledge, technology "
              "and future readiness (business-oriented). " + _IMD),
    Published("imd_knowledge", "IMD: Knowledge", "IMD", None, "imd_knowledge_rank",
              "Talent, training and education, scientific concentration.", parent="imd"),
    Published("imd_technology", "IMD: Technology", "IMD", None, "imd_technology_rank",
              "Regulatory framework, capital (investment, finance), technological framework.",
              parent="imd"),
    Published("imd_future_readiness", "IMD: Future readiness", "IMD", None, "imd_future_readiness_rank",
              "Adaptive attitudes, business agility, IT integration.", parent="imd"),
    Published("imd_talent", "IMD: Talent (sub-factor)", "IMD", None, "imd_talent_rank",
              "Skills and international experience of the workforce.", parent="imd_knowledge"),
    Published("imd_training_education", "IMD: Training & education (sub-factor)", "IMD", None,
              "imd_training_education_rank", "Education spending, pupil-teacher ratios, graduates.",
              parent="imd_knowledge"),
    Published("imd_scientific_concentration", "IMD: Scientific concentration (sub-factor)", "IMD", None,
              "imd_scientific_concentration_rank", "R&D spending and personnel, patents, robots.",
              parent="imd_knowledge"),
    Published("imd_regulatory_framework", "IMD: Regulatory framework (sub-factor)", "IMD", None,
              "imd_regulatory_framework_rank", "Business and technology regulation, contracts, immigration.",
              parent="imd_technology"),
    Published("imd_capital", "IMD: Capital (sub-factor)", "IMD", None, "imd_capital_rank",
              "Investment in telecoms, venture capital, banking and credit.", parent="imd_technology"),
    Published("imd_technological_framework", "IMD: Technological framework (sub-factor)", "IMD", None,
              "imd_technological_framework_rank", "Communications technology, mobile broadband, high-tech exports.",
              parent="imd_technology"),
    Published("idi", "ITU IDI", "ITU", "idi", None,
              "ICT Development Index: universal and meaningful connectivity (internet use, households online, "
              "coverage, traffic, affordability), two pillars of equal weight. ITU, 2023 methodology; "
              "overall scores only in the bundled copy.", official_ranks=False),
    Published("gairi", "GAIRI", "Oxford Insights", "gairi", "gairi_rank",
              "Government AI Readiness Index: whether a government is ready to use AI in public services "
              "(policy, AI infrastructure, governance, public-sector adoption, development, resilience). "
              "Oxford Insights, about 160-195 economies."),
    Published("gairi_policy_capacity", "GAIRI: Policy capacity", "Oxford Insights", "gairi_policy_capacity", None,
              "AI strategy: vision and commitment (2025 framework).", parent="gairi"),
    Published("gairi_ai_infrastructure", "GAIRI: AI infrastructure", "Oxford Insights", "gairi_ai_infrastructure",
              None, "Compute, technical infrastructure, data quality (2025 framework).", parent="gairi"),
    Published("gairi_governance", "GAIRI: Governance", "Oxford Insights", "gairi_governance", None,
              "AI governance principles, regulatory compliance (2025 framework).", parent="gairi"),
    Published("gairi_public_sector_adoption", "GAIRI: Public sector adoption", "Oxford Insights",
              "gairi_public_sector_adoption", None, "Digital policy and e-government delivery (2025 framework).",
              parent="gairi"),
    Published("gairi_development_diffusion", "GAIRI: Development & diffusion", "Oxford Insights",
              "gairi_development_diffusion", None,
              "Human capital, AI sector maturity, technology diffusion (2025 framework).", parent="gairi"),
    Published("gairi_resilience", "GAIRI: Resilience", "Oxford Insights", "gairi_resilience", None,
              "Societal transition, safety and security (2025 framework).", parent="gairi"),
    Published("nri", "NRI", "Portulans Institute", "nri", "nri_rank",
              "Network Readiness Index: technology, people, governance and impact, four pillars of equal "
              "weight (Portulans Institute; 2020 edition only in the bundled data)."),
)


def percentile_of_rank(rank: float, n: float) -> float:
    """Share of the other ranked units a unit is ahead of, in percent: ``100 (n - rank) / (n - 1)``.

    The leader has 100, the last 0 (ties take the shared best rank).
    """
    if rank is None or n is None or pd.isna(rank) or pd.isna(n):
        return float("nan")
    if n <= 1:
        return 100.0
    return 100.0 * (float(n) - float(rank)) / (float(n) - 1.0)


def _rank_desc(s: pd.Series) -> pd.Series:
    """A Series ranked by the one rank function (:func:`digimeter._util.ranks.rank_desc`)."""
    return pd.Series(rank_desc(s.to_numpy(dtype=float)), index=s.index, name=s.name)


_N_ECON = re.compile(r"of\s+(\d+)\s+economies", re.I)


@dataclass
class Rankings:
    """A unit's place in every ranking.

    Attributes
    ----------
    unit : str
    table : DataFrame
        One row per ranking: ``key, ranking, family, year, score, rank, n, percentile, level,
        measures, source, note``.
    ranks : DataFrame
        Units x ranking key: every unit's rank in each ranking's edition shown in ``table``.
    correlations : DataFrame
        Pairs of rankings with ``n_common`` units, Spearman's rho and Kendall's tau (with p-values)
        over the units both rank (pairs with fewer than 10 common units are left out).
    agreement : DataFrame
        The pairs of overall rankings only (``a, b, ranking_a, ranking_b, n_common, spearman``).
    differences : DataFrame
        Why the overall rankings differ, one row each (:func:`differences`).
    pillars : DataFrame
        Each ranking's components that put the unit highest and lowest (:func:`pillar_extremes`).
    history : DataFrame
        The unit's rank in each overall ranking over the years (:func:`rank_history`).
    main_reason : dict
        The highest and the lowest overall published ranking and the main reason they differ
        (:func:`main_reason`).
    """

    unit: str
    table: pd.DataFrame
    ranks: pd.DataFrame
    correlations: pd.DataFrame
    agreement: pd.DataFrame = field(default_factory=pd.DataFrame)
    differences: pd.DataFrame = field(default_factory=pd.DataFrame)
    pillars: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    main_reason: dict = field(default_factory=dict)

    def matrix(self, method: str = "spearman") -> pd.DataFrame:
        """The correlations as a square matrix (``spearman`` or ``kendall``)."""
        c = self.correlations
        keys = list(dict.fromkeys(list(c.a) + list(c.b)))
        m = pd.DataFrame(np.eye(len(keys)), index=keys, columns=keys)
        for r in c.itertuples():
            m.loc[r.a, r.b] = m.loc[r.b, r.a] = getattr(r, method)
        return m


def _choose_year(df: pd.DataFrame, unit: str, year: int | None) -> tuple[int | None, int | None]:
    """The edition to show: the latest year (<= ``year``) with a full table in which the unit is
    ranked, and (if later) the latest partial edition that ranks the unit (press-quoted ranks)."""
    if df.empty:
        return None, None
    counts = df.groupby("year").unit.count()
    if year is not None:
        counts = counts[counts.index <= year]
    has = set(df.year[df.unit == unit])
    full = counts[counts >= 0.5 * counts.max()] if len(counts) else counts
    full_y = max([y for y in full.index if y in has], default=None)
    part_y = max([y for y in counts.index if y in has and y not in full.index], default=None)
    if part_y is not None and full_y is not None and part_y < full_y:
        part_y = None
    return full_y, part_y


def rankings(store, unit: str, year: int | None = None, *, specs: Iterable[Any] | None = None,
             default_specs: Sequence[str] = ("digital-nation",), levels: int = 2) -> Rankings:
    """A unit's rank and percentile in every bundled index and ranking, side by side.

    Parameters
    ----------
    store : Store
    unit : str
        Unit code (``KAZ``).
    year : int, optional
        Show, for each ranking, the latest edition up to this year (default: the latest). Specs are
        built for this year when given.
    specs : iterable of spec names, paths, :class:`~digimeter.spec.IndexSpec` or built ``Index``
        User indices to add (built with :func:`digimeter.build.build`).
    default_specs : sequence of str
        Shipped specs always shown (when shipped); ``()`` for none.
    levels : int, default 2
        1 = the overall rankings only; 2 = with their components; 3 = with IMD sub-factors.

    Returns
    -------
    Rankings
        ``table`` (rank, n ranked, percentile, year, what it measures, ``note`` in English and its
        ``basis``: a key of :data:`BASIS_NOTES`, for translated labels), ``ranks`` (every unit's rank
        per ranking) and ``correlations`` (Spearman / Kendall over common units).

    Notes
    -----
    EGDI ranks are the published ``egdi_rank``; ranks of the EGDI components and of the GTMI are
    computed from the published scores (1 = highest; ties share the best rank); IMD ranks are as
    published, among the economies IMD ranked that year (``n``). Where a later IMD rank is only known
    from press quotes (a handful of economies), it is shown as an extra row with IMD's number of
    economies taken from the quote, and left out of the correlations.
    The percentile is ``100 (n - rank) / (n - 1)``: the share of the other ranked units it is ahead of.
    """
    from ..build import Index, build
    from ..spec import load_spec, shipped_specs

    code = store.unit(unit)["code"]
    depth_of = {}
    for p in RANKINGS:
        d, q = 1, p
        while q.parent is not None:
            d += 1
            q = next(r for r in RANKINGS if r.key == q.parent)
        depth_of[p.key] = d
    origins = store.origins().set_index("origin_id")
    rows, cols = [], {}
    for p in RANKINGS:
        if depth_of[p.key] > max(levels, 2):   # components always, for pillar_extremes; shown up to `levels`
            continue
        ind = p.rank or p.score
        obs = store.observations(indicators=[c for c in (p.score, p.rank) if c])
        if obs.empty:
            continue
        main = obs[obs.indicator == ind]
        fy, py = _choose_year(main, code, year)
        for y, partial in ((fy, False), (py, True)):
            if y is None:
                continue
            o = obs[obs.year == y]
            sc = o[o.indicator == p.score].set_index("unit").value if p.score else None
            if p.rank:
                rk = o[o.indicator == p.rank].set_index("unit").value
            else:
                rk = _rank_desc(sc)
            n = int(rk.notna().sum())
            note = ""
            src = o[o.indicator == ind].set_index("unit").origin_id
            unote = o[(o.indicator == ind) & (o.unit == code)].note
            if partial:
                txt = " ".join(str(t) for t in unote.dropna()) + " " + " ".join(
                    str(origins.note.get(src.get(code), "") or "") for _ in [0])
                m = _N_ECON.search(txt)
                n = int(m.group(1)) if m else n
                basis = "press" if m else "press_partial"
            elif p.family == "IMD":
                basis = "published_among"
            elif p.rank:
                basis = "published"
            else:
                basis = "computed" if p.official_ranks else "computed_unofficial"
            listed = n
            if not partial:
                # the publisher's field when the bundled table lacks some of it ("of 67 economies")
                m = _N_ECON.search(" ".join(str(t) for t in unote.dropna()))
                if m and int(m.group(1)) > n:
                    n, basis = int(m.group(1)), "published_incomplete"
            note = BASIS_NOTES[basis].format(n=n, k=listed)
            r = rk.get(code, np.nan)
            origin = src.get(code)
            org = origins.loc[origin] if origin in origins.index else None
            key = p.key if not partial else f"{p.key}_press"
            rows.append({"key": key, "ranking": p.name + (" (press)" if partial else ""), "family": p.family,
                         "year": int(y), "score": float(sc.get(code, np.nan)) if sc is not None else np.nan,
                         "rank": r, "n": n, "n_listed": listed, "percentile": percentile_of_rank(r, n),
                         "level": depth_of[p.key], "measures": p.measures,
                         "source": (f"{org.publisher}, {org.dataset}, {org.edition}" if org is not None else ""),
                         "note": note, "basis": basis, "origin_id": origin,
                         "trust": _trust(org.note if org is not None else None)})
            if not partial and depth_of[p.key] <= levels:
                cols[key] = rk
    # -- specs --------------------------------------------------------------------------------
    built: dict[str, Any] = {}
    todo: list[Any] = [s for s in default_specs if s in shipped_specs()]
    todo += list(specs or [])
    for s in todo:
        try:
            if isinstance(s, Index):
                ix = s
            else:
                sp = load_spec(s)
                ix = build(sp, store, year=year)
        except DigimeterError as e:
            rows.append({"key": str(s), "ranking": str(s), "family": "spec", "year": year, "score": np.nan,
                         "rank": np.nan, "n": 0, "percentile": np.nan, "level": 1, "measures": "",
                         "source": "", "note": f"not built: {e}", "basis": "not_built"})
            continue
        rk = ix.rank.dropna()
        n = int(len(rk))
        r = rk.get(code, np.nan)
        note, basis = BASIS_NOTES["spec"], "spec"
        if code not in ix.scores.index or pd.isna(r):
            basis = "spec_unranked"
            why = ix.excluded.reason.get(code) if code in ix.excluded.index else "not among the spec's units"
            note += f"; {code} not ranked ({why})"
        rows.append({"key": ix.name, "ranking": ix.spec.title or ix.name, "family": "spec", "year": ix.year,
                     "score": float(ix.score.get(code, np.nan)), "rank": r, "n": n, "n_listed": n,
                     "percentile": percentile_of_rank(r, n), "level": 1,
                     "measures": " ".join((ix.spec.description or "").split()),
                     "source": ix.spec.source or "", "note": note, "basis": basis, "origin_id": None,
                     "trust": "built by digimeter from the bundled data"})
        cols[ix.name] = rk
        built[ix.name] = ix
    full = pd.DataFrame(rows)
    full["rank"] = full["rank"].astype("Int64")
    table = full[full.level <= levels].reset_index(drop=True)
    table.attrs["unit"] = code
    ranks = pd.DataFrame(cols)
    ranks.index.name = "unit"
    corr = _rank_correlations(ranks)
    out = Rankings(unit=code, table=table, ranks=ranks, correlations=corr)
    out.agreement = _agreement(table, corr)
    out.differences = differences(store, table, ranks, built)
    out.pillars = pillar_extremes(full, code, built)
    out.history = rank_history(store, code, upto=year)
    out.main_reason = main_reason(table, out.differences)
    return out


def _rank_correlations(ranks: pd.DataFrame, min_common: int = 10) -> pd.DataFrame:
    from scipy import stats

    out = []
    keys = list(ranks.columns)
    for a, b in combinations(keys, 2):
        both = ranks[[a, b]].dropna()
        if len(both) < min_common:
            continue
        rho, prho = stats.spearmanr(both[a], both[b])
        tau, ptau = stats.kendalltau(both[a], both[b])
        out.append({"a": a, "b": b, "n_common": len(both), "spearman": float(rho), "spearman_p": float(prho),
                    "kendall": float(tau), "kendall_p": float(ptau)})
    return pd.DataFrame(out, columns=["a", "b", "n_common", "spearman", "spearman_p", "kendall", "kendall_p"])


# -- why rankings differ ------------------------------------------------------------------------

THEMES = ("infrastructure", "government", "skills", "economy", "other")
REASONS = ("measures", "coverage", "method", "vintage")
_TRUST = re.compile(r"Trust:\s*(.*)$", re.S)


def _trust(note: Any) -> str:
    """The trust statement of an origin's note (the text after ``Trust:``), or ''."""
    if note is None or (isinstance(note, float) and math.isnan(note)):
        return ""
    m = _TRUST.search(str(note))
    return m.group(1).strip().rstrip(".") if m else ""


def ranking_methods() -> dict:
    """What each published ranking measures and how it is made (``data/rankings.yaml``)."""
    from importlib import resources

    from .._util.yamlsafe import load_yaml

    path = resources.files("digimeter") / "data" / "rankings.yaml"
    return load_yaml(path.read_text(encoding="utf-8"), source=str(path))


def _overall_keys(table: pd.DataFrame) -> list[str]:
    t = table[(table.level == 1) & ~table.key.str.endswith("_press") & (table.basis != "not_built")]
    return t.key.tolist()


def _agreement(table: pd.DataFrame, corr: pd.DataFrame) -> pd.DataFrame:
    keys = _overall_keys(table)
    label = dict(zip(table.key, table.ranking))
    a = corr[corr.a.isin(keys) & corr.b.isin(keys)].copy()
    a.insert(2, "ranking_a", a.a.map(label))
    a.insert(3, "ranking_b", a.b.map(label))
    return a[["a", "b", "ranking_a", "ranking_b", "n_common", "spearman", "spearman_p"]].reset_index(drop=True)


def _spec_shares(ix, themes: dict[str, str]) -> dict[str, float]:
    """Theme shares of a built spec: its top-level pillars' normalised weights."""
    m = ix.meta()
    top = m[m.depth == 1]
    w = top.weight.astype(float)
    w = w / w.sum()
    out = dict.fromkeys(THEMES, 0.0)
    for code, share in zip(top.code, w):
        th = themes.get(code, code if code in THEMES else "other")
        out[th] += float(share)
    return out


def differences(store, table: pd.DataFrame, ranks: pd.DataFrame, built: dict[str, Any] | None = None
                ) -> pd.DataFrame:
    """Why the overall rankings differ, computed: one row per ranking.

    Columns: ``key, ranking, year, n`` (economies ranked), ``high_income_share`` (share of the ranked
    economies the World Bank classes high-income; a field of richer economies gives a middle-income
    country a lower rank for the same standing), ``share_<theme>`` (share of the weight on
    infrastructure, government, skills, economy, other: from ``data/rankings.yaml`` for published
    rankings, from the spec's pillar weights for specs), ``method``, ``survey_share`` (weight resting
    on survey answers, where stated), ``data_first, data_last`` (years of the data behind the edition;
    for a spec, the unit's own data years in the panel), ``lag`` (edition year - ``data_last``),
    ``approx`` and ``sources`` (where the weights and years come from).
    """
    meth = ranking_methods()
    spec_themes = meth.get("spec_themes", {}) or {}
    units = store.units()
    income = units.set_index("code").income_group
    rows = []
    built = built or {}
    for key in _overall_keys(table):
        r = table[table.key == key].iloc[0]
        ranked = ranks[key].dropna().index if key in ranks else pd.Index([])
        inc = income.reindex(ranked)
        hi = float((inc == "High income").sum() / inc.notna().sum()) if inc.notna().any() else float("nan")
        row = {"key": key, "ranking": r.ranking, "year": r.year, "n": int(r.n), "high_income_share": hi}
        if key in meth and key != "spec_themes":
            m = meth[key]
            w, w_source = m["weights"], m["weights_source"]
            for e in sorted(m.get("earlier") or [], key=lambda e: e["until"]):
                if int(r.year) <= int(e["until"]):
                    w, w_source = e["weights"], e["weights_source"]
                    break
            shares = dict.fromkeys(THEMES, 0.0)
            for part in w:
                shares[part["theme"]] += float(part["weight"])
            row.update({f"share_{t}": round(v, 4) for t, v in shares.items()})
            first, last = m["data_years"]
            row.update({"method": m["method"], "survey_share": m.get("survey_share"),
                        "data_first": int(first), "data_last": int(last), "approx": bool(m.get("approx", False)),
                        "sources": f"weights: {w_source}; data years: {m['data_years_source']}"})
            if int(m.get("edition", r.year)) != int(r.year):
                row["sources"] += f" (method of the {m['edition']} edition; shown edition {r.year})"
        elif key in built:
            ix = built[key]
            row.update({f"share_{t}": round(v, 4) for t, v in _spec_shares(ix, spec_themes.get(key, {})).items()})
            yrs = ix.panel.years.loc[table.attrs.get("unit")] if table.attrs.get("unit") in ix.panel.years.index \
                else ix.panel.years.stack()
            yrs = pd.Series(np.asarray(yrs, dtype=float)).dropna()
            row.update({"method": "statistical (built by digimeter from official series and published sub-indices)",
                        "survey_share": None,
                        "data_first": int(yrs.min()) if len(yrs) else None,
                        "data_last": int(yrs.max()) if len(yrs) else None, "approx": False,
                        "sources": "weights: the spec's pillar weights; data years: the unit's values in the panel"})
        else:
            continue
        row["lag"] = int(r.year) - row["data_last"] if row.get("data_last") is not None else None
        rows.append(row)
    cols = (["key", "ranking", "year", "n", "high_income_share"] + [f"share_{t}" for t in THEMES]
            + ["method", "survey_share", "data_first", "data_last", "lag", "approx", "sources"])
    return pd.DataFrame(rows, columns=cols)


def _parent_of(key: str) -> str | None:
    return next((p.parent for p in RANKINGS if p.key == key), None)


def pillar_extremes(table: pd.DataFrame, unit: str, built: dict[str, Any] | None = None) -> pd.DataFrame:
    """For each ranking with components, the component that puts the unit highest and lowest.

    Compared by percentile (100 = first), so components of different sizes compare. Published
    components are those of :data:`RANKINGS` (their edition may be older than the overall rank's:
    ``parts_year``); a spec's components are its top-level pillars.
    """
    rows = []
    t = table[table["rank"].notna() & ~table.key.str.endswith("_press")]
    for key in _overall_keys(table):
        parts = []
        kids = t[t.key.map(_parent_of) == key]
        for k in kids.itertuples():
            parts.append((k.ranking, int(k.rank), int(k.n), float(k.percentile), int(k.year)))
        if not parts and built and key in built:
            ix = built[key]
            m = ix.meta()
            for code, name in zip(m.code[m.depth == 1], m.name[m.depth == 1]):
                rk = ix.ranks[code].dropna()
                if unit in rk.index:
                    parts.append((name, int(rk[unit]), len(rk), percentile_of_rank(rk[unit], len(rk)), ix.year))
        if len(parts) < 2:
            continue
        parts.sort(key=lambda x: -x[3])
        hi, lo = parts[0], parts[-1]
        rows.append({"key": key, "ranking": t.ranking[t.key == key].iloc[0] if (t.key == key).any() else key,
                     "parts_year": max(x[4] for x in parts), "n_parts": len(parts),
                     "highest": hi[0], "highest_rank": hi[1], "highest_n": hi[2], "highest_percentile": hi[3],
                     "lowest": lo[0], "lowest_rank": lo[1], "lowest_n": lo[2], "lowest_percentile": lo[3]})
    return pd.DataFrame(rows, columns=["key", "ranking", "parts_year", "n_parts", "highest", "highest_rank",
                                       "highest_n", "highest_percentile", "lowest", "lowest_rank", "lowest_n",
                                       "lowest_percentile"])


def rank_history(store, unit: str, upto: int | None = None) -> pd.DataFrame:
    """A unit's rank in each overall published ranking, every edition in the store.

    Columns ``key, ranking, year, rank, n, n_listed, percentile, complete, origin_id``: ``n`` is the
    number of economies the publisher ranked that year (from the observation's "of N economies" note
    when the bundled table is incomplete, else the number ranked in the store); ``complete`` is False for
    editions known only from a partial table or press quotes.
    """
    code = store.unit(unit)["code"]
    rows = []
    for p in RANKINGS:
        if p.parent is not None:
            continue
        ind = p.rank or p.score
        obs = store.observations(indicators=ind)
        if obs.empty:
            continue
        counts = obs.groupby("year").unit.count()
        for y, g in obs.groupby("year"):
            if upto is not None and y > upto:
                continue
            g = g.set_index("unit")
            if code not in g.index:
                continue
            rk = g.value if p.rank else _rank_desc(g.value)
            n = listed = int(rk.notna().sum())
            m = _N_ECON.search(str(g.note.get(code) or ""))
            if m and int(m.group(1)) > n:
                n = int(m.group(1))
            r = float(rk[code])
            rows.append({"key": p.key, "ranking": p.name, "year": int(y), "rank": int(r), "n": n, "n_listed": listed,
                         "percentile": percentile_of_rank(r, n), "complete": bool(counts[y] >= 0.5 * counts.max()),
                         "origin_id": g.origin_id.get(code)})
    return pd.DataFrame(rows, columns=["key", "ranking", "year", "rank", "n", "n_listed", "percentile", "complete",
                                       "origin_id"])


def main_reason(table: pd.DataFrame, diffs: pd.DataFrame) -> dict:
    """The highest and the lowest overall published ranking of the unit, and the main reason they differ.

    Four distances between the two, each on 0-1: ``measures`` (total variation distance between their
    theme shares: half the sum of absolute differences), ``coverage`` (difference of their high-income
    shares), ``method`` (difference of survey shares; 0 when one is not stated), ``vintage`` (difference
    of their last data years / 4, at most 1). The main reason is the largest.
    """
    t = table[(table.family != "spec") & table["rank"].notna()]
    t = t[t.key.isin(diffs.key)]
    if len(t) < 2:
        return {}
    hi = t.loc[t.percentile.idxmax()]
    lo = t.loc[t.percentile.idxmin()]
    d = diffs.set_index("key")
    a, b = d.loc[hi.key], d.loc[lo.key]
    sh = [f"share_{x}" for x in THEMES]
    score = {
        "measures": float(0.5 * np.abs(a[sh].astype(float).to_numpy() - b[sh].astype(float).to_numpy()).sum()),
        "coverage": float(abs(a.high_income_share - b.high_income_share)),
        "method": float(abs(a.survey_share - b.survey_share))
        if a.survey_share is not None and b.survey_share is not None
        and not pd.isna(a.survey_share) and not pd.isna(b.survey_share) else 0.0,
        "vintage": float(min(1.0, abs(a.data_last - b.data_last) / 4.0)),
    }
    reason = max(REASONS, key=lambda k: score[k])

    def top_theme(x):
        s = x[sh].astype(float)
        return s.idxmax()[len("share_"):], float(s.max())

    def side(r, dd):
        th, share = top_theme(dd)
        return {"key": r.key, "ranking": r.ranking, "year": int(r.year), "rank": int(r["rank"]), "n": int(r.n),
                "percentile": float(r.percentile), "top_theme": th, "top_theme_share": share,
                "high_income_share": float(dd.high_income_share), "survey_share": dd.survey_share,
                "data_last": int(dd.data_last), "method": dd.method}

    out = {"highest": side(hi, a), "lowest": side(lo, b), "reason": reason, "scores": score}
    H, L = out["highest"], out["lowest"]
    texts = {
        "measures": f"{H['ranking']} puts {H['top_theme_share']:.0%} of its weight on {H['top_theme']}, "
                    f"{L['ranking']} {L['top_theme_share']:.0%} on {L['top_theme']}",
        "coverage": f"{L['ranking']} ranks a field that is {L['high_income_share']:.0%} high-income, "
                    f"{H['ranking']} {H['high_income_share']:.0%}",
        "method": f"{H['ranking']}: {H['method']}; {L['ranking']}: {L['method']}",
        "vintage": f"{H['ranking']} rests on data up to {H['data_last']}, {L['ranking']} up to {L['data_last']}",
    }
    out["text"] = (f"Highest: {H['ranking']} {H['year']} ({H['rank']} of {H['n']}); lowest: {L['ranking']} "
                   f"{L['year']} ({L['rank']} of {L['n']}). Main reason they differ: {reason}: {texts[reason]}.")
    return out


# --------------------------------------------------------------------------------------------
# peers and frontier
# --------------------------------------------------------------------------------------------

PEER_KINDS = ("region", "subregion", "wb_region", "income", "nearest")


def peers(store, unit: str, by: str | Sequence[str] = "region", *, k: int = 10, year: int | None = None,
          universe: Iterable[str] | None = None, min_size: int = 4) -> list[str]:
    """The unit's peers (the unit itself excluded).

    Parameters
    ----------
    by : str or list of unit codes
        ``subregion`` (UN M49 subregion), ``wb_region`` (World Bank region), ``region`` (the UN
        subregion, or the World Bank region when the subregion has fewer than ``min_size`` other
        members in the universe), ``income`` (World Bank income group), ``nearest`` (the ``k`` units
        nearest in log GDP per capita, PPP, latest value up to ``year``), or an explicit list
        (also a comma-separated string).
    universe : iterable of str, optional
        Only units from this set (e.g. the units of an index). Default: UN member countries.
    """
    u = store.units()
    code = store.unit(unit)["code"]
    me = u.set_index("code").loc[code]
    if universe is None:
        pool = u[(u.kind == "country") & (u.un_member.fillna(False).astype(bool))]
    else:
        pool = u[u.code.isin(list(universe))]
    pool = pool[pool.code != code]
    if isinstance(by, str) and by not in PEER_KINDS:
        by = [c.strip() for c in by.split(",") if c.strip()]
    if not isinstance(by, str):
        known = set(u.code)
        wanted = [store.unit(c)["code"] if c.upper() not in known else c.upper() for c in by]
        return [c for c in wanted if c != code]

    def same(col: str) -> list[str]:
        if pd.isna(me[col]):
            raise DataError(f"{code} has no {col}", field=col, value=code, fix="give --peers as a list of units")
        return sorted(pool.code[pool[col] == me[col]])

    if by == "subregion":
        return same("un_subregion")
    if by == "wb_region":
        return same("wb_region")
    if by == "region":
        got = same("un_subregion") if not pd.isna(me["un_subregion"]) else []
        return got if len(got) >= min_size else same("wb_region")
    if by == "income":
        return same("income_group")
    # nearest by GDP per capita PPP
    obs = store.observations(indicators="gdp_pc_ppp", units=list(pool.code) + [code])
    if year is not None:
        obs = obs[obs.year <= year]
    if obs.empty:
        raise DataError("no GDP per capita (PPP) data for nearest peers", field="gdp_pc_ppp")
    latest = obs.sort_values("year").groupby("unit").value.last()
    if code not in latest.index:
        raise DataError(f"{code} has no GDP per capita (PPP)", field="gdp_pc_ppp", value=code,
                        fix="choose --peers region or income")
    lv = np.log(latest[latest > 0])
    d = (lv.drop(code) - lv[code]).abs().sort_values(kind="stable")
    return list(d.index[:k])


def peer_list(index, unit: str, peers_: Any, store=None) -> list[str] | None:
    """The peers of ``unit`` for an index: None, a peer kind (``region``, ``income``, ``nearest`` ...,
    resolved in ``store``) or unit codes (a list or a comma-separated text); the unit itself is left out."""
    if peers_ is None:
        return None
    if isinstance(peers_, str) and peers_ in PEER_KINDS:
        from ..store import open_store

        own = store is None
        st = store or open_store()
        try:
            return peers(st, unit, peers_, year=index.year, universe=index.scores.index)
        finally:
            if own:
                st.close()
    if isinstance(peers_, str):
        peers_ = [c.strip().upper() for c in peers_.split(",") if c.strip()]
    return [c for c in peers_ if c != unit]


def _check_unit(index, unit: str) -> str:
    code = unit.upper() if unit.upper() in index.scores.index else unit
    if code not in index.scores.index or pd.isna(index.score.get(code)):
        why = (index.excluded.reason.get(code) if code in index.excluded.index else "not among the spec's units")
        raise NotFoundError(f"{unit} is not ranked in {index.name} {index.year}: {why}", field="unit", value=unit)
    return code


def _indicator_info(index, store=None) -> pd.DataFrame:
    """Per indicator node: store code, unit of measure, direction, valid range (from the store when
    given, else NaN)."""
    m = index.meta().set_index("code")
    icodes = list(index.stages["normalised"].columns)
    info = pd.DataFrame({"indicator": m.loc[icodes, "indicator"].to_numpy(),
                         "name": m.loc[icodes, "name"].to_numpy(),
                         "direction": [int(index.params["directions"][c]) for c in icodes]}, index=icodes)
    info["measure"] = ""
    info["min_value"] = np.nan
    info["max_value"] = np.nan
    if store is not None:
        for c in icodes:
            try:
                meta = store.indicator(info.at[c, "indicator"])
            except DigimeterError:
                continue
            info.at[c, "measure"] = meta.get("unit") or ""
            info.at[c, "min_value"] = meta.get("min_value") if meta.get("min_value") is not None else np.nan
            info.at[c, "max_value"] = meta.get("max_value") if meta.get("max_value") is not None else np.nan
    return info


def frontier(index, unit: str, *, peers: Any = None, store=None) -> pd.DataFrame:
    """Distance of a unit to the frontier on every node: to the leader, the mean of the top 5, the
    threshold of the top 25 (the 25th best value) and the peer mean, in score and, for indicators,
    in the indicator's natural unit (raw values, the best being the highest or, for indicators where
    lower is better, the lowest).

    Gaps are ``reference - unit`` in score (positive = behind) and ``(reference - unit) x direction``
    in natural units (positive = behind), so both read the same way.

    Parameters
    ----------
    index : Index
    unit : str
    peers : list of unit codes, a peer kind (``region``, ``income``, ``nearest`` ...; needs ``store``), optional
    store : Store, optional
        For indicator units of measure and peer kinds.
    """
    code = _check_unit(index, unit)
    peer_codes = peer_list(index, code, peers, store)
    m = index.meta()
    info = _indicator_info(index, store)
    raw = index.stages["raw"].reindex(index.scores.index)
    rows = []
    for r in m.itertuples():
        s = index.scores[r.code].dropna()
        srt = s.sort_values(ascending=False, kind="stable")
        row = {"node": r.code, "name": r.name, "level": r.level, "parent": r.parent, "kind": r.kind,
               "score": s.get(code, np.nan), "rank": index.ranks[r.code].get(code, np.nan), "n": len(s),
               "leader": srt.index[0] if len(srt) else None,
               "leader_score": srt.iloc[0] if len(srt) else np.nan,
               "top5_mean": srt.iloc[:5].mean(), "top25_threshold": srt.iloc[24] if len(srt) >= 25 else np.nan}
        row["gap_leader"] = row["leader_score"] - row["score"]
        row["gap_top5"] = row["top5_mean"] - row["score"]
        row["gap_top25"] = row["top25_threshold"] - row["score"]
        if peer_codes is not None:
            row["peer_mean"] = s.reindex(peer_codes).mean()
            row["gap_peers"] = row["peer_mean"] - row["score"]
        if r.kind == "indicator":
            d = info.at[r.code, "direction"]
            v = raw[r.code].dropna()
            best = (v * d).sort_values(ascending=False, kind="stable") * d
            row.update({"measure": info.at[r.code, "measure"], "raw": raw[r.code].get(code, np.nan),
                        "raw_leader": best.iloc[0] if len(best) else np.nan,
                        "raw_top5_mean": best.iloc[:5].mean(),
                        "raw_top25_threshold": best.iloc[24] if len(best) >= 25 else np.nan})
            row["raw_gap_leader"] = (row["raw_leader"] - row["raw"]) * d
            row["raw_gap_top5"] = (row["raw_top5_mean"] - row["raw"]) * d
            row["raw_gap_top25"] = (row["raw_top25_threshold"] - row["raw"]) * d
            if peer_codes is not None:
                row["raw_peer_mean"] = v.reindex(peer_codes).mean()
                row["raw_gap_peers"] = (row["raw_peer_mean"] - row["raw"]) * d
        rows.append(row)
    out = pd.DataFrame(rows)
    out["rank"] = out["rank"].astype("Int64")
    out.attrs.update(unit=code, index=index.name, year=index.year, peers=peer_codes)
    return out


# --------------------------------------------------------------------------------------------
# the tree, evaluated for one unit
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Agg:
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


def _tree(index) -> list[_Agg]:
    """Aggregate nodes bottom-up: the steps of the spec's plan (:func:`digimeter.spec.plan.aggregate_steps`,
    the build's own), with the weights the build used (``Index.params["weights"]``)."""
    from ..spec.plan import aggregate_steps

    w = index.params["weights"]
    return [_Agg(s, np.array([w[k] for k in s.kids], dtype=float))
            for s in aggregate_steps(index.spec, index.meta())]


def _needs_context(a: _Agg) -> bool:
    """Methods whose result for one unit depends on the other units."""
    return a.step.needs_context


def _agg_rows(a: _Agg, xs: np.ndarray, context: np.ndarray | None = None, row: int | None = None) -> np.ndarray:
    """Aggregate ``xs`` (..., k) -> (...); with ``context`` (n_units, k) the rows are placed in it at
    ``row`` for methods that depend on all units."""
    return tree_eval.apply_step(a.step, xs, a.w, context, row)


def _evaluate(index, ind_values: np.ndarray, unit: str | None = None,
              tree: list[_Agg] | None = None) -> dict[str, np.ndarray]:
    """Scores of every node from a unit's normalised indicator values ``(..., n_indicators)``
    (other units fixed; they matter only to context-dependent methods), by the one tree evaluator."""
    icodes = list(index.stages["normalised"].columns)
    vals = {c: ind_values[..., j] for j, c in enumerate(icodes)}
    row = list(index.scores.index).index(unit) if unit is not None else None
    aggs = tree if tree is not None else _tree(index)
    out, _ = tree_eval.evaluate([a.step for a in aggs], vals, index.params["weights"], from_level=0,
                                unit=0 if row is None else row, context=None if row is None else index.scores)
    return out


# --------------------------------------------------------------------------------------------
# Shapley values
# --------------------------------------------------------------------------------------------

def shapley(value: Callable[[np.ndarray], np.ndarray], k: int, *, exact_max: int = 12,
            n_permutations: int = 2000, seed: int = 0) -> np.ndarray:
    """Shapley values of a ``k``-player game.

    Parameters
    ----------
    value : callable
        ``value(masks)`` takes a boolean array ``(m, k)`` of coalitions and returns their worth ``(m,)``.
    k : int
        Number of players.
    exact_max : int, default 12
        Up to this many players, enumerate all ``2**k`` coalitions (exact); beyond, average the
        marginal contributions over ``n_permutations`` random orderings drawn with ``seed`` (each
        ordering's contributions sum to ``v(N) - v(empty)``, so efficiency holds exactly).

    Returns
    -------
    ndarray, shape (k,)
        ``phi`` with ``phi.sum() == value(all) - value(none)``.

    References
    ----------
    Shapley (1953), https://doi.org/10.1515/9781400881970-018 ; Castro et al. (2009),
    https://doi.org/10.1016/j.cor.2008.04.004
    """
    if k == 0:
        return np.zeros(0)
    if k <= exact_max:
        ids = np.arange(2 ** k)
        masks = ((ids[:, None] >> np.arange(k)) & 1).astype(bool)
        v = np.asarray(value(masks), dtype=float)
        size = masks.sum(axis=1)
        wt = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)])
        phi = np.zeros(k)
        for j in range(k):
            without = ~masks[:, j]
            s_ids = ids[without]
            phi[j] = np.sum(wt[size[without]] * (v[s_ids | (1 << j)] - v[s_ids]))
        # enforce efficiency to the last bit (float sums of 2**k terms)
        total = v[-1] - v[0]
        phi += (total - phi.sum()) / k
        return phi
    rng = np.random.default_rng(seed)
    phi = np.zeros(k)
    batch = 256
    done = 0
    while done < n_permutations:
        b = min(batch, n_permutations - done)
        perms = np.argsort(rng.random((b, k)), axis=1)
        masks = np.zeros((b, k + 1, k), dtype=bool)
        for step in range(1, k + 1):
            masks[:, step] = masks[:, step - 1]
            masks[np.arange(b), step, perms[:, step - 1]] = True
        v = np.asarray(value(masks.reshape(-1, k)), dtype=float).reshape(b, k + 1)
        marg = np.diff(v, axis=1)
        np.add.at(phi, perms.ravel(), marg.ravel())
        done += b
    phi /= n_permutations
    return phi


# --------------------------------------------------------------------------------------------
# gap decomposition
# --------------------------------------------------------------------------------------------

def _reference_units(index, unit: str, reference: Any, store=None) -> tuple[list[str], str]:
    s = index.score.dropna().sort_values(ascending=False, kind="stable")
    if isinstance(reference, str) and reference.lower() in ("leader", "top1"):
        return [s.index[0]], f"leader ({s.index[0]})"
    if isinstance(reference, str) and reference.lower() == "top5":
        return list(s.index[:5]), "mean of the top 5"
    if isinstance(reference, str) and reference.lower() == "top25":
        if len(s) < 25:
            raise DataError(f"{index.name} ranks only {len(s)} units; no top 25", field="reference")
        return [s.index[24]], f"top-25 threshold ({s.index[24]}, rank 25)"
    if isinstance(reference, str) and reference in PEER_KINDS:
        members = peer_list(index, unit, reference, store)
        members = [c for c in members if c in s.index]
        return members, f"{reference} peers mean ({len(members)} units)"
    if isinstance(reference, str) and "," not in reference:
        ref = reference.upper() if reference.upper() in index.scores.index else reference
        _check_unit(index, ref)
        return [ref], ref
    members = reference if not isinstance(reference, str) else [c.strip().upper() for c in reference.split(",")]
    members = [c for c in members if c in s.index]
    if not members:
        raise DataError("no ranked unit in the reference group", field="reference", value=reference)
    return members, f"peer group mean ({len(members)} units)"


def _node_split(a: _Agg, xu: np.ndarray, xr: np.ndarray, ctx: np.ndarray | None, row: int | None,
                **shap_kw) -> np.ndarray:
    """Local decomposition of a node's gap ``f(xr) - f(xu)`` among its children (sums exactly)."""
    k = len(a.kids)
    if a.method == "arithmetic":
        # exact: effective weight x value, weights rescaled over each side's available children
        def eff(x):
            ok = ~np.isnan(x) & (a.w > 0)
            w = np.where(ok, a.w, 0.0)
            tot = w.sum()
            return np.where(ok, w / tot if tot > 0 else 0.0, 0.0) * np.where(ok, x, 0.0)

        return eff(xr) - eff(xu)

    def value(masks):
        xs = np.where(masks, xr, xu)
        return _agg_rows(a, xs, ctx, row)

    return shapley(value, k, **shap_kw)


def _decompose_pair(index, unit: str, ref: str, tree: list[_Agg], **shap_kw) -> dict[str, float]:
    """Contribution of every node to ``score(ref) - score(unit)``."""
    sc = index.scores
    rows = list(sc.index)
    row = rows.index(unit)
    root = index.spec.name
    contrib = {root: float(sc.at[ref, root] - sc.at[unit, root])}
    # carried (a_r, a_u) along all-arithmetic chains: contribution = a_r s_r - a_u s_u
    carry: dict[str, tuple[float, float] | None] = {root: (1.0, 1.0)}
    for a in reversed(tree):  # top-down
        c = contrib[a.code]
        xu = sc.loc[unit, a.kids].to_numpy(dtype=float)
        xr = sc.loc[ref, a.kids].to_numpy(dtype=float)
        ctx = sc[a.kids].to_numpy(dtype=float) if _needs_context(a) else None
        lin = carry.get(a.code)
        if a.method == "arithmetic" and lin is not None:
            def wn(x):
                ok = ~np.isnan(x) & (a.w > 0)
                w = np.where(ok, a.w, 0.0)
                return w / w.sum() if w.sum() > 0 else w
            wr, wu = wn(xr), wn(xu)
            for j, kid in enumerate(a.kids):
                ar, au = lin[0] * wr[j], lin[1] * wu[j]
                carry[kid] = (ar, au)
                contrib[kid] = (ar * (0.0 if np.isnan(xr[j]) else xr[j])
                                - au * (0.0 if np.isnan(xu[j]) else xu[j]))
            # fix the last bit so children sum exactly to the parent
            kids_sum = sum(contrib[k] for k in a.kids)
            if a.kids:
                big = max(a.kids, key=lambda k: abs(contrib[k]))
                contrib[big] += c - kids_sum
            continue
        phi = _node_split(a, xu, xr, ctx, row if ctx is not None else None, **shap_kw)
        delta = float(np.nansum(phi))
        if abs(delta) > 1e-12:
            out = phi * (c / delta)
        else:  # no local gap: pass on the local split unscaled and share any residual by weight
            wsh = a.w / a.w.sum() if a.w.sum() > 0 else np.full(len(a.w), 1.0 / len(a.w))
            out = phi + (c - phi.sum()) * wsh
        out = out + (c - out.sum()) / len(out)
        for j, kid in enumerate(a.kids):
            contrib[kid] = float(out[j])
            carry[kid] = None
    return contrib


def gap(index, unit: str, reference: Any = "leader", *, store=None, exact_max: int = 12,
        n_permutations: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Decompose the score gap between a reference and a unit into pillars and indicators.

    Parameters
    ----------
    index : Index
    unit : str
    reference : str or list of str
        A unit code, ``leader``, ``top5`` (the mean of the top-5 scores), ``top25`` (the unit ranked
        25th: the threshold of the top 25), a peer kind (``region``, ``income``, ``nearest`` ...; needs
        ``store`` or the default store) or a list of units (their mean).
    exact_max, n_permutations, seed
        Shapley settings for non-arithmetic nodes (see :func:`shapley`).

    Returns
    -------
    DataFrame
        Waterfall-ready, one row per node in tree order: ``node, name, level, depth, parent, kind,
        unit_score, reference_score, node_gap, contribution, share, cumulative`` and, for indicators,
        ``raw`` and ``raw_reference`` (natural units). ``contribution`` is the part of the total gap
        (``reference - unit`` in index score; positive = the reference is ahead) due to the node; the
        contributions of the children of any node sum exactly to the node's contribution, so the
        indicators (and the pillars) sum exactly to the total gap. ``cumulative`` is the running sum
        over the row's *cut* in tree order: the cut at depth d is the nodes at depth d plus the
        indicators that sit higher in an uneven tree (an indicator directly under the root), so every
        cut partitions the index and its running sum ends at the total (:func:`waterfall` returns one
        cut). ``attrs`` holds ``total``, ``unit_score``, ``reference_score``, ``reference`` and
        ``members``.

    Notes
    -----
    At an arithmetic node the contribution of a child is ``w_r x_r - w_u x_u`` with each side's
    weights rescaled over the children it has data for, exactly as the build does; chained down the
    tree the weights multiply (effective weights), so with complete data an indicator contributes
    effective weight x normalised gap. At any other node (geometric, harmonic, MPI, ...) the node's
    gap is split by the Shapley values of the game "switch these children from the unit's to the
    reference's values" (exact up to ``exact_max`` children, else permutation sampling with a fixed
    seed), scaled to the node's share of the total. For a group reference the decomposition is the
    mean of the decompositions against each member, so the total is the mean score of the group
    minus the unit's score.
    """
    code = _check_unit(index, unit)
    members, label = _reference_units(index, code, reference, store)
    tree = _tree(index)
    kw = dict(exact_max=exact_max, n_permutations=n_permutations, seed=seed)
    parts = [_decompose_pair(index, code, r, tree, **kw) for r in members]
    m = index.meta()
    contrib = {c: float(np.mean([p[c] for p in parts])) for c in m.code}
    sc = index.scores
    raw = index.stages["raw"]
    out = m[["code", "name", "level", "depth", "parent", "kind"]].rename(columns={"code": "node"}).copy()
    out["unit_score"] = [sc.at[code, c] for c in m.code]
    out["reference_score"] = [sc.loc[members, c].mean() for c in m.code]
    out["node_gap"] = out.reference_score - out.unit_score
    out["contribution"] = [contrib[c] for c in m.code]
    total = contrib[index.spec.name]
    out["share"] = out.contribution / total if total != 0 else np.nan
    out["cumulative"] = _cut_cumulative(out)
    out["raw"] = [raw.at[code, c] if c in raw.columns and code in raw.index else np.nan for c in m.code]
    out["raw_reference"] = [raw.loc[[u for u in members if u in raw.index], c].mean() if c in raw.columns else np.nan
                            for c in m.code]
    out.attrs.update(total=total, unit=code, unit_score=float(sc.at[code, index.spec.name]),
                     reference_score=float(sc.loc[members, index.spec.name].mean()), reference=label,
                     members=members, index=index.name, year=index.year)
    return out.reset_index(drop=True)


def _cut_mask(g: pd.DataFrame, depth: int) -> np.ndarray:
    """Rows of the cut at ``depth``: nodes at that depth and shallower indicators (leaves)."""
    d = g["depth"].to_numpy()
    return (d == depth) | ((g["kind"].to_numpy() == "indicator") & (d < depth))


def _cut_cumulative(g: pd.DataFrame) -> np.ndarray:
    out = np.full(len(g), np.nan)
    contrib = g["contribution"].to_numpy(float)
    for depth in sorted(set(g["depth"])):
        if depth == 0:
            out[(g["depth"] == 0).to_numpy()] = contrib[(g["depth"] == 0).to_numpy()]
            continue
        cut = _cut_mask(g, depth)
        run = np.cumsum(contrib[cut])
        own = (g["depth"].to_numpy() == depth)[cut]   # a row shows the running sum of its own depth's cut
        idx = np.flatnonzero(cut)[own]
        out[idx] = run[own]
    return out


def waterfall(g: pd.DataFrame, depth: int = 1) -> pd.DataFrame:
    """One waterfall of a :func:`gap` table: the cut at ``depth`` (pillars at 1; add deeper levels for
    sub-pillars; indicators of an uneven tree that sit higher are included) in tree order, with
    ``start`` and ``end`` of each bar. The bars run from 0 to the total gap."""
    if depth < 1 or depth > int(g["depth"].max()):
        raise DataError(f"no depth {depth} in the gap table (depths 1-{int(g['depth'].max())})", field="depth",
                        value=depth, fix="1 = the root's children (pillars)")
    w = g[_cut_mask(g, depth)].copy()
    w["end"] = np.cumsum(w["contribution"].to_numpy(float))
    w["start"] = w["end"] - w["contribution"]
    w["cumulative"] = w["end"]
    w.attrs.update(g.attrs)
    return w.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# what it would take
# --------------------------------------------------------------------------------------------

def pace(store, indicator: str, level: float, *, direction: int = 1, quantile: float = 0.9,
         band: float = 0.10, min_obs: int = 30, max_gap: int = 5, until: int | None = None,
         history: pd.DataFrame | None = None) -> dict:
    """The fastest plausible yearly improvement of an indicator from a given level.

    Every pair of consecutive observations of a country (at most ``max_gap`` years apart, ending no
    later than ``until``) gives an annual gain ``(v2 - v1) / (y2 - y1)`` (times ``direction``, so that
    a gain is an improvement; ``history`` may hold these observations already). The pace is the ``quantile`` (default 0.9: faster than nine in ten
    country-years, but not the single fastest, which is often a data break) of the gains of the
    country-years that started within ``+/- band`` (10 %) of ``level``; the band doubles until at
    least ``min_obs`` gains are found (then all gains are used). Never negative.

    Returns a dict with ``pace`` (per year, natural units), ``n`` (gains used), ``band`` (the band
    used; ``inf`` = all levels) and ``quantile``.
    """
    if history is None:
        history = store.observations(indicators=indicator)
        history = history[history.unit.isin(store.units(kind="country").code)]
    obs = history[history.indicator == indicator] if "indicator" in history else history
    if until is not None:
        obs = obs[obs.year <= until]
    obs = obs.sort_values(["unit", "year"])
    g = obs.groupby("unit")
    v1, y1 = g.value.shift(1), g.year.shift(1)
    ok = v1.notna() & ((obs.year - y1) <= max_gap)
    gains = ((obs.value - v1) / (obs.year - y1) * direction)[ok].to_numpy()
    start = v1[ok].to_numpy()
    if len(gains) == 0:
        return {"pace": float("nan"), "n": 0, "band": float("nan"), "quantile": quantile}
    scale = abs(level) if level not in (0, None) and not pd.isna(level) else np.nanstd(start)
    b = band
    while True:
        sel = np.abs(start - level) <= b * scale
        if sel.sum() >= min_obs or b > 64:
            break
        b *= 2
    if sel.sum() < min_obs:
        sel, b = np.ones(len(gains), bool), float("inf")
    p = float(np.quantile(gains[sel], quantile))
    return {"pace": max(p, 0.0), "n": int(sel.sum()), "band": b, "quantile": quantile}


@dataclass
class Plan:
    """The least improvement that reaches a target, and whether it does.

    Attributes
    ----------
    table : DataFrame
        One row per indicator: ``node, name, indicator, measure, direction, current, change, new,
        pace_per_year, max_change, at_bound, normalised_change, cost``; ``change`` is in the
        indicator's natural unit (negative for indicators where lower is better).
    reachable : bool
    target_rank, target_score : the target (one of them may be None)
    rank, score : the unit's rank and score now
    achieved_rank, achieved_score : after applying the plan to the data and rebuilding
    best_rank, best_score : with every indicator at its bound (what is reachable at all)
    years : years to the deadline (None: no pace bound)
    message : str
    """

    unit: str
    index: str
    table: pd.DataFrame
    reachable: bool
    target_rank: int | None
    target_score: float | None
    rank: int
    score: float
    achieved_rank: int | None
    achieved_score: float | None
    best_rank: int
    best_score: float
    years: float | None
    method: str
    message: str
    rebuilt: Any = field(default=None, repr=False)

    def summary(self, top: int | None = None) -> str:
        """``internet use +3.1 points, fixed broadband +9 per 100`` style text."""
        t = self.table[self.table.change.abs() > 1e-9].sort_values("normalised_change", ascending=False)
        if top:
            t = t.head(top)
        parts = [f"{r.name} {_fmt_change(r.change)} {_short_measure(r.measure)}".strip() for r in t.itertuples()]
        return ", ".join(parts) if parts else "no change needed"


def _fmt_change(x: float) -> str:
    ax = abs(x)
    digits = 0 if ax >= 100 else 1 if ax >= 1 else 3 if ax >= 0.01 else 4
    return f"{x:+,.{digits}f}"


def _short_measure(measure: str) -> str:
    m = (measure or "").strip()
    if m.startswith("%"):
        if any(w in m for w in ("population", "households", "individuals", "people")):
            return "points"
        return f"points ({m})"
    if m.startswith("index"):
        return "index points"
    return m


def _normaliser(index):
    """``f(raw (..., n_ind)) -> normalised`` for one unit with the index's fitted parameters, and each
    indicator's method (the plan's normalisation groups, :func:`digimeter.spec.plan.normalise_groups`)."""
    from ..spec.plan import normalise_groups

    icodes = list(index.stages["normalised"].columns)
    dirs = np.array([index.params["directions"][c] for c in icodes], dtype=float)
    groups = list(normalise_groups(index.spec, icodes))
    for g in groups:
        if g.method in ("rank", "percentile"):
            raise SpecError(f"what_it_takes needs a normalisation that maps each value on its own; "
                            f"'{g.method}' depends on the other units", field=g.where + ".method", value=g.method,
                            fix="use a variant with minmax, zscore or goalposts")
    fits = index.params["normalise_fit"]
    methods = [""] * len(icodes)
    for g in groups:
        for j in g.cols:
            methods[j] = g.method

    def apply(x):
        x = np.atleast_2d(np.asarray(x, dtype=float))
        return norm.apply_groups(groups, x, dirs, fixed=fits)[0]

    return apply, methods


def _new_rank(scores: pd.Series, unit: str) -> int:
    s = scores.dropna()
    return int(1 + (s.drop(unit) > s[unit] + 1e-12).sum())


def what_it_takes(index, unit: str, *, rank: int | None = None, score: float | None = None,
                  by: int | None = None, costs: dict[str, float] | pd.Series | None = None, store=None,
                  quantile: float = 0.9, band: float = 0.10, max_iter: int = 6) -> Plan:
    """The least total improvement of a unit's indicators that lifts it to a target rank or score.

    Parameters
    ----------
    index : Index
    unit : str
    rank : int, optional
        Target rank (reach this rank or better).
    score : float, optional
        Target index score.
    by : int, optional
        Deadline year: each indicator may improve by at most its plausible pace (see :func:`pace`)
        times ``by - index.year`` years. Without it only the valid range bounds the change.
    costs : mapping of indicator node -> cost per normalised point, optional
        Default 1 for every indicator (the least total improvement in normalised units).
    store : Store, optional
        For the indicators' history (pace) and valid ranges; default: the user's store.
    quantile, band
        Pace settings (the 90th percentile of annual gains from within +/-10 % of the unit's level).

    Returns
    -------
    Plan
        The change per indicator in its natural unit, and the rank reached when the changed data are
        rebuilt with :func:`digimeter.build.compute` (other units unchanged); when the target is out
        of reach within the bounds, ``reachable`` is False and ``best_rank`` is the best rank the
        bounds allow.

    Notes
    -----
    Each indicator's normalised value is a function of its raw value with the index's fitted
    normalisation parameters; the bounds keep the raw value within the indicator's valid range (the
    store's min/max, and the goalposts, beyond which nothing is gained). When every aggregation is
    arithmetic the score is linear in the normalised values (effective weights) and the problem is a
    linear programme (:func:`scipy.optimize.linprog`); otherwise the rebuilt tree score is used with
    SLSQP (:func:`scipy.optimize.minimize`). For normalisations fitted on the data (min-max, z-scores)
    a change can move the fitted parameters; the plan is therefore verified by a full rebuild and the
    score target raised by any shortfall, up to ``max_iter`` times.
    """
    from scipy import optimize

    from ..build import compute

    if (rank is None) == (score is None):
        raise DataError("give exactly one target: rank or score", field="rank/score",
                        fix="e.g. --rank 25 or --score 80")
    code = _check_unit(index, unit)
    own = store is None
    if own:
        from ..store import open_store
        store = open_store()
    try:
        info = _indicator_info(index, store)
        icodes = list(info.index)
        base = index.stages["imputed"].reindex(columns=icodes).loc[code].to_numpy(dtype=float) \
            if code in index.stages["imputed"].index else np.full(len(icodes), np.nan)
        dirs = info.direction.to_numpy(dtype=float)
        years = None if by is None else max(float(by - index.year), 0.0)
        paces = []
        hist = None
        if years is not None:
            hist = store.observations(indicators=list(dict.fromkeys(info.indicator)))
            hist = hist[hist.unit.isin(store.units(kind="country").code)]
            hist = {k: v for k, v in hist.groupby("indicator")}
        for j, c in enumerate(icodes):
            if years is None or np.isnan(base[j]):
                paces.append({"pace": np.nan, "n": 0})
            else:
                paces.append(pace(store, info.at[c, "indicator"], base[j], direction=int(dirs[j]),
                                  quantile=quantile, band=band, until=index.year,
                                  history=hist.get(info.at[c, "indicator"], pd.DataFrame(columns=["unit", "indicator", "year", "value"]))))
    finally:
        if own:
            store.close()
    apply, nmethod = _normaliser(index)
    # raw room: how far each indicator may move in its better direction
    room = np.full(len(icodes), np.inf)
    for j, c in enumerate(icodes):
        if np.isnan(base[j]):
            room[j] = 0.0
            continue
        lim = info.at[c, "max_value"] if dirs[j] > 0 else info.at[c, "min_value"]
        if not pd.isna(lim):
            room[j] = min(room[j], max((lim - base[j]) * dirs[j], 0.0))
        if nmethod[j] == "goalposts":
            m = index.meta().set_index("code")
            gp = m.at[c, "goalpost_hi"] if dirs[j] > 0 else m.at[c, "goalpost_lo"]
            room[j] = min(room[j], max((gp - base[j]) * dirs[j], 0.0))
        if years is not None:
            p = paces[j]["pace"]
            room[j] = min(room[j], (0.0 if np.isnan(p) else p) * years)
    # normalised slope per raw unit of improvement (linear within the bounds for the linear methods)
    y0 = apply(base[None, :])[0]
    probe = np.where(np.isfinite(room) & (room > 0), room, 1.0)
    y1 = apply((base + dirs * probe)[None, :])[0]
    slope = np.where(probe > 0, (y1 - y0) / probe, 0.0)
    slope = np.nan_to_num(slope, nan=0.0)
    ub = np.where(np.isfinite(room), room * slope, np.inf)  # normalised room
    ub = np.where(np.isnan(base), 0.0, ub)
    if np.isinf(ub).any():
        ub = np.where(np.isinf(ub), 1e6, ub)
    c = np.ones(len(icodes))
    if costs is not None:
        cs = pd.Series(costs, dtype=float)
        unknown = sorted(set(cs.index) - set(icodes))
        if unknown:
            raise DataError(f"costs for unknown indicator node(s): {', '.join(unknown)}", field="costs",
                            fix=f"use node codes: {', '.join(icodes)}")
        c = cs.reindex(icodes).fillna(1.0).to_numpy()
    ynow = index.scores.loc[code, icodes].to_numpy(dtype=float)
    ynow_f = np.where(np.isnan(ynow), np.nan, ynow)
    tree = _tree(index)
    linear = all(a.method == "arithmetic" for a in tree)
    root = index.spec.name
    s_now = float(index.score[code])
    r_now = int(index.rank[code])

    def score_of(t):
        return float(_evaluate(index, ynow_f + t, code, tree)[root])

    if linear:
        # effective weights of the unit (over its available indicators)
        ew = np.zeros(len(icodes))
        eff = {root: 1.0}
        for a in reversed(tree):
            xs = index.scores.loc[code, a.kids].to_numpy(dtype=float)
            ok = ~np.isnan(xs) & (a.w > 0)
            w = np.where(ok, a.w, 0.0)
            w = w / w.sum() if w.sum() > 0 else w
            for j, k in enumerate(a.kids):
                eff[k] = eff.get(a.code, 0.0) * w[j]
        ew = np.array([eff.get(k, 0.0) for k in icodes])

    def solve(target_s: float) -> tuple[np.ndarray, bool]:
        need = target_s - s_now
        if need <= 0:
            return np.zeros(len(icodes)), True
        if linear:
            res = optimize.linprog(c, A_ub=-ew[None, :], b_ub=[-need], bounds=list(zip(np.zeros(len(ub)), ub)),
                                   method="highs")
            if res.status == 0:
                return np.clip(res.x, 0, ub), True
            return ub.copy(), False
        if score_of(ub) < target_s - 1e-12:
            return ub.copy(), False
        # optimise the share of each indicator's room used (all variables on [0, 1])
        free = ub > 0
        cu = c * ub
        scale = float(cu[free].sum()) or 1.0
        gap_s = max(target_s - s_now, 1e-9)
        cons = [{"type": "ineq", "fun": lambda z: (score_of(z * ub) - target_s) / gap_s}]
        res = optimize.minimize(lambda z: float(cu @ z) / scale, np.where(free, 0.5, 0.0),
                                jac=lambda z: cu / scale, method="SLSQP",
                                bounds=[(0.0, 1.0 if f else 0.0) for f in free], constraints=cons,
                                options={"maxiter": 300, "ftol": 1e-12})
        t = np.clip(res.x, 0, 1) * ub
        if score_of(t) < target_s - 1e-9:
            # fall back to scaling the upper bounds until the target is met (bisection)
            lo_, hi_ = 0.0, 1.0
            for _ in range(60):
                mid = (lo_ + hi_) / 2
                if score_of(ub * mid) >= target_s:
                    hi_ = mid
                else:
                    lo_ = mid
            t = ub * hi_
        return t, True

    def rebuild(t):
        d_raw = np.where(slope > 0, t / np.where(slope > 0, slope, 1.0), 0.0)
        d_raw = np.minimum(d_raw, np.where(np.isfinite(room), room, d_raw))
        new_vals = index.panel.values.copy()
        raw_new = base + dirs * d_raw
        m = index.meta().set_index("code")
        for j, k in enumerate(icodes):
            if d_raw[j] > 0:
                new_vals.at[code, m.at[k, "indicator"]] = raw_new[j]
        panel2 = dataclasses.replace(index.panel, values=new_vals)
        ix2 = compute(index.spec, panel2, unit_meta=index.params.get("unit_meta"),
                      directions=index.params["directions"])
        return ix2, d_raw, raw_new

    # target score from the target rank: reach the rank-th best score among the other units
    others = index.score.dropna().drop(code).sort_values(ascending=False)
    if rank is not None:
        if rank < 1:
            raise DataError("target rank must be >= 1", field="rank", value=rank)
        target_s = float(others.iloc[rank - 1]) if rank <= len(others) else -np.inf
    else:
        target_s = float(score)
    # best reachable
    ix_best, _, _ = rebuild(ub)
    best_rank = _new_rank(ix_best.score, code)
    best_score = float(ix_best.score[code])

    def met(ix2):
        if rank is not None:
            return _new_rank(ix2.score, code) <= rank
        return float(ix2.score[code]) >= score - 1e-9

    goal = target_s
    t, ok = solve(goal)
    ix2, d_raw, raw_new = rebuild(t)
    it = 0
    while ok and not met(ix2) and it < max_iter:
        it += 1
        if rank is not None:
            oth = ix2.score.dropna().drop(code).sort_values(ascending=False)
            short = float(oth.iloc[rank - 1] - ix2.score[code])
        else:
            short = float(score - ix2.score[code])
        goal = goal + max(short, 1e-9) * 1.0 + 1e-9
        t, ok = solve(goal)
        ix2, d_raw, raw_new = rebuild(t)
    reached = met(ix2)
    target_txt = f"rank {rank}" if rank is not None else f"score {score:g}"
    when = f" by {by}" if by is not None else ""
    if reached:
        msg = (f"{code} can reach {target_txt}{when} in {index.name}: rank {_new_rank(ix2.score, code)} "
               f"(score {float(ix2.score[code]):.4g}, now {s_now:.4g}, rank {r_now}).")
    else:
        ix2, d_raw, raw_new = ix_best, *rebuild(ub)[1:]
        msg = (f"{target_txt} is out of reach{when} within the bounds: the best reachable is rank "
               f"{best_rank} (score {best_score:.4g}; now rank {r_now}, score {s_now:.4g}).")
    tn = np.where(slope > 0, d_raw * slope, 0.0)
    table = pd.DataFrame({
        "node": icodes, "name": info.name.to_numpy(), "indicator": info.indicator.to_numpy(),
        "measure": info.measure.to_numpy(), "direction": dirs.astype(int), "current": base,
        "change": dirs * d_raw, "new": raw_new, "pace_per_year": [p["pace"] for p in paces],
        "max_change": dirs * np.where(np.isfinite(room), room, np.nan),
        "at_bound": np.isfinite(room) & (d_raw >= room - 1e-9) & (room > 0),
        "normalised_change": tn, "cost": c * tn})
    return Plan(unit=code, index=index.name, table=table, reachable=bool(reached), target_rank=rank,
                target_score=None if rank is not None else float(score), rank=r_now, score=s_now,
                achieved_rank=_new_rank(ix2.score, code), achieved_score=float(ix2.score[code]),
                best_rank=best_rank, best_score=best_score, years=years,
                method="linprog" if linear else "SLSQP", message=msg, rebuilt=ix2)


# --------------------------------------------------------------------------------------------
# strengths and weaknesses
# --------------------------------------------------------------------------------------------

def strengths(index, unit: str, peers: Any = "region", *, store=None) -> pd.DataFrame:
    """Indicators where a unit is furthest above (strengths) and below (weaknesses) its peers.

    Returns one row per indicator, sorted from the greatest strength to the greatest weakness:
    ``node, name, measure, raw, peer_median, difference`` (natural units, positive = better than the
    peers), ``score, peer_median_score, score_difference`` (normalised), ``percentile`` (share of the
    peers the unit is ahead of on the indicator, ties counted half) and ``verdict``
    (``strength`` / ``weakness`` / ``on par`` when within 2.5 normalised points of 100, or 2.5 % of
    the range).
    """
    code = _check_unit(index, unit)
    peer_codes = peer_list(index, code, peers, store)
    peer_codes = [p for p in peer_codes if p in index.scores.index]
    if not peer_codes:
        raise DataError(f"no peers of {code} in {index.name}", field="peers", value=peers)
    info = _indicator_info(index, store)
    raw = index.stages["raw"].reindex(index.scores.index)
    nz = index.stages["normalised"]
    rng = float(np.nanmax(nz.to_numpy()) - np.nanmin(nz.to_numpy())) or 1.0
    rows = []
    for c in info.index:
        d = info.at[c, "direction"]
        pv = raw.loc[peer_codes, c].dropna()
        v = raw.at[code, c]
        ps = nz.reindex(peer_codes)[c].dropna()
        s = nz.at[code, c] if code in nz.index else np.nan
        pct = (100.0 * (((pv * d) < v * d).sum() + 0.5 * ((pv * d) == v * d).sum()) / len(pv)
               if len(pv) and not pd.isna(v) else np.nan)
        rows.append({"node": c, "name": info.at[c, "name"], "measure": info.at[c, "measure"], "raw": v,
                     "peer_median": pv.median() if len(pv) else np.nan,
                     "difference": (v - pv.median()) * d if len(pv) else np.nan, "score": s,
                     "peer_median_score": ps.median() if len(ps) else np.nan,
                     "score_difference": s - ps.median() if len(ps) else np.nan, "percentile": pct,
                     "n_peers": len(pv)})
    out = pd.DataFrame(rows)
    tol = 0.025 * rng
    out["verdict"] = np.where(out.score_difference > tol, "strength",
                              np.where(out.score_difference < -tol, "weakness", "on par"))
    out.loc[out.score_difference.isna(), "verdict"] = "no data"
    out = out.sort_values("score_difference", ascending=False, na_position="last").reset_index(drop=True)
    out.attrs.update(unit=code, peers=peer_codes, index=index.name, year=index.year)
    return out
