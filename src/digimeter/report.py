"""The report: how digital a country is, what holds it back, and whether it can reach its targets.

:func:`make_report` computes every section from the library (build, regions, forecast, and the
benchmark/targets/uncertainty modules when they are installed) and returns a :class:`Report`:
plain data (sentences, tables, altair charts, key numbers) with no HTML in it. :func:`render_html`
turns it into one self-contained HTML file (styles and charts inlined as SVG; nothing loads from the
network), and :func:`write_report` writes that file with PNG/SVG figures and CSV/XLSX tables.
The dashboard (:mod:`digimeter.web`) shows the same sections, so the numbers agree everywhere.

A section whose module is not installed yet says so plainly; nothing is ever made up.

Languages: every interface string goes through gettext catalogs under ``digimeter/data/locale``
(``en``, ``ru``, ``kk``); unit names come from the data.
"""

from __future__ import annotations

import gettext
import hashlib
import html
import importlib
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import __version__
from ._util.jsonsafe import jsonable, records
from .errors import DigimeterError, NotFoundError

LANGS = ("en", "ru", "kk")
DOMAIN = "digimeter"
#: Indices shown side by side (besides the chosen spec).
BASE_SPECS = ("egdi", "digital-nation")
#: Indicators whose trajectories the targets section shows when the targets module is not there.
FORECAST_INDICATORS = ("internet_users_pct", "households_internet_pct", "fixed_broadband_per100")
#: Regional indicators, in order of preference, for the regions section.
REGION_INDICATORS = ("internet_users_pct", "mobile_phone_users_pct", "digital_literacy_pct")
SECTION_IDS = ("headline", "rankings", "profile", "gaps", "regions", "targets", "robustness", "methods")


# --------------------------------------------------------------------------------------------------
# languages
# --------------------------------------------------------------------------------------------------

def locale_dir() -> Path:
    return Path(str(resources.files("digimeter") / "data" / "locale"))


@lru_cache(maxsize=None)
def translations(lang: str = "en") -> gettext.NullTranslations:
    """The message catalog of ``lang`` (read from its ``.po`` file with Babel; English is the source)."""
    if lang not in LANGS:
        raise NotFoundError(f"unknown language '{lang}'", field="lang", value=lang,
                            fix=f"use one of: {', '.join(LANGS)}")
    if lang == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    po = locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def gettext_for(lang: str) -> Callable[[str], str]:
    t = translations(lang)
    return t.gettext


def ordinal(n: int, lang: str = "en") -> str:
    """24 -> '24th' (en), '24-е' (ru), '24-ші' (kk)."""
    n = int(n)
    if lang == "ru":
        return f"{n}-е"
    if lang == "kk":
        last, tens = n % 10, (n // 10) % 10
        if last:
            back = last in (6, 9)            # алтыншы, тоғызыншы
        elif tens:
            back = tens in (1, 2, 3, 4, 6, 9)  # оныншы, жиырмасыншы ... тоқсаныншы
        else:
            back = False                     # жүзінші, мыңыншы is rare enough
        return f"{n}-{'шы' if back else 'ші'}"
    if 10 <= n % 100 <= 20:
        suf = "th"
    else:
        suf = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suf}"


def fmt_num(x: Any, lang: str = "en", digits: int = 1) -> str:
    """A number in the language's style (Babel), '–' for missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA:
        return "–"
    from babel.numbers import format_decimal

    fmt = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(float(x), format=fmt, locale={"en": "en_GB", "ru": "ru_RU", "kk": "kk_KZ"}[lang])


# --------------------------------------------------------------------------------------------------
# the report as data
# --------------------------------------------------------------------------------------------------

@dataclass
class Section:
    """One section of the report: sentences, tables, charts and key numbers; no HTML."""

    id: str
    title: str
    available: bool = True
    paragraphs: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    table_titles: dict[str, str] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)
    chart_titles: dict[str, str] = field(default_factory=dict)
    key_numbers: dict[str, Any] = field(default_factory=dict)
    blocks: dict[str, str] = field(default_factory=dict)   # preformatted text (the spec YAML)
    missing: list[str] = field(default_factory=list)      # analyses not yet available

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the dashboard's API twin): tables as records, charts as Vega-Lite specs."""
        return {"id": self.id, "title": self.title, "available": self.available,
                "paragraphs": self.paragraphs, "missing": self.missing,
                "key_numbers": jsonable(self.key_numbers),
                "tables": {k: {"title": self.table_titles.get(k, k), "rows": records(v)}
                           for k, v in self.tables.items()},
                "charts": {k: {"title": self.chart_titles.get(k, k), "spec": v.to_dict()}
                           for k, v in self.charts.items()},
                "blocks": self.blocks}


@dataclass
class Report:
    unit: str
    unit_name: str
    lang: str
    spec: str
    scenario: str | None
    sections: list[Section]
    meta: dict[str, Any] = field(default_factory=dict)
    indices: dict[str, Any] = field(default_factory=dict, repr=False)

    def section(self, sid: str) -> Section:
        for s in self.sections:
            if s.id == sid:
                return s
        raise NotFoundError(f"no section '{sid}' in the report", field="section", value=sid,
                            fix=f"one of: {', '.join(s.id for s in self.sections)}")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": True, "unit": self.unit, "unit_name": self.unit_name, "lang": self.lang,
                "spec": self.spec, "scenario": self.scenario, "meta": jsonable(self.meta),
                "sections": [s.to_dict() for s in self.sections]}

    def skeleton(self) -> str:
        """The report's text skeleton: section headings and key numbers (for golden tests)."""
        lines = [f"# {self.meta.get('title', '')}"]
        for s in self.sections:
            lines.append(f"## {s.id}: {s.title} [{'available' if s.available else 'not yet available'}]")
            for k, v in s.key_numbers.items():
                if isinstance(v, float):
                    v = f"{v:.4g}"
                lines.append(f"- {k}: {v}")
            for m in s.missing:
                lines.append(f"- missing: {m}")
        return "\n".join(lines) + "\n"


class _Ctx:
    """What the section builders share: the unit, the language, the store, the built indices."""

    def __init__(self, unit: str, spec: str, scenario: str | None, lang: str, store):
        self.unit = unit
        self.spec = spec
        self.scenario = scenario
        self.lang = lang
        self.store = store
        self._ = gettext_for(lang)
        self.indices: dict[str, Any] = {}
        self.units = store.units()
        self.unit_row = store.unit(unit)
        self.unit_name = self.name_of(unit)
        self.origins = store.origins().set_index("origin_id")
        self.used_origins: set[str] = set()
        self.errors: dict[str, str] = {}
        self._meta: dict[int, pd.DataFrame] = {}

    def name_of(self, code: str) -> str:
        """A unit's name in the report's language: the name recorded in the data for that language
        (the store's ``unit_names``, e.g. regions' Russian and Kazakh names from the statistics office);
        else, for a country, the Unicode CLDR territory name that Babel ships (by ISO 3166 alpha-2);
        else the English name from the units table."""
        if not hasattr(self, "_names"):
            self._names = dict(zip(self.units.code, self.units.name))
            if self.lang != "en":
                from babel import Locale

                local = Locale.parse(self.lang).territories
                for c, iso2 in zip(self.units.code, self.units.iso2):
                    if isinstance(iso2, str) and iso2 in local:
                        self._names[c] = local[iso2]
                self._names.update(self.store.unit_names(self.lang))
        return str(self._names.get(code, code))

    def subregion(self) -> str:
        """The unit's UN M49 sub-region, in the report's language (the catalogs hold the M49 names)."""
        sub = self.unit_row.get("un_subregion")
        return self._(str(sub)) if isinstance(sub, str) and sub else "–"

    def meta(self, ix) -> pd.DataFrame:
        """The spec's tree table, computed once per index (it is not cheap)."""
        return _meta_of(ix)

    def node_name(self, ix, code: str) -> str:
        names = dict(zip(self.meta(ix).code, self.meta(ix).name))
        return self._(str(names[code])) if code in names else code

    def index_title(self, ix) -> str:
        return self._(ix.spec.title or ix.name)

    def origin_label(self, ids) -> str:
        parts = []
        for oid in sorted({i for i in ids if isinstance(i, str)}):
            for o in oid.split(";"):
                if o in self.origins.index:
                    r = self.origins.loc[o]
                    ed = r.edition if isinstance(r.edition, str) and r.edition.strip() else None
                    parts.append(f"{r.publisher}, {r.dataset}" + (f" ({ed})" if ed else ""))
                    self.used_origins.add(o)
        parts = list(dict.fromkeys(parts))
        return self._("Source: {sources}").format(sources="; ".join(parts) if parts else "digimeter")

    def index_source(self, ix) -> str:
        ids = pd.unique(ix.panel.origins.to_numpy().ravel())
        return self.origin_label([i for i in ids if isinstance(i, str)]) + " " + \
            self._("Computed by digimeter {version}.").format(version=__version__)


def _optional(module: str):
    """Import ``digimeter.<module>`` if it exists; None if it is not there yet."""
    try:
        return importlib.import_module(f"digimeter.{module}")
    except ModuleNotFoundError as e:
        if e.name in (f"digimeter.{module}",):
            return None
        raise


