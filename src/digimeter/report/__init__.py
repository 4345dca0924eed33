"""The report: how digital a country is, what holds it back, and whether it can reach its targets.

:func:`make_report` computes every section from the library (build, regions, forecast, and the
benchmark/targets/uncertainty modules when they are installed) and returns a :class:`Report`:
plain data (sentences, tables, altair charts, key numbers) with no HTML in it. :func:`render_html`
turns it into one self-contained HTML file (styles and charts inlined as SVG; nothing loads from the
network), and :func:`write_report` writes that file with PNG/SVG figures and CSV/XLSX tables.
The dashboard (:mod:`digimeter.web`) shows the same sections, so the numbers agree everywhere.

A section whose module is not installed yet says so plainly; nothing is ever made up.

Languages: every interface string goes through gettext catalogs under ``digimeter/data/locale``
(``en``, ``ru``, ``kk``; :mod:`digimeter.i18n`); unit names come from the data.

The package, by what its modules do: :mod:`digimeter.i18n` (words: catalogs, ordinals, numbers,
status words), :mod:`.model` (the report as data and the context the sections share), :mod:`.sections`
(one builder per section), :mod:`.make` (:func:`make_report`) and :mod:`.html` (the page and the files).
"""

from __future__ import annotations

from ..i18n import (DOMAIN, LANGS, fmt_num, gettext_for, locale_dir, ordinal, status_code_or_word, status_details,
                    status_text, status_word, status_words, translations)
from . import model
from .cache import cached_report, report_key
from .html import CSS, EXTERNAL, PAGE, chart_svg, external_references, render_html, render_svgs, section_body, \
    table_html, write_report
from .make import make_report
from .model import (BASE_SPECS, DEFAULT_SAMPLES, FORECAST_INDICATORS, SECTION_IDS, Report,
                    ReportContext, Section, optional)


__all__ = ["BASE_SPECS", "CSS", "DEFAULT_SAMPLES", "DOMAIN", "EXTERNAL", "FORECAST_INDICATORS", "LANGS", "PAGE",
           "Report", "ReportContext", "SECTION_IDS", "Section", "cached_report", "chart_svg",
           "external_references", "fmt_num", "gettext_for", "locale_dir", "make_report", "model", "optional",
           "ordinal", "render_html", "render_svgs", "report_key", "section_body", "status_code_or_word",
           "status_details", "status_text",
           "status_word", "status_words", "table_html", "translations", "write_report"]
