"""Words: the message catalogs (gettext, en/ru/kk), ordinals, numbers in each language's style, and the
words for a target's status.

Every interface string goes through gettext catalogs under ``digimeter/data/locale`` (English is the
source; ``ru`` and ``kk`` are read from their ``.po`` files with Babel). The report, the dashboard and the
what-if page share these words.
"""

from __future__ import annotations

import gettext
import io
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .errors import NotFoundError

LANGS = ("en", "ru", "kk")
DOMAIN = "digimeter"


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
    """``_`` of ``lang``. An empty string stays empty (gettext itself answers ``""`` with the catalog's
    header, "Project-Id-Version: ...", which a label left blank by the data must never show)."""
    t = translations(lang)

    def _(msg: str) -> str:
        return t.gettext(msg) if msg else msg

    return _


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


def status_words(_) -> dict[str, str]:
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
    words = status_words(_)
    if code in words:
        return words[code]
    return _status_word(row.get("status") if hasattr(row, "get") else getattr(row, "status", ""), _)


def status_details(row, lang: str = "en") -> str:
    """What the status word leaves out (the numbers behind it), in ``lang``; '' when nothing."""
    _ = gettext_for(lang)
    code, k = _code_of(row), _params_of(row)
    if code not in status_words(_):   # an unknown code: the English sentence, unless it is the word itself
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


def status_code_or_word(row) -> str:
    """A row's status code; for a row without one, the code read from its English sentence."""
    code = _code_of(row)
    if code:
        return code
    s = str(row.get("status", ""))
    return "already_met" if s.startswith("already met") else "on_track" if s.startswith("on track") else s