def make_report(unit: str = "KAZ", spec: str = "digital-nation", *, scenario: str | None = None,
                lang: str = "en", store=None, progress: Callable[[str], None] | None = None,
                sections: Any = None, samples: dict[str, int] | None = None,
                regional: str | None = None) -> Report:
    """Compute every section of the report for ``unit``.

    Parameters
    ----------
    unit : str
        The country (ISO3).
    spec : str
        The main index (a shipped spec name or a YAML path); the UN EGDI and digital-nation are
        always shown beside it.
    scenario : str, optional
        A target scenario (``fully-digital-kz``) for the feasibility section (needs the targets module).
    lang : {"en", "ru", "kk"}
    store : Store, optional
        Default: the user's store.
    progress : callable, optional
        Called with a short label before each step (the CLI drives a progress bar with it).
    sections : iterable of str, optional
        Only these sections (see :data:`SECTION_IDS`; default all). The headline mentions the targets
        only when the targets section is computed too.
    samples : dict, optional
        Sample sizes: ``uncertainty`` (512), ``sensitivity`` (256), ``targets`` (1000), ``index`` (100),
        and ``fans`` (3), the number of fan charts of the unit's indicator targets.
    regional : str, optional
        What the regions section shows: a regional indicator (``internet_users_pct``) or a regional
        spec (``kz-regions``). Default: the first of :data:`REGION_INDICATORS` the store has for the
        country's regions, else the shipped regional spec, else the best-covered regional indicator
        (:func:`digimeter.regions.regional_indicators`).
    """
    from .store import open_store

    translations(lang)  # fail early on an unknown language
    own = store is None
    store = store or open_store()
    step = progress or (lambda label: None)
    try:
        code = store.unit(unit)["code"]
        ctx = _Ctx(code, spec, scenario, lang, store)
        ctx.wanted = tuple(sections) if sections is not None else SECTION_IDS
        ctx.regional = regional
        unknown = [x for x in ctx.wanted if x not in SECTION_IDS]
        if unknown:
            raise NotFoundError(f"unknown report section(s): {', '.join(unknown)}", field="sections",
                                value=unknown, fix=f"use: {', '.join(SECTION_IDS)}")
        ctx.samples = {"uncertainty": 512, "sensitivity": 256, "targets": 1000, "index": 100, "fans": 3,
                       **(samples or {})}
        _ = ctx._
        from .build import build

        specs = list(dict.fromkeys([*BASE_SPECS, spec]))
        for s in specs:
            step(_("Building {spec}").format(spec=s))
            ctx.indices[s] = build(s, store)
        builders = [("headline", _headline), ("rankings", _rankings), ("profile", _profile),
                    ("gaps", _gaps), ("regions", _regions), ("targets", _targets),
                    ("robustness", _robustness), ("methods", _methods)]
        sections = []
        for sid, fn in builders:
            if sid not in ctx.wanted:
                continue
            step(_("Section: {name}").format(name=sid))
            sections.append(fn(ctx))
        main = ctx.indices[spec]
        meta = {"title": _("How digital is {unit}?").format(unit=ctx.unit_name),
                "generated": date.today().isoformat(), "version": __version__,
                "main_index": main.name, "main_year": main.year,
                "fingerprints": {k: ix.fingerprints for k, ix in ctx.indices.items()}}
        if getattr(ctx, "regional_shown", None):
            meta["regional"] = ctx.regional_shown
        return Report(unit=code, unit_name=ctx.unit_name, lang=lang, spec=spec, scenario=scenario,
                      sections=sections, meta=meta, indices=ctx.indices)
    finally:
        if own:
            store.close()


def _unavailable(sid: str, title: str, ctx: _Ctx, module: str, what: str) -> Section:
    _ = ctx._
    msg = _("This analysis is not yet available: it needs the {module} module, which is not "
            "installed in this version of digimeter.").format(module=f"digimeter.{module}")
    return Section(sid, title, available=False, paragraphs=[msg], missing=[what])


# --------------------------------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------------------------------

def _rank_of(ix, unit: str) -> tuple[int | None, int]:
    t = ix.table()
    n = int(t["rank"].notna().sum())
    if unit not in t.index or pd.isna(t.loc[unit, "rank"]):
        return None, n
    return int(t.loc[unit, "rank"]), n


_META: dict[int, tuple[Any, pd.DataFrame]] = {}


def _meta_of(ix) -> pd.DataFrame:
    """``ix.meta()``, remembered (it is called often and is not cheap)."""
    hit = _META.get(id(ix))
    if hit is None or hit[0] is not ix:
        if len(_META) > 64:
            _META.clear()
        hit = _META[id(ix)] = (ix, ix.meta())
    return hit[1]


def _pillars(ix) -> list[str]:
    m = _meta_of(ix)
    return m.code[m.depth == 1].tolist()


def _headline(ctx: _Ctx) -> Section:
    _ = ctx._
    sec = Section("headline", _("The answer in brief"))
    phrases = []
    for name, ix in ctx.indices.items():
        r, n = _rank_of(ix, ctx.unit)
        title = ctx.index_title(ix)
        if r is None:
            why = ix.excluded.reason.get(ctx.unit, _("not among its units")) if ctx.unit in ix.excluded.index \
                else _("not among its units")
            phrases.append(_("is not ranked on the {index} {year} ({why})").format(index=title, year=ix.year, why=why))
            continue
        tpl = _("ranks {ordinal} of {n} on the {index} {year}") if not phrases else \
            _("{ordinal} of {n} on the {index} {year}")
        phrases.append(tpl.format(ordinal=ordinal(r, ctx.lang), n=n, index=title, year=ix.year))
        sec.key_numbers[f"{name}.rank"] = r
        sec.key_numbers[f"{name}.n"] = n
        sec.key_numbers[f"{name}.score"] = round(float(ix.score[ctx.unit]), 4)
    if len(phrases) > 1:
        first = ctx.unit_name + " " + ", ".join(phrases[:-1]) + " " + _("and") + " " + phrases[-1]
    else:
        first = ctx.unit_name + " " + (phrases[0] if phrases else "")
    main = ctx.indices[ctx.spec]
    pil = _pillars(main)
    sc = main.scores.loc[ctx.unit, pil].astype(float) if ctx.unit in main.scores.index else None
    sentences = [first + "."]
    sentences += _rankings_brief(ctx, sec)   # the highest and lowest published ranking, and why
    if sc is not None and sc.notna().any():
        weak, strong = sc.idxmin(), sc.idxmax()
        sec.key_numbers["weakest_pillar"] = weak
        sec.key_numbers["weakest_score"] = round(float(sc[weak]), 1)
        sec.key_numbers["strongest_pillar"] = strong
        lead = main.table().iloc[0]
        leader = main.table().index[0]
        sentences.append(_("On {index}, its weakest pillar is {weak} ({wscore} of 100) and its strongest is "
                           "{strong} ({sscore}); the leader, {leader}, scores {lscore} overall against "
                           "{uscore}.").format(
            index=ctx.index_title(main), weak=ctx.node_name(main, weak), wscore=fmt_num(sc[weak], ctx.lang),
            strong=ctx.node_name(main, strong), sscore=fmt_num(sc[strong], ctx.lang), leader=ctx.name_of(leader),
            lscore=fmt_num(lead[main.name], ctx.lang), uscore=fmt_num(main.score[ctx.unit], ctx.lang)))
        # the weakest indicators, from the audit's strengths and weaknesses
        try:
            from .stats.audit import strengths_weaknesses

            norm = main.stages["normalised"]
            _s, w = strengths_weaknesses(norm, ctx.unit, top=3, bottom=3, meta=ctx.meta(main))
            if len(w):
                names = [ctx.node_name(main, c) for c in w.sort_values("rank", ascending=False).code]
                sentences.append(_("What holds it back most, relative to other countries: {items}.").format(
                    items=", ".join(names)))
                sec.key_numbers["weakest_indicators"] = ", ".join(w.sort_values("rank", ascending=False).code)
        except DigimeterError:
            pass
    ev = None
    if "targets" in ctx.wanted:
        try:
            ev = _evaluate_targets(ctx)
        except DigimeterError as e:
            ctx.errors["targets"] = str(e)
    if ev is not None:
        sc, t = ev
        head = t[(t.unit == ctx.unit) | (t.unit == "all")]
        words = [_status_code_or_word(r) for _i, r in head.iterrows()]
        met = words.count("already_met")
        track = words.count("on_track")
        slip = sum(w in ("met_now_may_slip", "met_now_likely_to_slip") for w in words)
        rest = head[[w not in ("already_met", "on_track") for w in words]]
        names = {x.id: (x.name or x.id) for x in sc.targets}
        text = _("Of the {n} targets of “{title}”, {met} are already met and {track} on track.").format(
            n=len(head), title=_(sc.title or sc.name), met=met, track=track)
        if slip:   # met today, but not likely to hold in the deadline year: not counted as met
            text += " " + _("Met now but may not hold by the deadline: {n}.").format(n=slip)
        if len(rest.dropna(subset=["p_met"])):
            w = rest.dropna(subset=["p_met"]).sort_values("p_met").iloc[0]
            text += " " + _("The least likely is {target} (probability {p}% by {deadline}).").format(
                target=_(names.get(w.target, w.target)) + (" " + _("(all regions)") if w.unit == "all" else ""),
                p=fmt_num(100 * float(w.p_met), ctx.lang, 0), deadline=int(w.deadline))
        sentences.append(text)
        sec.key_numbers["targets.met"] = met
        sec.key_numbers["targets.on_track"] = track
        sec.key_numbers["targets.met_now_may_slip"] = slip
    sec.paragraphs = sentences
    return sec


def _status_code_or_word(row) -> str:
    """A row's status code; for a row without one, the code read from its English sentence."""
    code = _code_of(row)
    if code:
        return code
    s = str(row.get("status", ""))
    return "already_met" if s.startswith("already met") else "on_track" if s.startswith("on track") else s


def _peers(ctx: _Ctx, ix) -> list[str]:
    """Peers of the unit: the countries of its UN sub-region that the index ranks."""
    sub = ctx.unit_row.get("un_subregion")
    u = ctx.units
    cand = u.code[(u.un_subregion == sub) & (u.code != ctx.unit)].tolist() if sub else []
    return [c for c in cand if c in ix.scores.index and pd.notna(ix.rank.get(c))]


def _rankings(ctx: _Ctx) -> Section:
    _ = ctx._
    sec = Section("rankings", _("Rankings side by side"))
    bench = _optional("benchmark")
    rows = []
    main = ctx.indices[ctx.spec]
    peers = _peers(ctx, main)
    leaders = main.table().index[:3].tolist()
    shown = list(dict.fromkeys([ctx.unit, *peers, *leaders]))
    for name, ix in ctx.indices.items():
        t = ix.table()
        n = int(t["rank"].notna().sum())
        for u in shown:
            if u in t.index and pd.notna(t.loc[u, "rank"]):
                rows.append({"index": f"{ctx.index_title(ix)} {ix.year}", "unit": u, "label": ctx.name_of(u),
                             "rank": int(t.loc[u, "rank"]), "n": n, "score": float(t.loc[u, ix.name])})
    long = pd.DataFrame(rows)
    wide = long.pivot_table(index=["unit", "label"], columns="index", values="rank", aggfunc="first")
    wide = wide.reindex([x for x in shown if x in wide.index.get_level_values(0)], level=0)
    wide = wide.reset_index().rename(columns={"unit": _("code"), "label": _("unit")})
    for c in wide.columns[2:]:
        wide[c] = wide[c].astype("Int64")
    sec.tables["ranks"] = wide
    sec.table_titles["ranks"] = _("Rank on each index (1 = best): {unit}, its peers ({region}) and the leaders").format(
        unit=ctx.unit_name, region=ctx.subregion())
    from . import charts

    sec.charts["rank_dots"] = charts.rank_dots(long, unit=ctx.unit, x_title=_("rank (1 = best)"),
                                               source=ctx.index_source(main))
    sec.chart_titles["rank_dots"] = _("Where {unit} and its peers stand on each index").format(unit=ctx.unit_name)
    for name, ix in ctx.indices.items():
        t = ix.table().reset_index().rename(columns={"unit": "unit"})
        t["name"] = t["unit"].map(ctx.name_of)
        t = t[t["rank"].notna()]
        dom = (0, 100) if float(t[ix.name].max()) > 1.5 else (0, 1)
        key = f"strip_{name}"
        sec.charts[key] = charts.score_strip(t, score=ix.name, unit=ctx.unit,
                                             x_title=_("{index} score").format(index=ctx.index_title(ix)) +
                                             (" (0-100)" if dom[1] == 100 else " (0-1)"),
                                             source=ctx.index_source(ix), domain=dom)
        sec.chart_titles[key] = _("{unit} among all {n} ranked countries, {index} {year}").format(
            unit=ctx.unit_name, n=len(t), index=ctx.index_title(ix), year=ix.year)
    sec.paragraphs.append(_("Peers are the other countries of {unit}'s UN sub-region ({region}); leaders are "
                            "the top three of {index}.").format(unit=ctx.unit_name,
                                                                 region=ctx.subregion(),
                                                                 index=ctx.index_title(main)))
    if bench is not None:
        _benchmark_rankings(ctx, bench, sec)
    else:
        sec.missing.append("published rankings side by side (needs digimeter.benchmark)")
    # published EGDI rank, when the spec names it, checks the rebuilt index against the UN's table
    eg = ctx.indices.get("egdi")
    if eg is not None and eg.spec.published and eg.spec.published.get("rank"):
        obs = ctx.store.observations(indicators=eg.spec.published["rank"], units=ctx.unit, years=eg.year)
        if len(obs):
            pub = int(obs.value.iloc[0])
            r, _n = _rank_of(eg, ctx.unit)
            sec.key_numbers["egdi.published_rank"] = pub
            sec.paragraphs.append(_("The UN publishes rank {pub} for {unit} in the E-Government Survey {year}; "
                                    "digimeter's rebuild of the index gives {r}.").format(
                pub=pub, unit=ctx.unit_name, year=eg.year, r=r))
    for name, ix in ctx.indices.items():
        r, n = _rank_of(ix, ctx.unit)
        sec.key_numbers[f"{name}.rank"] = r
    return sec


