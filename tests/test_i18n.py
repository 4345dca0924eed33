"""Message catalogs: every interface string the code uses has a Russian and a Kazakh translation.

The msgids are extracted from the code itself (Babel's Python extractor over every module of the
package, wherever a move puts it, plus the ``_('...')`` calls inside the dashboard's Jinja templates,
which live in Python strings), so a new string without a translation fails here, not in front of a reader.

Names that reach ``_()`` from data are checked separately: the titles of the shipped specs and
scenarios, the names of their pillars and sub-pillars (interface labels in the report and the
dashboard), and target names. Indicator names (the leaves of a spec tree, and ``store.indicator(...)
["name"]``) are data from the sources: they are translated when the catalog has them and may stay
English otherwise, so they are not required here.
"""

from __future__ import annotations

import re
import string
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from digimeter import report as R

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import make_pot  # noqa: E402  (scripts/make_pot.py: the msgids the product shows, and the template)

LANGS = ("ru", "kk")
code_msgids = make_pot.code_msgids


@pytest.fixture(scope="module", params=LANGS)
def catalog(request):
    po = R.locale_dir() / request.param / "LC_MESSAGES" / f"{R.DOMAIN}.po"
    with po.open("rb") as fh:
        return request.param, read_po(fh, locale=request.param)


def _missing(cat, msgids) -> list[str]:
    out = []
    for m in msgids:
        msg = cat.get(m)
        if msg is None or not msg.string or not str(msg.string).strip():
            out.append(m)
    return out


def test_extraction_finds_the_interface():
    ids = code_msgids()
    assert len(ids) > 150
    for known in ("The answer in brief", "Methods and data", "compare with", "at risk", "Upload a spec"):
        assert known in ids, known


def test_every_code_msgid_is_translated(catalog):
    lang, cat = catalog
    ids = code_msgids()
    missing = _missing(cat, ids)
    assert not missing, f"{lang}: {len(missing)} untranslated:\n" + "\n".join(f"  {ids[m]}: {m!r}" for m in missing)


def _fields(s: str) -> set[str]:
    return {f for _lit, f, _spec, _conv in string.Formatter().parse(s) if f is not None}


def test_translations_use_only_the_msgid_placeholders(catalog):
    lang, cat = catalog
    bad = []
    for msg in cat:
        if not msg.id or not msg.string or not isinstance(msg.id, str):
            continue
        try:
            want, got = _fields(msg.id), _fields(msg.string)
        except ValueError:
            continue  # not a format string
        if not got <= want:   # a translation may leave a name out (grammar), never add one (KeyError)
            bad.append(f"{msg.id!r}: {sorted(want)} vs {lang} {sorted(got)}")
    assert not bad, "\n".join(bad)


def test_shipped_spec_and_scenario_names_are_translated(catalog):
    lang, cat = catalog
    want = make_pot.data_msgids()
    assert len(want) > 20 and "Fully digital Kazakhstan by 2028" in want
    missing = _missing(cat, want)
    assert not missing, f"{lang}:\n" + "\n".join(f"  {want[m]}: {m!r}" for m in missing)


def test_ranking_names_regions_and_units_of_measure_are_translated(catalog, store):
    """Labels the rankings table and the charts show: published rankings' names and families, UN
    regions and sub-regions (peer groups), and the units of measure of every indicator the shipped
    specs and the regions section use."""
    from digimeter.regions import default_regional_subject

    lang, cat = catalog
    # the regions section's default (the regional spec, whose inputs make_pot reads) and its divide's indicator
    assert default_regional_subject(store, "KAZ") == "kz-regions"
    want = make_pot.label_msgids(store)
    assert {"Asia", "Central Asia", "% of population"} <= set(want)
    missing = _missing(cat, want)
    assert not missing, f"{lang}:\n" + "\n".join(f"  {want[m]}: {m!r}" for m in missing)


def test_the_translators_template_holds_every_msgid(store):
    """digimeter.pot is what a new language starts from: regenerate it with scripts/make_pot.py."""
    with make_pot.POT.open("rb") as fh:
        pot = {m.id for m in read_po(fh) if m.id}
    want = {**make_pot.code_msgids(), **make_pot.data_msgids(), **make_pot.label_msgids(store)}
    missing = sorted(set(want) - pot)
    assert not missing, f"{len(missing)} msgids missing from {make_pot.POT.name} (python scripts/make_pot.py): {missing[:5]}"


