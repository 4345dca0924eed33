"""The report as data: :class:`Section` and :class:`Report` (sentences, tables, charts and key numbers;
no HTML), the :class:`ReportContext` the section builders share, and the helpers they have in common.
"""

from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import __version__
from .._util.jsonsafe import jsonable, records
from ..errors import NotFoundError
from ..i18n import gettext_for

#: Indices shown side by side (besides the chosen spec).
BASE_SPECS = ("egdi", "digital-nation")
#: Indicators whose trajectories the targets section shows when the targets module is not there.
FORECAST_INDICATORS = ("internet_users_pct", "households_internet_pct", "fixed_broadband_per100")
SECTION_IDS = ("headline", "rankings", "profile", "gaps", "regions", "targets", "robustness", "methods")
#: Sample sizes of the Monte Carlo analyses and the number of fan charts (``make_report(samples=...)``).
DEFAULT_SAMPLES = {"uncertainty": 512, "sensitivity": 256, "targets": 1000, "index": 100, "fans": 3}


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
                "charts": {k: {"title": self.chart_titles.get(k, k), "spec": copy.deepcopy(spec_of(v))}
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


class ReportContext:
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
        self.wanted: tuple[str, ...] = SECTION_IDS    # the sections being computed
        self.regional: str | None = None              # the regions section's indicator or spec (None: default)
        self.regional_shown: str | None = None        # what the regions section showed
        self.samples: dict[str, int] = dict(DEFAULT_SAMPLES)
        # computed once per report and shared by sections: "published" (benchmark.rankings), "targets"
        # ((scenario, table) from targets.evaluate), "fans" (the fan charts' forecasts made with it) and,
        # until the targets are asked for, "targets_job" (the same work running in a second process)
        self.cache: dict[str, Any] = {}

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
        return meta_of(ix)

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


def optional(module: str):
    """Import ``digimeter.<module>`` if it exists; None if it is not there yet.

    The sections call it as ``model.optional(...)`` (looked up here at each call), so a test can stand in
    for a missing module by replacing this one function."""
    try:
        return importlib.import_module(f"digimeter.{module}")
    except ModuleNotFoundError as e:
        if e.name in (f"digimeter.{module}",):
            return None
        raise


def unavailable(sid: str, title: str, ctx: ReportContext, module: str, what: str) -> Section:
    _ = ctx._
    msg = _("This analysis is not yet available: it needs the {module} module, which is not "
            "installed in this version of digimeter.").format(module=f"digimeter.{module}")
    return Section(sid, title, available=False, paragraphs=[msg], missing=[what])


def unranked(sec: Section, ctx: ReportContext, ix) -> Section:
    """``sec`` marked unavailable because the unit has no rank on ``ix`` (a section's early return)."""
    sec.available = False
    sec.paragraphs.append(ctx._("{unit} is not ranked on {index}.").format(unit=ctx.unit_name,
                                                                             index=ctx.index_title(ix)))
    return sec


def rank_of(ix, unit: str) -> tuple[int | None, int]:
    t = ix.table()
    n = int(t["rank"].notna().sum())
    if unit not in t.index or pd.isna(t.loc[unit, "rank"]):
        return None, n
    return int(t.loc[unit, "rank"]), n


def _remembered(cache: dict, obj, make, limit: int):
    """``make(obj)``, kept in ``cache`` by the object's identity (the object is kept too, so its id is not
    reused while the entry lives); the cache is emptied when it holds more than ``limit`` entries."""
    hit = cache.get(id(obj))
    if hit is None or hit[0] is not obj:
        if len(cache) > limit:
            cache.clear()
        hit = cache[id(obj)] = (obj, make(obj))
    return hit[1]


_SPECS: dict[int, tuple[Any, dict]] = {}


def spec_of(chart) -> dict:
    """A chart's Vega-Lite spec (``chart.to_dict()``, validated), made once per chart: its SVG, its
    interactive twin and the JSON read it (altair's validation is slow). Shared: do not change it; a dict is
    its own spec."""
    if isinstance(chart, dict):
        return chart
    return _remembered(_SPECS, chart, lambda c: c.to_dict(), 256)


_META: dict[int, tuple[Any, pd.DataFrame]] = {}


def meta_of(ix) -> pd.DataFrame:
    """``ix.meta()``, remembered (it is called often and is not cheap)."""
    return _remembered(_META, ix, lambda i: i.meta(), 64)


def pillars_of(ix) -> list[str]:
    m = meta_of(ix)
    return m.code[m.depth == 1].tolist()


def peers_of(ctx: ReportContext, ix) -> list[str]:
    """Peers of the unit: the countries of its UN sub-region that the index ranks."""
    sub = ctx.unit_row.get("un_subregion")
    u = ctx.units
    cand = u.code[(u.un_subregion == sub) & (u.code != ctx.unit)].tolist() if sub else []
    return [c for c in cand if c in ix.scores.index and pd.notna(ix.rank.get(c))]