def _ranking_label(ctx: _Ctx, key: str, name: str) -> str:
    """A ranking's name in the report's language (published rankings by key; specs by title)."""
    from .benchmark import RANKINGS

    _ = ctx._
    names = {p.key: p.name for p in RANKINGS}
    if key in names:
        return _(names[key])
    if key.endswith("_press") and key[:-len("_press")] in names:
        return _("{ranking} (press)").format(ranking=_(names[key[:-len("_press")]]))
    return _(name)


def _ranking_note(ctx: _Ctx, basis: str, n: Any, english: str, listed: Any = None) -> str:
    """What a rank rests on, in the report's language (``benchmark.BASIS_NOTES`` keys)."""
    _ = ctx._
    notes = {"press": _("rank as quoted in the press; of {n} economies"),
             "press_partial": _("rank as quoted in the press; partial table"),
             "published_among": _("as published, among {n} economies"),
             "published_incomplete": _("as published, among {n} economies; {k} of them in the bundled copy"),
             "published": _("published rank"),
             "computed": _("rank computed from the published scores"),
             "computed_unofficial": _("rank computed by digimeter from the published scores; the publisher "
                                      "publishes no ranks"),
             "spec": _("built by digimeter")}
    k = int(listed) if listed is not None and not pd.isna(listed) else int(n)
    return notes[basis].format(n=int(n), k=k) if basis in notes else english


def _published_rankings(ctx: _Ctx, bench):
    """digimeter.benchmark.rankings for the report's unit, computed once (the brief and the rankings
    section share it); the report's built indices are reused, the E-Government rebuild left out (the
    published EGDI is there)."""
    if not hasattr(ctx, "_published"):
        try:
            ctx._published = bench.rankings(ctx.store, ctx.unit, default_specs=(),
                                            specs=[ix for name, ix in ctx.indices.items() if name != "egdi"])
        except DigimeterError as e:
            ctx.errors["benchmark.rankings"] = str(e)
            ctx._published = None
    return ctx._published


_THEME_WORDS = ("infrastructure", "government", "skills", "economy", "other")


def _theme(ctx: _Ctx, theme: str) -> str:
    _ = ctx._
    return {"infrastructure": _("infrastructure"), "government": _("government"), "skills": _("skills"),
            "economy": _("economy"), "other": _("other")}.get(theme, theme)


def _rankings_brief(ctx: _Ctx, sec: Section) -> list[str]:
    """One sentence for the brief: the highest and lowest published ranking and the main reason."""
    bench = _optional("benchmark")
    r = _published_rankings(ctx, bench) if bench is not None else None
    m = r.main_reason if r is not None else {}
    if not m:
        return []
    _ = ctx._
    hi, lo = m["highest"], m["lowest"]
    reasons = {
        "measures": _("they measure different things: {a} puts {a_share}% of its weight on {a_theme}, {b} "
                      "{b_share}% on {b_theme}"),
        "coverage": _("they rank different fields: {b_hi}% of the economies {b} ranks are high-income, "
                      "against {a_hi}% for {a}"),
        "method": _("they are made differently: {a} rests {a_survey}% on survey answers, {b} {b_survey}%"),
        "vintage": _("their data are of different years: up to {a_year} for {a}, up to {b_year} for {b}"),
    }
    pct = lambda v: fmt_num(100 * float(v), ctx.lang, 0) if v is not None and not pd.isna(v) else "–"
    why = reasons[m["reason"]].format(
        a=_ranking_label(ctx, hi["key"], hi["ranking"]), b=_ranking_label(ctx, lo["key"], lo["ranking"]),
        a_share=pct(hi["top_theme_share"]), b_share=pct(lo["top_theme_share"]),
        a_theme=_theme(ctx, hi["top_theme"]), b_theme=_theme(ctx, lo["top_theme"]),
        a_hi=pct(hi["high_income_share"]), b_hi=pct(lo["high_income_share"]),
        a_survey=pct(hi["survey_share"]), b_survey=pct(lo["survey_share"]), a_year=hi["data_last"],
        b_year=lo["data_last"])
    sec.key_numbers["rankings.highest"] = hi["key"]
    sec.key_numbers["rankings.lowest"] = lo["key"]
    sec.key_numbers["rankings.main_reason"] = m["reason"]
    return [_("Of the published rankings, {unit} stands highest on {hi} {hi_year} ({hi_rank} of {hi_n}) and "
              "lowest on {lo} {lo_year} ({lo_rank} of {lo_n}), mainly because {why}.").format(
        unit=ctx.unit_name, hi=_ranking_label(ctx, hi["key"], hi["ranking"]), hi_year=hi["year"],
        hi_rank=hi["rank"], hi_n=hi["n"], lo=_ranking_label(ctx, lo["key"], lo["ranking"]), lo_year=lo["year"],
        lo_rank=lo["rank"], lo_n=lo["n"], why=why)]


def _benchmark_rankings(ctx: _Ctx, bench, sec: Section) -> None:
    """Every published ranking and every spec side by side (digimeter.benchmark.rankings)."""
    _ = ctx._
    r = _published_rankings(ctx, bench)
    if r is None:
        return
    t = r.table[r.table["rank"].notna()].copy()
    t["ranking"] = [_ranking_label(ctx, k, name) for k, name in zip(t["key"], t["ranking"])]
    trust = t["trust"].fillna("").where(t["level"] == 1, "") if "trust" in t else pd.Series("", index=t.index)
    tab = pd.DataFrame({_("ranking"): t["ranking"], _("family"): t["family"].map(lambda f: _(str(f))),
                        _("year"): t["year"], _("rank"): t["rank"], _("of"): t["n"], _("percentile"): t["percentile"],
                        _("note"): [_ranking_note(ctx, b, n, note, k) for b, n, note, k in
                                    zip(t["basis"], t["n"], t["note"], t.get("n_listed", t["n"]))],
                        _("trust (source notes, English)"): [x or None for x in trust]})
    if tab[_("trust (source notes, English)")].isna().all():
        tab = tab.drop(columns=[_("trust (source notes, English)")])
    sec.tables["all_rankings"] = tab.reset_index(drop=True)
    sec.table_titles["all_rankings"] = _("{unit} in every ranking (digimeter.benchmark)").format(unit=ctx.unit_name)
    from . import charts

    b = pd.DataFrame({"label": t["ranking"] + " " + t["year"].astype(str), "value": t["percentile"]})
    sec.charts["percentiles"] = charts.bars(
        b, x_title=_("percentile (100 = first, 0 = last)"), domain=(0, 100),
        highlight=[x for x in b.label if x.startswith(tuple(ctx.index_title(ix) for ix in ctx.indices.values()))],
        source=_("Source: UN DESA E-Government Survey, World Bank GovTech Dataset, IMD World Digital "
                 "Competitiveness Ranking, ITU ICT Development Index, Oxford Insights Government AI Readiness "
                 "Index, Portulans Network Readiness Index, digimeter indices; ranks computed by "
                 "digimeter.benchmark."))
    sec.chart_titles["percentiles"] = _("How far up each ranking {unit} stands").format(unit=ctx.unit_name)
    for row in t.itertuples():
        sec.key_numbers[f"benchmark.{row.key}.rank"] = int(row.rank)
    corr = r.correlations
    if len(corr):
        lo = corr.sort_values("spearman").iloc[0]
        sec.paragraphs.append(_("The rankings agree only in part: the least related pair is {a} and {b} "
                                "(Spearman's rho {rho} over {n} countries).").format(
            a=_ranking_label(ctx, lo["a"], lo["a"]), b=_ranking_label(ctx, lo["b"], lo["b"]), rho=fmt_num(lo["spearman"], ctx.lang, 2), n=int(lo["n_common"])))
    _why_rankings_differ(ctx, r, sec)