STATUS_ROWS = [
    {"status_code": "already_met", "status_params": {"value": 91.3, "year": 2023}, "status": "already met (91.3 in 2023)"},
    {"status_code": "already_met", "status_params": {"value": 91.3, "year": 2023, "p_still": 0.6, "deadline": 2028},
     "status": "already met (91.3 in 2023); may slip back: P(still met in 2028) = 0.60"},
    {"status_code": "met_now_likely_to_slip", "status_params": {"value": 24.0, "year": 2024, "p": 0.32, "deadline": 2028},
     "status": "met now (24 in 2024), likely to slip by 2028: P = 0.32"},
    {"status_code": "met_now_may_slip", "status_params": {"value": 0.9009, "year": 2024, "p": 0.6, "deadline": 2028},
     "status": "met now (0.9009 in 2024), may slip by 2028: P = 0.60"},
    {"status_code": "met_now_may_slip", "status_params": {"p": 0.6, "met": 20, "n_units": 20, "deadline": 2028},
     "status": "met now, may slip by 2028: P = 0.60 (20 of 20 meet it now)"},
    {"status_code": "on_track", "status_params": {"p": 0.93}, "status": "on track"},
    {"status_code": "at_risk", "status_params": {"p": 0.77},
     "status": "at risk (P = 0.77): the last 5 years' pace would suffice, but the forecast expects growth to slow"},
    {"status_code": "needs_acceleration", "status_params": {"p": 0.3, "required_pace": 3.2, "achieved_pace": 1.1,
                                                            "pace_unit": "per_year"},
     "status": "needs acceleration: needs +3.2/yr against +1.1/yr achieved"},
    {"status_code": "out_of_reach", "status_params": {"p": 0.01, "required_pace": -4.0, "achieved_pace": -0.5,
                                                      "pace_unit": "places_per_year"},
     "status": "out of reach at historical paces: needs -4 places/yr against -0.5/yr achieved"},
    {"status_code": "on_track", "status_params": {"p": 0.85, "met": 14, "n_units": 17},
     "status": "on track (14 of 17 already meet it)"},
    {"status_code": "no_data", "status_params": {}, "status": "no data"},
    {"status_code": "no_forecast", "status_params": {}, "status": "no forecast (too little data)"},
    {"status_code": "no_forecast_stale", "status_params": {"year": 2012}, "status": "no forecast: latest value is from 2012"},
]


@pytest.mark.parametrize("row", STATUS_ROWS, ids=lambda r: r["status_code"])
@pytest.mark.parametrize("lang", LANGS)
def test_target_statuses_are_rendered_from_their_code(row, lang):
    word, details = R.status_word(row, lang), R.status_details(row, lang)
    text = R.status_text(row, lang)
    assert word and word != R.status_word(row, "en")
    assert not re.search(r"[A-Za-z]{3,}", word), word           # no English left in the word
    assert not re.search(r"\b(?:already|needs|against|achieved|slip|forecast|data)\b", text), text
    assert word not in details                                     # each said once (status vs details)
    for k in ("year", "deadline", "met", "n_units"):
        if k in row["status_params"]:
            assert str(row["status_params"][k]) in text


def test_status_falls_back_to_english_for_unknown_codes():
    row = {"status_code": "something_new", "status_params": {}, "status": "something new happened (P = 0.5)"}
    assert R.status_word(row, "kk") == "something new happened (P = 0.5)"   # shown once, in English
    assert R.status_details(row, "kk") == ""
    row = {"status": "on track"}   # an older table without codes
    assert R.status_word(row, "ru") == R.gettext_for("ru")("on track")
    assert R.status_details(row, "ru") == ""


def test_every_status_code_of_targets_has_a_word():
    import inspect

    from digimeter import targets as T

    codes = set(re.findall(r'"([a-z_]+)"', inspect.getsource(T.status_code)))
    codes |= {"no_data", "no_forecast_stale"}
    words = R.status_words(R.gettext_for("kk"))
    known = {c for c in codes if c in words}
    assert {"already_met", "on_track", "at_risk", "needs_acceleration", "out_of_reach", "no_forecast",
            "met_now_may_slip", "met_now_likely_to_slip"} <= known
    # a code emitted by targets.evaluate that the report does not know would fall back to English
    emitted = set(re.findall(r'"status_code": "([a-z_]+)"', inspect.getsource(T.evaluation)))
    assert emitted <= set(words), emitted - set(words)


@pytest.mark.parametrize("lang", ("en", *LANGS))
def test_an_empty_label_stays_empty(lang):
    """gettext("") is the catalog's header ("Project-Id-Version: ..."); an indicator without a unit of
    measure showed it on the Russian and Kazakh what-if pages."""
    assert R.gettext_for(lang)("") == ""
