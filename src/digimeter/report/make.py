"""make_report: build the indices once and run each section builder over one :class:`ReportContext`."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from .. import __version__
from ..errors import NotFoundError
from ..i18n import translations
from .model import BASE_SPECS, DEFAULT_SAMPLES, SECTION_IDS, Report, ReportContext, Section, optional
from .offload import TargetsJob
from .sections import BUILDERS

#: the sections that wait for the targets' forecasts (computed after the others, before the methods)
AFTER_TARGETS = ("headline", "targets")


def _compute_sections(ctx: ReportContext, step: Callable[[str], None],
                      on_section: Callable[[Section], None] | None) -> list[Section]:
    """Every wanted section, computed in the order make_report's docstring gives, returned in BUILDERS' order."""
    wanted = [(i, sid, fn) for i, (sid, fn) in enumerate(BUILDERS) if sid in ctx.wanted]
    done: dict[int, Section] = {}
    for i, sid, fn in sorted(wanted, key=lambda w: (w[1] == "methods", w[1] in AFTER_TARGETS, w[0])):
        step(ctx._("Section: {name}").format(name=sid))
        done[i] = fn(ctx)
        if on_section is not None:
            on_section(done[i])
    return [done[i] for i, _sid, _fn in wanted]


def make_report(unit: str = "KAZ", spec: str = "digital-nation", *, scenario: str | None = None,
                lang: str = "en", store=None, progress: Callable[[str], None] | None = None,
                sections: Any = None, samples: dict[str, int] | None = None,
                regional: str | None = None, on_section: Callable[[Section], None] | None = None) -> Report:
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
    on_section : callable, optional
        Called with each section as soon as it is computed (:func:`~digimeter.report.cached_report` starts
        drawing its charts then).

    The sections that need the targets' forecasts (:data:`AFTER_TARGETS`) are computed after the others,
    as the forecasts are made meanwhile in a second process (:mod:`digimeter.report.offload`), and the
    methods, which list the sources every other section used, last; the report keeps its order.
    """
    from ..store.cache import open_reading_store

    translations(lang)  # fail early on an unknown language
    own = store is None
    store = store or open_reading_store()
    step = progress or (lambda label: None)
    ctx = None
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
        if "targets" in ctx.wanted and optional("targets") is not None:
            # the slowest step, the targets' forecasts, made in a second process beside the other sections
            ctx.cache["targets_job"] = TargetsJob.start(store, code, scenario, ctx.samples)
        _ = ctx._
        from ..build import build

        specs = list(dict.fromkeys([*BASE_SPECS, spec]))
        for s in specs:
            step(_("Building {spec}").format(spec=s))
            ctx.indices[s] = build(s, store)
        sections = _compute_sections(ctx, step, on_section)
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
        job = ctx.cache.pop("targets_job", None) if ctx is not None else None
        if job is not None:   # the report failed before the targets were asked for
            job.close()
        if own:
            store.close()