def _why_rankings_differ(ctx: _Ctx, r, sec: Section) -> None:
    """Pairwise agreement, why the overall rankings differ, pillar extremes and the rank trajectory."""
    _ = ctx._
    lab = lambda k, name: _ranking_label(ctx, k, name)
    ag = r.agreement
    if len(ag):
        sec.tables["agreement"] = pd.DataFrame({
            _("ranking"): [lab(a, x) for a, x in zip(ag.a, ag.ranking_a)],
            _("compared with"): [lab(b, x) for b, x in zip(ag.b, ag.ranking_b)],
            _("countries both rank"): ag.n_common.astype(int),
            _("Spearman's rho"): [fmt_num(v, ctx.lang, 2) for v in ag.spearman]})
        sec.table_titles["agreement"] = _("Pairwise agreement: rank correlation over the countries both rankings rank")
    d = r.differences
    if len(d):
        why = pd.DataFrame({_("ranking"): [lab(k, x) for k, x in zip(d.key, d.ranking)], _("year"): d.year,
                            _("economies ranked"): d.n,
                            _("high-income share (%)"): (100 * d.high_income_share).round(0).astype("Int64")})
        for th in _THEME_WORDS:
            why[_("weight on {theme} (%)").format(theme=_theme(ctx, th))] = (100 * d[f"share_{th}"].astype(float)).round(0).astype("Int64")
        why[_("survey answers (%)")] = pd.array([None if v is None or pd.isna(v) else round(100 * float(v))
                                                 for v in d.survey_share], dtype="Int64")
        why[_("data years")] = [f"{a}–{b}" + ("≈" if ap else "") if a is not None and not pd.isna(a) else None
                                for a, b, ap in zip(d.data_first, d.data_last, d.approx)]
        sec.tables["why_rankings_differ"] = why
        sec.table_titles["why_rankings_differ"] = _(
            "Why they differ: who is ranked (share of high-income economies), what is measured (share of the "
            "weight on each theme, from each publisher's method), how (weight resting on survey answers) and "
            "when (data years; ≈ approximate)")
    p = r.pillars
    if len(p):
        sec.tables["pillar_extremes"] = pd.DataFrame({
            _("ranking"): [lab(k, x) for k, x in zip(p.key, p.ranking)], _("parts of"): p.parts_year,
            _("highest part"): [lab(_pillar_key(h), h) + f" ({a}/{b})" for h, a, b in
                                zip(p.highest, p.highest_rank, p.highest_n)],
            _("lowest part"): [lab(_pillar_key(h), h) + f" ({a}/{b})" for h, a, b in
                               zip(p.lowest, p.lowest_rank, p.lowest_n)]})
        sec.table_titles["pillar_extremes"] = _("Which part of which ranking puts {unit} highest and lowest "
                                                "(rank/economies ranked)").format(unit=ctx.unit_name)
    m = r.main_reason
    if m:
        sec.paragraphs.extend(_rankings_brief(ctx, Section("x", "")))
    h = r.history
    if len(h):
        from . import charts

        hh = h.copy()
        hh["ranking"] = [lab(k, x) for k, x in zip(hh.key, hh.ranking)]
        sec.charts["rank_trajectory"] = charts.rank_trajectory(
            hh, y_title=_("rank (1 = best)"), x_title=_("year"), universe_title=_("economies ranked"),
            source=_("Source: UN DESA, World Bank GovTech, IMD, ITU, Oxford Insights, Portulans Institute "
                     "(bundled editions; origins in Methods and data)."),
            note=_("Dashed grey line: the number of economies ranked that year. Hollow points: editions "
                   "known only in part (press quotes, a top-30 table)."))
        sec.chart_titles["rank_trajectory"] = _("{unit}'s rank in each ranking over the years").format(
            unit=ctx.unit_name)
        for o in h.origin_id.dropna().unique():
            ctx.used_origins.add(str(o))


def _pillar_key(name: str) -> str:
    """A published component's key from its English name (for its translated label); '' if none."""
    from .benchmark import RANKINGS

    return next((p.key for p in RANKINGS if p.name == name), "")


def _profile(ctx: _Ctx) -> Section:
    _ = ctx._
    main = ctx.indices[ctx.spec]
    sec = Section("profile", _("Pillar profile against leaders and peers"))
    pil = _pillars(main)
    t = main.table()
    ranked = t[t["rank"].notna()]
    if ctx.unit not in ranked.index:
        sec.available = False
        sec.paragraphs.append(_("{unit} is not ranked on {index}.").format(unit=ctx.unit_name, index=ctx.index_title(main)))
        return sec
    peers = _peers(ctx, main)
    leader = ranked.index[0]
    series = {ctx.unit_name: main.scores.loc[ctx.unit, pil],
              _("leader ({name})").format(name=ctx.name_of(leader)): main.scores.loc[leader, pil],
              _("top-10 mean"): main.scores.loc[ranked.index[:10], pil].mean()}
    if peers:
        series[_("peers' mean ({region})").format(region=ctx.subregion())] = \
            main.scores.loc[peers, pil].mean()
    rows = []
    for sname, s in series.items():
        for p in pil:
            rows.append({"pillar": ctx.node_name(main, p), "series": sname, "score": float(s[p])})
    df = pd.DataFrame(rows)
    from . import charts

    big = float(ranked[main.name].max()) > 1.5
    dom = (0, 100) if big else (0, 1)
    sec.charts["pillars"] = charts.pillar_profile(df, x_title=_("pillar score") + (" (0-100)" if big else " (0-1)"),
                                                  source=ctx.index_source(main), domain=dom)
    sec.chart_titles["pillars"] = _("{unit}'s pillars on {index} {year}").format(
        unit=ctx.unit_name, index=ctx.index_title(main), year=main.year)
    tab = df.pivot_table(index="pillar", columns="series", values="score", sort=False)[list(series)]
    ranks = main.ranks.loc[ctx.unit, pil]
    tab.insert(1, _("rank of {unit}").format(unit=ctx.unit_name), [int(ranks[p]) if pd.notna(ranks[p]) else None for p in pil])
    tab[_("gap to leader")] = tab[list(series)[1]] - tab[list(series)[0]]
    sec.tables["pillars"] = tab.reset_index().rename(columns={"pillar": _("pillar")})
    sec.table_titles["pillars"] = _("Pillar scores and ranks")
    # indicator detail
    m = ctx.meta(main).set_index("code")
    ind = [c for c in m.index if m.loc[c, "kind"] == "indicator"]
    raw = main.stages["raw"]
    det = pd.DataFrame({
        _("indicator"): [ctx.node_name(main, c) for c in ind],
        _("pillar"): [ctx.node_name(main, m.loc[c, "parent"]) for c in ind],
        _("value"): [raw.loc[ctx.unit, c] if ctx.unit in raw.index else np.nan for c in ind],
        _("year"): [main.panel.years.loc[ctx.unit, m.loc[c, "indicator"]] if ctx.unit in main.panel.years.index else None for c in ind],
        _("score"): [main.scores.loc[ctx.unit, c] for c in ind],
        _("rank"): [main.ranks.loc[ctx.unit, c] for c in ind],
    })
    det[_("rank")] = det[_("rank")].astype("Int64")
    sec.tables["indicators"] = det
    sec.table_titles["indicators"] = _("Every indicator of {index}: {unit}'s value, score and rank").format(
        index=ctx.index_title(main), unit=ctx.unit_name)
    for p in pil:
        sec.key_numbers[f"{p}.score"] = round(float(main.scores.loc[ctx.unit, p]), 1)
        sec.key_numbers[f"{p}.rank"] = int(ranks[p]) if pd.notna(ranks[p]) else None
    worst = tab[_("gap to leader")].idxmax()
    sec.paragraphs.append(_("The widest gap to the leader is in {pillar}: {gap} points.").format(
        pillar=worst, gap=fmt_num(tab.loc[worst, _("gap to leader")], ctx.lang)))
    return sec


def _gaps(ctx: _Ctx) -> Section:
    _ = ctx._
    title = _("Gaps and what it would take")
    bench = _optional("benchmark")
    if bench is None:
        return _unavailable("gaps", title, ctx, "benchmark", "gap decomposition and what-it-takes")
    return _benchmark_section(ctx, bench, title)


def _benchmark_section(ctx: _Ctx, bench, title: str) -> Section:
    """Gap decomposition to the leader and what it would take (digimeter.benchmark)."""
    _ = ctx._
    sec = Section("gaps", title)
    main = ctx.indices[ctx.spec]
    r, n = _rank_of(main, ctx.unit)
    if r is None:
        sec.available = False
        sec.paragraphs.append(_("{unit} is not ranked on {index}.").format(unit=ctx.unit_name, index=ctx.index_title(main)))
        return sec
    from . import charts

    g = bench.gap(main, ctx.unit, "leader", store=ctx.store)
    leader = ctx.name_of(main.table().index[0])
    pil = g[g.depth == 1]
    sec.charts["gap_pillars"] = charts.gap_bars(
        pd.DataFrame({"label": [ctx.node_name(main, c) for c in pil.node], "gap": pil.contribution.to_numpy()}),
        x_title=_("contribution to the gap (index points)"), source=ctx.index_source(main))
    sec.chart_titles["gap_pillars"] = _("Why {unit} trails {leader} on {index}: the gap by pillar").format(
        unit=ctx.unit_name, leader=leader, index=ctx.index_title(main))
    ind = g[g.kind == "indicator"].sort_values("contribution", ascending=False)
    sec.tables["gap"] = pd.DataFrame({
        _("indicator"): [ctx.node_name(main, c) for c in ind.node],
        _("pillar"): [ctx.node_name(main, c) for c in ind.parent],
        ctx.unit_name: ind.raw.to_numpy(), leader: ind.raw_reference.to_numpy(),
        _("contribution to the gap"): ind.contribution.to_numpy(), _("share"): ind.share.to_numpy()})
    sec.table_titles["gap"] = _("The gap to {leader}, indicator by indicator (values in natural units)").format(leader=leader)
    total = float(g.attrs.get("total", g.contribution.iloc[0]))
    top = ind.head(3)
    sec.paragraphs.append(_("{unit} is {gap} points behind {leader} on {index}; {items} account for {share} of the gap.").format(
        unit=ctx.unit_name, gap=fmt_num(total, ctx.lang), leader=leader, index=ctx.index_title(main),
        items=", ".join(ctx.node_name(main, c) for c in top.node), share=f"{fmt_num(100 * top.share.sum(), ctx.lang, 0)}%"))
    sec.key_numbers["gap.total"] = round(total, 2)
    sec.key_numbers["gap.top"] = ", ".join(top.node)
    target = 25 if r > 25 else max(1, r - 5)
    by = main.year + 5
    try:
        plan = bench.what_it_takes(main, ctx.unit, rank=target, by=by, store=ctx.store)
    except DigimeterError as e:
        ctx.errors["benchmark.what_it_takes"] = str(e)
        sec.missing.append("what it would take (" + str(e)[:120] + ")")
        return sec
    pt = plan.table[plan.table.change.abs() > 1e-9].sort_values("normalised_change", ascending=False)
    sec.tables["what_it_takes"] = pd.DataFrame({
        _("indicator"): [ctx.node_name(main, c) for c in pt.node], _("measure"): [_(str(m)) for m in pt.measure],
        _("now"): pt.current.to_numpy(), _("change needed"): pt.change.to_numpy(), _("new value"): pt.new.to_numpy(),
        _("fastest plausible pace per year"): pt.pace_per_year.to_numpy(),
        _("at its bound"): [(_("yes") if b else _("no")) for b in pt.at_bound]})
    sec.table_titles["what_it_takes"] = _("What it would take to reach rank {rank} by {year}: the least improvement").format(
        rank=target, year=by)
    if plan.reachable:
        sec.paragraphs.append(_("To reach rank {rank} by {year}, {unit} would need at least: {plan}. Rebuilt with "
                                "these values (other countries unchanged) it ranks {achieved}.").format(
            rank=target, year=by, unit=ctx.unit_name, plan=plan.summary(5), achieved=plan.achieved_rank))
    else:
        sec.paragraphs.append(_("Rank {rank} is out of reach by {year} at the fastest plausible pace; the best "
                                "reachable rank is {best}.").format(rank=target, year=by, best=plan.best_rank))
    sec.key_numbers.update({"what_it_takes.target_rank": target, "what_it_takes.by": by,
                            "what_it_takes.reachable": bool(plan.reachable),
                            "what_it_takes.achieved_rank": plan.achieved_rank})
    return sec


