"""Published rankings side by side: a unit's rank and percentile in every bundled index and ranking (UN
EGDI and its components, World Bank GTMI and its components, IMD WDCR and its factors, ITU IDI, GAIRI, NRI,
``digital-nation`` and any user spec), how far the rankings agree, why they differ, the components that put
the unit highest and lowest, and its rank over the years."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .._util.ranks import rank_desc
from ..errors import DigimeterError

__all__ = ["Published", "BASIS_NOTES", "RANKINGS", "percentile_of_rank", "Rankings", "rankings", "THEMES",
           "REASONS", "ranking_methods", "differences", "pillar_extremes", "rank_history", "main_reason"]



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
    code = store.unit(unit)["code"]
    depth_of = _depths()
    rows, cols = _published_rows(store, code, year, levels, depth_of)
    built = _spec_rows(store, code, year, specs, default_specs, rows, cols)
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


def _depths() -> dict[str, int]:
    """Each ranking's depth in :data:`RANKINGS` (1 = overall, 2 = component, 3 = IMD sub-factor)."""
    depth_of = {}
    for p in RANKINGS:
        d, q = 1, p
        while q.parent is not None:
            d += 1
            q = next(r for r in RANKINGS if r.key == q.parent)
        depth_of[p.key] = d
    return depth_of


def _published_rows(store, code: str, year: int | None, levels: int, depth_of: dict[str, int]
                    ) -> tuple[list[dict], dict[str, pd.Series]]:
    """The rows of the published rankings in the store (each ranking's full edition and any later
    press-quoted one) and every unit's rank per ranking key (full editions up to ``levels``)."""
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
    return rows, cols


def _spec_rows(store, code: str, year: int | None, specs: Iterable[Any] | None, default_specs: Sequence[str],
               rows: list[dict], cols: dict[str, pd.Series]) -> dict[str, Any]:
    """Build the default and the user specs, add a row each to ``rows`` and their ranks to ``cols``; the built
    indices by name."""
    from ..build import Index, build
    from ..spec import load_spec, shipped_specs

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
    return built


def _rank_correlations(ranks: pd.DataFrame, min_common: int = 10) -> pd.DataFrame:
    """Spearman's and Kendall's (tau-b) correlation, with their p-values, of every pair of columns over
    the units both rank (at least ``min_common``). The pairs are cut from one float array: selecting
    them in pandas took 4/5 of the time (0.42 of 0.52 s for the 276 pairs of KAZ's report)."""
    from scipy import stats

    out = []
    keys = list(ranks.columns)
    values = ranks.to_numpy(dtype=float, na_value=np.nan)
    ranked = ~np.isnan(values)
    for i, j in combinations(range(len(keys)), 2):
        both = ranked[:, i] & ranked[:, j]
        n = int(both.sum())
        if n < min_common:
            continue
        x, y = values[both, i], values[both, j]
        rho, prho = stats.spearmanr(x, y)
        tau, ptau = stats.kendalltau(x, y)
        out.append({"a": keys[i], "b": keys[j], "n_common": n, "spearman": float(rho), "spearman_p": float(prho),
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
