"""make_report: build the indices once and run each section builder over one :class:`ReportContext`."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from .. import __version__
from ..errors import NotFoundError
from ..i18n import translations
from .model import BASE_SPECS, DEFAULT_SAMPLES, SECTION_IDS, Report, ReportContext
from .sections import BUILDERS


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
        spec (``kz-regions``). Default (:func:`digimeter.regions.default_regional_subject`): the
        shipped regional spec where one exists, else the best-covered regional indicator
        (:func:`digimeter.regions.regional_indicators`). With a spec (a score of one year) the section
        also shows the divide year by year of :func:`digimeter.regions.divide_indicator`.
    """
    from ..store import open_store

    translations(lang)  # fail early on an unknown language
    own = store is None
    store = store or open_store()
    step = progress or (lambda label: None)
    try:
        code = store.unit(unit)["code"]
        ctx = ReportContext(code, spec, scenario, lang, store)
        ctx.wanted = tuple(sections) if sections is not None else SECTION_IDS
        ctx.regional = regional
        unknown = [x for x in ctx.wanted if x not in SECTION_IDS]
        if unknown:
            raise NotFoundError(f"unknown report section(s): {', '.join(unknown)}", field="sections",
                                value=unknown, fix=f"use: {', '.join(SECTION_IDS)}")
        ctx.samples = {**DEFAULT_SAMPLES, **(samples or {})}
        _ = ctx._
        from ..build import build

        specs = list(dict.fromkeys([*BASE_SPECS, spec]))
        for s in specs:
            step(_("Building {spec}").format(spec=s))
            ctx.indices[s] = build(s, store)
        sections = []
        for sid, fn in BUILDERS:
            if sid not in ctx.wanted:
                continue
            step(_("Section: {name}").format(name=sid))
            sections.append(fn(ctx))
        main = ctx.indices[spec]
        meta = {"title": _("How digital is {unit}?").format(unit=ctx.unit_name),
                "generated": date.today().isoformat(), "version": __version__,
                "main_index": main.name, "main_year": main.year,
                "fingerprints": {k: ix.fingerprints for k, ix in ctx.indices.items()}}
        if ctx.regional_shown:
            meta["regional"] = ctx.regional_shown
        return Report(unit=code, unit_name=ctx.unit_name, lang=lang, spec=spec, scenario=scenario,
                      sections=sections, meta=meta, indices=ctx.indices)
    finally:
        if own:
            store.close()