def _regions(ctx: _Ctx) -> Section:
    _ = ctx._
    title = _("Regions")
    rmod = _optional("regions")
    if rmod is None:
        return _unavailable("regions", title, ctx, "regions", "regional map and divide measures")
    sec = Section("regions", title)
    regs = ctx.store.units(kind="region", parent=ctx.unit)
    ind = getattr(ctx, "regional", None)
    if ind is None and len(regs):
        have = set(ctx.store.observations(indicators=list(REGION_INDICATORS), units=regs.code.tolist()).indicator)
        ind = next((i for i in REGION_INDICATORS if i in have), None) or rmod.default_regional_subject(ctx.store, ctx.unit)
    if ind is None:
        sec.available = False
        sec.paragraphs.append(_("No regional data for {unit} in the store.").format(unit=ctx.unit_name))
        sec.missing.append("regional data")
        return sec
    ctx.regional_shown = ind
    # every region of today's layout (older series read on it, population-weighted and marked estimated)
    rep = rmod.region_report(ctx.store, ctx.unit, ind, lang=ctx.lang)
    score = rep.kind == "score"
    meta = ({"name": rep.name, "unit": rep.unit_of_measure} if score else ctx.store.indicator(ind))
    trend = None if score else rmod.divide_trend(ctx.store, ctx.unit, ind)
    geo = rmod.geography(ctx.store, ctx.unit)
    fc = rmod.map_data(ctx.store, ctx.unit, ind, lang=ctx.lang, report=rep) if geo.has_boundaries(rep.layout) else None
    tab = rep.table
    names = dict(zip(tab.unit, tab.name))
    from . import charts

    inputs = ([n.indicator for n in rep.index.index.spec.indicator_nodes()] if score else [ind])
    obs = ctx.store.observations(indicators=inputs, units=tab.unit.tolist(), years=[rep.year])
    src = ctx.origin_label(obs.origin_id.tolist())
    ylabel = f"{_(meta['name'])} ({_(str(meta['unit']))})"
    if fc is not None:
        sec.charts["map"] = charts.choropleth(fc, value_title=_(meta["name"]) if len(meta["name"]) < 30 else "%",
                                              source=src, domain=None)
        sec.chart_titles["map"] = _("{indicator}, {year}, by region").format(indicator=ylabel, year=rep.year)
    else:
        sec.missing.append("regional boundaries (map)")
    sec.charts["bars"] = charts.bars(tab.rename(columns={"name": "label"})[["label", "value"]].dropna(),
                                     x_title=ylabel, source=src)
    sec.chart_titles["bars"] = _("Regions ranked, {year}").format(year=rep.year)
    div = trend.table if trend is not None else pd.DataFrame()
    m = rep.measures
    wl = {"population": _("population-weighted"), "crosswalk": _("weighted by the crosswalk's population"),
          "none": _("unweighted")}.get(m.get("weights"), _("population-weighted"))
    if not div.empty:
        keep = [c for c in ("n", "mean_weighted", "national", "gini", "theil", "cv_weighted", "best", "worst", "gap")
                if c in div.columns]
        d = div[keep].copy()
        d["best"] = d["best"].map(lambda u: names.get(u, u))
        d["worst"] = d["worst"].map(lambda u: names.get(u, u))
        labels = {"n": _("regions"), "mean_weighted": _("population-weighted mean") if m.get("weights") == "population"
                  else _("mean ({weights})").format(weights=wl), "national": _("national figure"),
                  "gini": _("Gini"), "theil": _("Theil"), "cv_weighted": _("coefficient of variation"),
                  "best": _("best region"), "worst": _("worst region"), "gap": _("best-worst gap")}
        sec.tables["divide"] = d.reset_index().rename(columns={"year": _("year"), **labels})
        sec.table_titles["divide"] = _("The regional divide in {indicator}, year by year").format(indicator=ylabel)
        tr = div.reset_index()[["year", "gini"]].rename(columns={"gini": "value"}).assign(series=_("Gini"))
        if "cv_weighted" in div:
            tr = pd.concat([tr, div.reset_index()[["year", "cv_weighted"]].rename(
                columns={"cv_weighted": "value"}).assign(series=_("coefficient of variation"))])
        sec.charts["divide"] = charts.lines(tr, y_title=_("inequality between regions (0 = none)"), source=src,
                                            x_title=_("year"))
        sec.chart_titles["divide"] = _("Is the divide closing?")
        first = div.iloc[0]
        sec.paragraphs.append((_("In {year}, {indicator} ranged from {worst_v} in {worst} to {best_v} in {best} "
                                 "(a gap of {gap} points); the population-weighted Gini between regions was {gini} "
                                 "(it was {gini0} in {year0}).") if m.get("weights") == "population" else
                               _("In {year}, {indicator} ranged from {worst_v} in {worst} to {best_v} in {best} "
                                 "(a gap of {gap} points); the {weights} Gini between regions was {gini} "
                                 "(it was {gini0} in {year0}).")).format(
            year=rep.year, indicator=_(meta["name"]) if score else _(meta["name"]).lower(), weights=wl,
            worst_v=fmt_num(m["worst_value"], ctx.lang), worst=names.get(m["worst"], m["worst"]),
            best_v=fmt_num(m["best_value"], ctx.lang), best=names.get(m["best"], m["best"]),
            gap=fmt_num(m["gap"], ctx.lang), gini=fmt_num(m["gini"], ctx.lang, 3),
            gini0=fmt_num(first["gini"], ctx.lang, 3), year0=int(div.index[0])))
    elif m.get("n"):
        sec.paragraphs.append(_("In {year}, {indicator} ranged from {worst_v} in {worst} to {best_v} in {best}; "
                                "the {weights} Gini between regions was {gini}.").format(
            year=rep.year, indicator=_(meta["name"]) if score else _(meta["name"]).lower(), weights=wl,
            worst_v=fmt_num(m["worst_value"], ctx.lang), worst=names.get(m["worst"], m["worst"]),
            best_v=fmt_num(m["best_value"], ctx.lang), best=names.get(m["best"], m["best"]),
            gini=fmt_num(m["gini"], ctx.lang, 3)))

    def _fmt(x: float, digits: int, signed: bool = False) -> str:
        return ("+" if signed and x >= 0 else "") + fmt_num(x, ctx.lang, digits)

    if trend is not None:
        sec.paragraphs.append(trend.verdict(_, _fmt))
    if m.get("weights") != "population":
        sec.paragraphs.append(_("Weights: {weights} ({why}).").format(weights=wl, why=m.get("weights_note", "")))
    if m.get("national") is not None and m.get("rollup_difference") is not None:
        sec.paragraphs.append((_("Roll-up check: the population-weighted mean of the regions is {mean}, the national "
                                 "figure {national} (difference {diff}).") if m.get("weights") == "population" else
                               _("Roll-up check: the {weights} mean of the regions is {mean}, the national "
                                 "figure {national} (difference {diff}).")).format(
            weights=wl, mean=fmt_num(m["regional_mean"], ctx.lang), national=fmt_num(m["national"], ctx.lang),
            diff=fmt_num(m["rollup_difference"], ctx.lang, 2)))
    thr_src = {"target": _("the declared target"), "national": _("the national figure"),
               "mean": _("the regional mean"), "given": _("the threshold given")}.get(m.get("threshold_source"), "")
    hib = rep.higher_is_better   # the wrong side of the threshold: below it, or above it when lower is better
    if m.get("threshold") is not None and m.get("people_below") is not None:
        sec.paragraphs.append((_("{people} people ({share}) live in regions below {threshold} ({source}).") if hib else
                               _("{people} people ({share}) live in regions above {threshold} ({source}).")).format(
            people=fmt_num(m["people_below"], ctx.lang, 0), share=fmt_num(100 * m["share_below"], ctx.lang) + " %",
            threshold=fmt_num(m["threshold"], ctx.lang), source=thr_src))
    elif m.get("threshold") is not None and m.get("regions_below") is not None:
        sec.paragraphs.append((_("{n} of {total} regions are below {threshold} ({source}).") if hib else
                               _("{n} of {total} regions are above {threshold} ({source}).")).format(
            n=m["regions_below"], total=m["n"], threshold=fmt_num(m["threshold"], ctx.lang), source=thr_src))
    sec.key_numbers.update({"regions.indicator": ind, "regions.year": rep.year, "regions.n": int(m["n"]),
                            "regions.gini": round(float(m["gini"]), 4), "regions.gap": round(float(m["gap"]), 1)})
    n_est = int(tab.estimated.sum()) if "estimated" in tab else 0
    if n_est:
        sec.paragraphs.append(_("Values for {n} regions are estimated from an earlier regional layout "
                                "(population-weighted).").format(n=n_est))
    return sec


def _scenario_for(ctx: _Ctx, tmod) -> Any:
    """The chosen scenario, or the shipped one whose targets concern the unit (None if none)."""
    if ctx.scenario:
        return tmod.load_scenario(ctx.scenario)
    for name in tmod.shipped_scenarios():
        sc = tmod.load_scenario(name)
        if any(t.unit == ctx.unit or (t.units is not None and t.units.parent == ctx.unit) for t in sc.targets):
            return sc
    return None


def _evaluate_targets(ctx: _Ctx):
    """``(scenario, table)`` from digimeter.targets, computed once per report (None if unavailable)."""
    if hasattr(ctx, "_targets_eval"):
        return ctx._targets_eval
    ctx._targets_eval = None
    tmod = _optional("targets")
    if tmod is None:
        return None
    sc = _scenario_for(ctx, tmod)
    if sc is None:
        return None
    # one forecaster for the targets table and the fan charts (forecasts are made once per indicator)
    ctx._forecaster = tmod.Forecaster(ctx.store, max(sc.deadline, 2030), seed=0, n_samples=ctx.samples["targets"])
    table = tmod.evaluate(sc, ctx.store, seed=0, n_samples=ctx.samples["targets"],
                          index_samples=ctx.samples["index"], forecaster=ctx._forecaster)
    ctx._targets_eval = (sc, table)
    return ctx._targets_eval


def _status_word(status: str, _) -> str:
    """The short status from the English sentence (the fallback for rows without a known status code)."""
    s = str(status)
    for key, word in (("already met", _("already met")), ("on track", _("on track")),
                      ("out of reach", _("out of reach at historical paces")),
                      ("needs acceleration", _("needs acceleration")), ("at risk", _("at risk")),
                      ("no data", _("no data"))):
        if s.startswith(key):
            return word
    return s


def _status_words(_) -> dict[str, str]:
    """The short word of each status code of :func:`digimeter.targets.evaluate`."""
    return {"already_met": _("already met"), "met_now_may_slip": _("met now, may slip"),
            "met_now_likely_to_slip": _("met now, likely to slip"), "on_track": _("on track"), "at_risk": _("at risk"),
            "needs_acceleration": _("needs acceleration"), "out_of_reach": _("out of reach at historical paces"),
            "no_data": _("no data"), "no_forecast": _("no forecast"), "no_forecast_stale": _("no forecast")}


def _code_of(row) -> str | None:
    code = row.get("status_code") if hasattr(row, "get") else getattr(row, "status_code", None)
    return code if isinstance(code, str) else None


def _params_of(row) -> dict[str, Any]:
    p = row.get("status_params") if hasattr(row, "get") else getattr(row, "status_params", None)
    return p if isinstance(p, dict) else {}


def _signed(x: float, lang: str) -> str:
    x = float(x)
    digits = 2 if abs(x) < 10 else 1
    return ("+" if x >= 0 else "−") + fmt_num(abs(x), lang, digits)


def status_word(row, lang: str = "en") -> str:
    """A target's status in one or two words, in ``lang``, from its ``status_code`` (the English
    ``status`` sentence only for a code this version does not know)."""
    _ = gettext_for(lang)
    code = _code_of(row)
    words = _status_words(_)
    if code in words:
        return words[code]
    return _status_word(row.get("status") if hasattr(row, "get") else getattr(row, "status", ""), _)


def status_details(row, lang: str = "en") -> str:
    """What the status word leaves out (the numbers behind it), in ``lang``; '' when nothing."""
    _ = gettext_for(lang)
    code, k = _code_of(row), _params_of(row)
    if code not in _status_words(_):   # an unknown code: the English sentence, unless it is the word itself
        full = str(row.get("status") if hasattr(row, "get") else getattr(row, "status", ""))
        return "" if full == status_word(row, "en") else full
    parts = []
    if code == "already_met" and "value" in k and "year" in k:
        digits = 2 if abs(float(k["value"])) < 10 else 1
        parts.append(_("{value} in {year}").format(value=fmt_num(k["value"], lang, digits), year=int(k["year"])))
        if "p_still" in k:
            parts.append(_("may slip back: P(still met in {deadline}) = {p}").format(
                deadline=int(k["deadline"]), p=fmt_num(k["p_still"], lang, 2)))
    elif code in ("met_now_may_slip", "met_now_likely_to_slip"):
        if "value" in k and "year" in k:
            digits = 2 if abs(float(k["value"])) < 10 else 1
            parts.append(_("{value} in {year}").format(value=fmt_num(k["value"], lang, digits), year=int(k["year"])))
        parts.append(_("P(met in {deadline}) = {p}").format(deadline=int(k["deadline"]), p=fmt_num(k.get("p"), lang, 2)))
    elif code == "at_risk":
        parts.append(_("P = {p}: the last 5 years' pace would suffice, but the forecast expects growth to "
                       "slow").format(p=fmt_num(k.get("p"), lang, 2)))
    elif code == "no_forecast":
        parts.append(_("too little data"))
    elif code == "no_forecast_stale":
        parts.append(_("the latest value is from {year}").format(year=int(k["year"])))
    if "required_pace" in k and "achieved_pace" in k:
        tpl = _("needs {required} places per year against {achieved} per year achieved") \
            if k.get("pace_unit") == "places_per_year" else _("needs {required} per year against {achieved} per year achieved")
        parts.append(tpl.format(required=_signed(k["required_pace"], lang), achieved=_signed(k["achieved_pace"], lang)))
    if "n_units" in k:
        parts.append(_("{met} of {n} already meet it").format(met=int(k.get("met", 0)), n=int(k["n_units"])))
    return "; ".join(parts)


def status_text(row, lang: str = "en") -> str:
    """The status word and its details as one phrase, in ``lang``."""
    word, det = status_word(row, lang), status_details(row, lang)
    return f"{word} ({det})" if det and det != word else word


def _desc(sc, _) -> str:
    """A scenario's description in the report's language (shipped scenarios' descriptions are in the
    catalogs, whitespace-normalised; a user's own scenario is shown as written)."""
    text = " ".join((sc.description or "").split())
    return _(text) if text else ""


def _targets(ctx: _Ctx) -> Section:
    _ = ctx._
    title = _("Can the targets be reached in time?")
    tmod = _optional("targets")
    sec = Section("targets", title)
    if tmod is None:
        sec.missing.append("target scenarios and the probability of meeting each target")
        sec.paragraphs.append(_("The probability of meeting each target is not yet available: it needs the "
                                "digimeter.targets module (scenarios such as fully-digital-kz), which is not "
                                "installed in this version of digimeter."))
        _forecast_fans(ctx, sec)
        sec.available = bool(sec.charts)
        return sec
    try:
        ev = _evaluate_targets(ctx)
    except DigimeterError as e:
        ctx.errors["targets"] = str(e)
        sec.available = False
        sec.paragraphs.append(_("The targets could not be evaluated: {error}").format(error=str(e)))
        sec.missing.append("target probabilities")
        return sec
    if ev is None:
        sec.available = False
        sec.paragraphs.append(_("No target scenario concerns {unit}; choose one with --scenario.").format(unit=ctx.unit_name))
        sec.missing.append("a target scenario for this unit")
        return sec
    sc, t = ev
    from . import charts

    tid_name = {x.id: (x.name or x.id) for x in sc.targets}
    head = t[(t.unit == ctx.unit) | (t.unit == "all")].copy()
    head["label"] = [_(tid_name.get(a, a)) + (" " + _("(all regions)") if u == "all" else "")
                     for a, u in zip(head.target, head.unit)]
    sec.paragraphs.append(_("Scenario: {title}. {description}").format(
        title=_(sc.title or sc.name), description=_desc(sc, _)))
    tab = pd.DataFrame({
        _("target"): head.label.to_numpy(),
        _("latest value"): head.latest_value.to_numpy(), _("year"): head.latest_year.to_numpy(),
        _("comparator"): head.comparator.to_numpy(), _("threshold"): head.threshold.to_numpy(),
        _("deadline"): head.deadline.to_numpy(),
        _("met now"): [None if pd.isna(v) else (_("yes") if v else _("no"))
                       for v in head.get("met_now", pd.Series(np.nan, index=head.index))],
        _("P(met)"): head.p_met.to_numpy(),
        _("status"): [status_word(r, ctx.lang) for _i, r in head.iterrows()],
        _("details"): [status_details(r, ctx.lang) or None for _i, r in head.iterrows()]})
    if tab[_("details")].isna().all():   # nothing beyond the status words: no empty column
        tab = tab.drop(columns=[_("details")])
    sec.tables["targets"] = tab
    sec.table_titles["targets"] = _("Each target and the probability of meeting it ({scenario})").format(scenario=sc.name)
    p = head[["label", "p_met"]].rename(columns={"p_met": "value"})
    p["value"] = 100 * p["value"].astype(float)
    sec.charts["probabilities"] = charts.bars(
        p, x_title=_("probability that the target is met at its deadline (%)"), domain=(0, 100),
        source=_("Forecasts: digimeter.targets (calibrated on every country's out-of-sample errors); thresholds: "
                 "scenario {scenario}.").format(scenario=sc.name) + " "
        + _("Met: the state in the deadline year (a target met now may slip back); one-off milestones: any year "
            "up to it."))
    sec.chart_titles["probabilities"] = _("How likely is each target?")
    regional = t[(t.unit != ctx.unit) & (t.unit != "all")]
    if len(regional):
        rt = pd.DataFrame({_("target"): [_(tid_name.get(x, x)) for x in regional.target],
                           _("region"): regional.unit.map(ctx.name_of).to_numpy(),
                           _("latest value"): regional.latest_value.to_numpy(), _("year"): regional.latest_year.to_numpy(),
                           _("threshold"): regional.threshold.to_numpy(), _("P(met)"): regional.p_met.to_numpy(),
                           _("status"): [status_word(r, ctx.lang) for _i, r in regional.iterrows()]})
        if "estimated_years" in regional.columns:   # history read from an earlier layout, or the parent's value
            rt[_("estimated values")] = [_("yes") if isinstance(v, (list, tuple)) and len(v) else _("no")
                                         for v in regional.estimated_years]
        sec.tables["regional_targets"] = rt
        sec.table_titles["regional_targets"] = _("Regional targets, region by region")
    counts = pd.Series([status_word(r, ctx.lang) for _i, r in head.iterrows()]).value_counts()
    sec.key_numbers["targets.scenario"] = sc.name
    for r in head.itertuples():
        sec.key_numbers[f"targets.{r.target}{'.all' if r.unit == 'all' else ''}.p_met"] = (
            None if pd.isna(r.p_met) else round(float(r.p_met), 2))
        if "met_now" in head.columns and not pd.isna(r.met_now):
            sec.key_numbers[f"targets.{r.target}{'.all' if r.unit == 'all' else ''}.met_now"] = bool(r.met_now)
        if isinstance(getattr(r, "met_definition", None), str):   # what p_met means: hold (deadline year) or reach
            sec.key_numbers[f"targets.{r.target}{'.all' if r.unit == 'all' else ''}.met_definition"] = r.met_definition
    sec.paragraphs.append(_("Of {n} targets, {summary}.").format(
        n=len(head), summary="; ".join(f"{k}: {v}" for k, v in counts.items())))
    # fan charts of the unit's indicator targets, from the same forecasting engine
    shown = 0
    for tg in sc.targets:
        if tg.kind != "indicator" or tg.unit != ctx.unit or shown >= ctx.samples["fans"]:
            continue
        try:
            fr, _ifc = tmod.forecast_unit(ctx.store, ctx.unit, tg.indicator, max(sc.deadline, 2030), seed=0,
                                          n_samples=ctx.samples["targets"],
                                          forecaster=getattr(ctx, "_forecaster", None))
        except DigimeterError as e:
            ctx.errors[f"forecast.{tg.indicator}"] = str(e)
            continue
        _fan(ctx, sec, tg.indicator, fr, threshold=float(tg.threshold), deadline=tg.deadline, key=tg.id)
        shown += 1
    return sec


def _fan(ctx: _Ctx, sec: Section, ind: str, fr, *, threshold=None, deadline=None, key=None) -> None:
    from . import charts

    _ = ctx._
    meta = ctx.store.indicator(ind)
    obs = ctx.store.observations(indicators=ind, units=ctx.unit)
    pct = "%" in str(meta["unit"])
    q = fr.quantiles
    cols = list(q.columns)
    qq = pd.DataFrame({"year": q.index.astype(int), "lo90": q[cols[0]].to_numpy(), "lo50": q[cols[1]].to_numpy(),
                       "median": q[cols[2]].to_numpy(), "hi50": q[cols[3]].to_numpy(), "hi90": q[cols[4]].to_numpy()})
    hist = obs[obs.year >= 2005][["year", "value"]].astype(float)
    lab = f"{_(meta['name'])} ({_(str(meta['unit']))})"
    k = f"fan_{key or ind}"
    sec.charts[k] = charts.fan_chart(
        hist, qq, y_title=lab, source=ctx.origin_label(obs.origin_id.tolist()), target=threshold, deadline=deadline,
        domain=(0, 100) if pct else None,
        labels={"year": _("year"), "note": _("Shaded: 50% and 90% prediction intervals; dashed: median forecast; "
                                             "red: the target and its deadline. Method: {model}.").format(model=fr.model)})
    sec.chart_titles[k] = _("{indicator} in {unit}: observed and forecast").format(indicator=_(meta["name"]), unit=ctx.unit_name)


def _forecast_fans(ctx: _Ctx, sec: Section) -> None:
    """Without the targets module: trajectories of key indicators (digimeter.forecast), no targets."""
    _ = ctx._
    fmod = _optional("forecast")
    if fmod is None:
        sec.missing.append("forecast trajectories")
        return
    for ind in FORECAST_INDICATORS:
        obs = ctx.store.observations(indicators=ind, units=ctx.unit)
        if len(obs) < 5:
            continue
        pct = "%" in str(ctx.store.indicator(ind)["unit"])
        try:
            fr = fmod.forecast_series(obs.year.to_numpy(), obs.value.to_numpy(), 2030, lo=0.0,
                                      hi=100.0 if pct else None, seed=0, n_samples=1000, unit=ctx.unit)
        except DigimeterError as e:
            ctx.errors[f"forecast.{ind}"] = str(e)
            continue
        _fan(ctx, sec, ind, fr)
        sec.key_numbers[f"forecast.{ind}.2030.median"] = round(float(fr.quantiles.iloc[-1, 2]), 1)


def _factors_for(ctx: _Ctx, umod, ix) -> tuple[Any, str]:
    """The uncertain choices to vary: a shipped factor file for the spec, else the report's default."""
    try:
        shipped = umod.shipped_factors()
    except Exception:  # no shipped factor folder yet
        shipped = {}
    for key in (ix.name, f"{ix.name}-default"):
        if key in shipped:
            return key, ctx._("the shipped factor set '{name}'").format(name=key)
    f = [{"address": "weights", "noise": 0.25},
         {"address": "exclude", "values": [None, *_pillars(ix)]}]
    return f, ctx._("weights varied by up to ±25% and each pillar left out in turn")


def _robustness(ctx: _Ctx) -> Section:
    _ = ctx._
    title = _("How robust are the ranks?")
    umod = _optional("uncertainty")
    if umod is None:
        return _unavailable("robustness", title, ctx, "uncertainty", "rank intervals and sensitivity indices")
    sec = Section("robustness", title)
    main = ctx.indices[ctx.spec]
    r, n = _rank_of(main, ctx.unit)
    if r is None:
        sec.available = False
        sec.paragraphs.append(_("{unit} is not ranked on {index}.").format(unit=ctx.unit_name, index=ctx.index_title(main)))
        return sec
    factors, described = _factors_for(ctx, umod, main)
    n_samples = ctx.samples["uncertainty"]
    try:
        res = umod.uncertainty(main, factors, n=n_samples, seed=0)
    except DigimeterError as e:
        ctx.errors["uncertainty"] = str(e)
        sec.available = False
        sec.missing.append("rank intervals (" + str(e)[:120] + ")")
        return sec
    sm = res.summary
    root = sm[sm.node == main.name].copy()
    near = root[(root.nominal_rank - r).abs() <= 8]
    peers = set(_peers(ctx, main))
    shown = root[root.unit.isin(set(near.unit) | peers | {ctx.unit})].copy()
    from . import charts

    iv = pd.DataFrame({"label": shown.unit.map(ctx.name_of), "unit": shown.unit, "lo": shown.q05_rank,
                       "mid": shown.median_rank, "hi": shown.q95_rank})
    sec.charts["rank_intervals"] = charts.intervals(iv, unit=ctx.unit, x_title=_("rank (median and 5-95% interval)"),
                                                    source=ctx.index_source(main))
    sec.chart_titles["rank_intervals"] = _("Rank intervals on {index}: {unit}, its neighbours and peers").format(
        index=ctx.index_title(main), unit=ctx.unit_name)
    me = sm[sm.unit == ctx.unit]
    sec.tables["intervals"] = pd.DataFrame({
        _("node"): [ctx.node_name(main, c) if c != main.name else ctx.index_title(main) for c in me.node],
        _("nominal rank"): me.nominal_rank.astype("Int64").to_numpy(), _("median rank"): me.median_rank.to_numpy(),
        _("5% rank"): me.q05_rank.to_numpy(), _("95% rank"): me.q95_rank.to_numpy(),
        _("share of samples at the nominal rank"): me.p_nominal_rank.to_numpy()})
    sec.table_titles["intervals"] = _("{unit}'s ranks under {n} alternative specs").format(unit=ctx.unit_name, n=n_samples)
    k = root[root.unit == ctx.unit].iloc[0]
    sec.key_numbers.update({"uncertainty.n": n_samples, "uncertainty.q05_rank": float(k.q05_rank),
                            "uncertainty.median_rank": float(k.median_rank), "uncertainty.q95_rank": float(k.q95_rank)})
    sec.paragraphs.append(_("Varying the choices behind {index} ({factors}; {n} samples, seed 0), {unit}'s rank stays "
                            "between {lo} and {hi} in 90% of the samples (nominal {r}).").format(
        index=ctx.index_title(main), factors=described, n=n_samples, unit=ctx.unit_name,
        lo=fmt_num(k.q05_rank, ctx.lang, 0), hi=fmt_num(k.q95_rank, ctx.lang, 0), r=r))
    try:
        sr = umod.sensitivity(main, factors, n=ctx.samples["sensitivity"], seed=0)
        ind = sr.indices[sr.indices.output.isin(["mean_abs_rank_shift", ctx.unit])].copy()
        ind["output"] = ind.output.map({"mean_abs_rank_shift": _("mean rank shift of all countries"),
                                        ctx.unit: _("rank of {unit}").format(unit=ctx.unit_name)})
        cols = [c for c in ("output", "factor", "S1", "S1_conf", "ST", "ST_conf") if c in ind.columns]
        sec.tables["sobol"] = ind[cols].rename(columns={"output": _("output"), "factor": _("factor")}).reset_index(drop=True)
        sec.table_titles["sobol"] = _("Sobol' sensitivity indices: which choice moves the ranks (S1 first order, ST total)")
        top = ind.sort_values("ST", ascending=False).iloc[0]
        sec.paragraphs.append(_("The choice that moves the ranks most is '{factor}' (total-order Sobol' index {st}).").format(
            factor=top.factor, st=fmt_num(top.ST, ctx.lang, 2)))
    except DigimeterError as e:
        ctx.errors["sensitivity"] = str(e)
        sec.missing.append("sensitivity indices (" + str(e)[:120] + ")")
    return sec


def _methods(ctx: _Ctx) -> Section:
    _ = ctx._
    sec = Section("methods", _("Methods and data"))
    for ix in ctx.indices.values():
        ids = pd.unique(ix.panel.origins.to_numpy().ravel())
        ctx.used_origins.update(i for i in ids if isinstance(i, str))
    used = sorted(o for o in ctx.used_origins if o in ctx.origins.index)
    o = ctx.origins.loc[used].reset_index()
    cols = ["origin_id", "publisher", "dataset", "edition", "licence", "retrieved", "url", "repository", "sha256"]
    sec.tables["sources"] = o[cols]
    sec.table_titles["sources"] = _("Every source used in this report")
    fp = []
    for name, ix in ctx.indices.items():
        fp.append({"index": name, "year": ix.year, "spec_sha256": ix.fingerprints.get("spec"),
                   "panel_sha256": ix.fingerprints.get("panel"), "data_vintage": ix.fingerprints.get("data_vintage"),
                   "digimeter": ix.fingerprints.get("digimeter")})
        import yaml

        sec.blocks[f"spec_{name}"] = yaml.safe_dump(ix.spec.to_dict(), sort_keys=False, allow_unicode=True, width=100)
    sec.tables["fingerprints"] = pd.DataFrame(fp)
    sec.table_titles["fingerprints"] = _("Input fingerprints (SHA-256) of each index")
    from .store import snapshot_fingerprint

    sec.key_numbers["sources"] = len(used)
    sec.key_numbers["digimeter"] = __version__
    main = ctx.indices[ctx.spec]
    lag = main.panel.lagged()
    sec.paragraphs.append(_("digimeter {version}; bundled data snapshot {snap}. Each index is rebuilt from the "
                            "store with its spec (below): the stages are screen, impute, treat, normalise and "
                            "aggregate, each with the method the spec names.").format(
        version=__version__, snap=snapshot_fingerprint()[:12]))
    if len(lag):
        sec.paragraphs.append(_("{n} values of {index} are older than {year} (the latest within {w} years is used).").format(
            n=len(lag), index=ctx.index_title(main), year=main.year, w=main.spec.year_window))
    if len(main.excluded):
        sec.paragraphs.append(_("{n} countries are not ranked on {index} for lack of data.").format(
            n=len(main.excluded), index=ctx.index_title(main)))
    if ctx.errors:
        sec.paragraphs.append(_("Analyses that failed while this report was made: {items}.").format(
            items="; ".join(f"{k}: {v}" for k, v in ctx.errors.items())))
    return sec


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

CSS = """
:root{--ink:#1b1b1b;--muted:#555;--rule:#ddd;--accent:#D55E00;--blue:#0072B2;--bg:#fff;--soft:#f6f7f9}
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:var(--ink);background:var(--bg);margin:0;line-height:1.5}
header{background:#0b2a4a;color:#fff;padding:28px 40px}
header h1{margin:0 0 6px;font-size:28px}
header .sub{color:#cfe0f3;font-size:14px}
nav.toc{background:var(--soft);border-bottom:1px solid var(--rule);padding:8px 40px;font-size:14px}
nav.toc a{color:var(--blue);margin-right:14px;text-decoration:none}
main{max-width:1100px;margin:0 auto;padding:10px 40px 60px}
section{border-bottom:1px solid var(--rule);padding:18px 0 26px}
h2{font-size:22px;margin:8px 0 10px}
h3{font-size:16px;margin:18px 0 6px;color:#222}
p{max-width:860px}
.lead{font-size:19px;max-width:900px}
.unavailable{background:#fff7e6;border-left:4px solid #E69F00;padding:10px 14px;max-width:860px}
.chart{margin:8px 0 16px;overflow-x:auto}
.chart svg{max-width:100%;height:auto}
table{border-collapse:collapse;font-size:13px;margin:6px 0 14px}
.table-wrap{overflow-x:auto;max-width:100%}
th,td{border-bottom:1px solid var(--rule);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.me td{background:#fdebe0;font-weight:600}
.mono{font-family:"DejaVu Sans Mono",monospace;font-size:11px;word-break:break-all}
td.mono{min-width:9em}
pre{background:var(--soft);padding:10px;font-size:12px;overflow-x:auto;max-height:420px}
.key{display:inline-block;background:var(--soft);border:1px solid var(--rule);border-radius:6px;padding:8px 12px;margin:4px 8px 4px 0}
.key b{font-size:22px;color:var(--accent);display:block}
footer{color:var(--muted);font-size:12px;padding:20px 40px}
details summary{cursor:pointer;color:var(--blue)}
@media print{
@page{size:A4;margin:14mm 12mm}
body{font-size:11px}
header{padding:14px 0;-webkit-print-color-adjust:exact;print-color-adjust:exact}
nav.toc,.downloads,nav.langs{display:none}
main{max-width:none;padding:0}
section{break-before:page;border-bottom:none}
main>section:first-child{break-before:auto}
h2,h3{break-after:avoid}
.chart,.key,tr,pre,.vega-chart{break-inside:avoid}
.chart,.table-wrap{overflow:visible}
details>*{display:block}
table{font-size:8.5px}th,td{padding:2px 4px}th{overflow-wrap:break-word}
}
"""
from .interactive import CHART_CSS  # noqa: E402  (the interactive charts' screen and print rules)

CSS += CHART_CSS


def chart_svg(chart) -> str:
    """An altair chart as inline SVG (vl-convert; no browser, no network)."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict())
    svg = re.sub(r"<\?xml[^>]*\?>", "", svg)
    return svg


def _cell(v: Any, lang: str, col: str) -> tuple[str, bool]:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "–", True
    if isinstance(v, (bool, np.bool_)):
        return str(v), False
    if isinstance(v, (int, np.integer)):
        # years (also a target's deadline) are written without a thousands separator, as floats are below
        yearish = "year" in col.lower() or "год" in col.lower() or "жыл" in col.lower() or 1900 < abs(int(v)) < 2200
        return (str(int(v)) if yearish else fmt_num(v, lang, 0)), True
    if isinstance(v, (float, np.floating)):
        if float(v).is_integer() and abs(v) > 1900 and abs(v) < 2200:
            return str(int(v)), True
        a = abs(float(v))
        digits = 4 if a < 1.5 else (2 if a < 100 else 1)
        return fmt_num(v, lang, digits), True
    return html.escape(str(v)), False


def table_html(df: pd.DataFrame, lang: str, *, highlight: str | None = None, mono: tuple[str, ...] = ()) -> str:
    cols = [str(c) for c in df.columns]
    # a wide table scrolls inside its own box, never the page (long headers in ru/kk)
    out = ["<div class=\"table-wrap\"><table><thead><tr>", "".join(f"<th>{html.escape(c)}</th>" for c in cols),
           "</tr></thead><tbody>"]
    for row in df.itertuples(index=False):
        vals = list(row)
        me = highlight is not None and any(isinstance(v, str) and v == highlight for v in vals)
        out.append("<tr class=\"me\">" if me else "<tr>")
        for c, v in zip(cols, vals):
            text, num = _cell(v, lang, c)
            cls = "mono" if c in mono else ("num" if num else "")
            out.append(f"<td class=\"{cls}\">{text}</td>" if cls else f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def section_body(s: Section, report: Report, svgs: dict[str, str] | None = None) -> str:
    """One section as an HTML fragment (charts inline as SVG); shared by the report and the dashboard."""
    from .interactive import chart_html

    _ = gettext_for(report.lang)
    svgs = svgs if svgs is not None else {}
    parts = []
    if s.id == "headline" and s.key_numbers:
        keys = []
        for name, ix in report.indices.items():
            if f"{name}.rank" in s.key_numbers:
                keys.append((ordinal(s.key_numbers[f"{name}.rank"], report.lang) + f" / {s.key_numbers[f'{name}.n']}",
                             f"{_(ix.spec.title or ix.name)} {ix.year}"))
        if keys:
            parts.append("<div>" + "".join(f"<span class=\"key\"><b>{html.escape(a)}</b>{html.escape(b)}</span>"
                                           for a, b in keys) + "</div>")
    for p in s.paragraphs:
        cls = "lead" if s.id == "headline" else ("unavailable" if not s.available else "")
        parts.append(f"<p class=\"{cls}\">{html.escape(p)}</p>" if cls else f"<p>{html.escape(p)}</p>")
    if s.available and s.missing:
        for m in s.missing:
            parts.append(f"<p class=\"unavailable\">{html.escape(_('Not yet available: {what}.').format(what=m))}</p>")
    for k, ch in s.charts.items():
        key = f"{s.id}_{k}"
        svg = svgs.get(key) or chart_svg(ch)
        svgs[key] = svg
        parts.append(f"<h3>{html.escape(s.chart_titles.get(k, k))}</h3>"
                     + chart_html(ch, svg, key=key, title=s.chart_titles.get(k, k),
                                  labels={"measure": _("unit of measure"), "source": _("source")}))
    for k, df in s.tables.items():
        mono = ("sha256", "spec_sha256", "panel_sha256", "url", "repository")
        tbl = table_html(df, report.lang, highlight=report.unit_name, mono=mono)
        title = html.escape(s.table_titles.get(k, k))
        if len(df) > 25:
            parts.append(f"<h3>{title}</h3><details><summary>{html.escape(_('show {n} rows').format(n=len(df)))}"
                         f"</summary>{tbl}</details>")
        else:
            parts.append(f"<h3>{title}</h3>{tbl}")
    for k, text in s.blocks.items():
        parts.append(f"<h3>{html.escape(_('Spec: {name}').format(name=k.removeprefix('spec_')))}</h3>"
                     f"<details><summary>{html.escape(_('show the YAML'))}</summary><pre>{html.escape(text)}</pre></details>")
    return "\n".join(parts)


def render_html(report: Report, *, svgs: dict[str, str] | None = None) -> str:
    """The report as one self-contained HTML page: inline CSS, SVG and scripts (the charts drawn by the bundled
    vega-embed, :mod:`digimeter.interactive`), no external URLs."""
    import jinja2

    from .interactive import report_scripts

    _ = gettext_for(report.lang)
    svgs = dict(svgs or {})
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    sections = [{"id": s.id, "title": s.title, "body": section_body(s, report, svgs)} for s in report.sections]
    tpl = env.from_string(PAGE)
    return tpl.render(lang=report.lang, title=report.meta["title"], sections=sections,
                      subtitle=_("A digimeter report, {date}; digimeter {version}; main index {index} {year}").format(
                          date=report.meta["generated"], version=report.meta["version"],
                          index=report.meta["main_index"], year=report.meta["main_year"]),
                      contents=_("Contents"),
                      footer=_("Made offline by digimeter {version}. Every number carries its source; see Methods and data.").format(
                          version=report.meta["version"]),
                      css=CSS, markup=jinja2.utils.markupsafe.Markup, scripts=report_scripts())


PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline' 'unsafe-eval'">
<title>{{ title }}</title>
<style>{{ markup(css) }}</style>
</head>
<body>
<header><h1>{{ title }}</h1><div class="sub">{{ subtitle }}</div></header>
<nav class="toc" aria-label="{{ contents }}">{% for s in sections %}<a href="#{{ s.id }}">{{ s.title }}</a>{% endfor %}</nav>
<main>
{% for s in sections %}<section id="{{ s.id }}"><h2>{{ s.title }}</h2>
{{ markup(s.body) }}
</section>
{% endfor %}
</main>
<footer>{{ footer }}</footer>
{{ markup(scripts) }}
</body>
</html>
"""


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", s).strip("_")


def write_report(report: Report, out: str | Path, *, figures: bool = True, png: bool = True,
                 progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write ``report.html`` (self-contained), ``figures/*.svg|png`` and ``tables/*.csv`` + ``tables.xlsx``.

    Returns the paths written: ``{"html": Path, "figures": [...], "tables": [...], "xlsx": Path}``.
    """
    import vl_convert as vlc

    step = progress or (lambda label: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figdir, tabdir = out / "figures", out / "tables"
    written: dict[str, Any] = {"figures": [], "tables": []}
    svgs: dict[str, str] = {}
    _ = gettext_for(report.lang)
    for s in report.sections:
        for k, ch in s.charts.items():
            step(_("Chart: {name}").format(name=f"{s.id}/{k}"))
            key = f"{s.id}_{k}"
            svgs[key] = chart_svg(ch)
            if figures:
                figdir.mkdir(exist_ok=True)
                p = figdir / f"{_safe_name(key)}.svg"
                p.write_text(svgs[key], encoding="utf-8")
                written["figures"].append(p)
                if png:
                    pp = figdir / f"{_safe_name(key)}.png"
                    pp.write_bytes(vlc.svg_to_png(svgs[key], scale=1.5))
                    written["figures"].append(pp)
    step(_("Tables"))
    from ._util.safetext import neutralise_frame

    tabdir.mkdir(exist_ok=True)
    xlsx = out / "tables.xlsx"
    with pd.ExcelWriter(xlsx, engine="openpyxl") as xw:
        for s in report.sections:
            for k, df in s.tables.items():
                name = _safe_name(f"{s.id}_{k}")
                p = tabdir / f"{name}.csv"
                neutralise_frame(df).to_csv(p, index=False)   # text is never a spreadsheet formula
                written["tables"].append(p)
                clean = neutralise_frame(df)
                for c in clean.columns:
                    if str(clean[c].dtype) in ("Int64", "Float64", "string", "str"):
                        clean[c] = clean[c].astype(object).where(clean[c].notna(), None)
                clean.to_excel(xw, sheet_name=name[:31], index=False)
    written["xlsx"] = xlsx
    step(_("Writing the HTML file"))
    page = render_html(report, svgs=svgs)
    html_path = out / "report.html"
    html_path.write_text(page, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1, default=str),
                                     encoding="utf-8")
    (out / "skeleton.txt").write_text(report.skeleton(), encoding="utf-8")
    written["html"] = html_path
    written["sha256"] = hashlib.sha256(page.encode()).hexdigest()
    return written


EXTERNAL = re.compile(r"""<(script|link|img|iframe|source|video|audio|embed|object|image|use)\b[^>]*?\b(src|href|xlink:href|data)\s*=\s*["']?\s*(https?:)?//""",
                      re.IGNORECASE)


def external_references(page: str) -> list[str]:
    """Elements of an HTML page that would load something from the network (should be none)."""
    out = [m.group(0) for m in EXTERNAL.finditer(page)]
    out += re.findall(r"url\(\s*['\"]?https?://[^)]*\)", page)
    out += re.findall(r"@import\s+['\"]?https?://", page)
    return out
