"""The number-by-number comparison that the document and golden-file tests use (issue 12)."""

import re
from pathlib import Path

from hypothesis import given, strategies as st

from numtext import NUMBER, line_differences, missing_lines, numbers_agree

DOC = Path(__file__).resolve().parents[1] / "docs" / "backtest.md"


def _rows() -> list[str]:
    return [line for line in DOC.read_text(encoding="utf-8").splitlines()
            if line.startswith("|") and NUMBER.search(line)]


def _bump_last_digit(tok: str) -> str:
    """One unit more in the last printed digit (61.778 -> 61.779, 9 -> 10)."""
    digits = re.sub(r"\D", "", tok.split("e")[0])
    dec = len(tok.split(".")[1]) if "." in tok else 0
    v = (int(digits) + 1) / 10 ** dec
    return ("-" if tok.startswith("-") else "") + f"{v:.{dec}f}"


def test_the_docs_table_check_passes_numbers_changed_in_their_last_printed_digit():
    rows = _rows()
    assert len(rows) > 20
    bumped = [NUMBER.sub(lambda m: _bump_last_digit(m.group()), r) for r in rows]
    assert bumped != rows
    assert missing_lines(bumped, DOC.read_text(encoding="utf-8")) == []


def test_the_docs_table_check_fails_a_change_in_the_second_significant_digit():
    text = DOC.read_text(encoding="utf-8")
    rows = _rows()
    # a number printed with 3+ significant digits, e.g. 61.778 -> 62.778 (second digit + 1)
    for i, r in enumerate(rows):
        m = next((m for m in NUMBER.finditer(r) if len(re.sub(r"\D", "", m.group()).lstrip("0")) >= 3), None)
        if m:
            break
    tok = m.group()
    lead = len(tok) - len(tok.lstrip("-0."))
    pos = next(j for j in range(lead + 1, len(tok)) if tok[j].isdigit())
    changed = tok[:pos] + str((int(tok[pos]) + 1) % 10) + tok[pos + 1:]
    row = r[:m.start()] + changed + r[m.end():]
    assert missing_lines([row], text) == [row]


def test_words_must_match_exactly():
    assert line_differences("| 2012 | logistic | 61.778 |", "| 2012 | gompertz | 61.778 |")
    assert not line_differences("| 2012 | logistic | 61.778 |", "| 2012 | logistic | 61.779 |")


@given(st.floats(min_value=1, max_value=1e6, allow_nan=False), st.integers(min_value=0, max_value=4))
def test_a_number_agrees_with_itself_rounded_either_way(x, dec):
    a = f"{x:.{dec}f}"
    b = f"{float(a) + 10 ** -dec:.{dec}f}"
    assert numbers_agree(a, a) and numbers_agree(a, b)
    c = f"{float(a) + 3 * 10 ** -dec:.{dec}f}"
    assert not numbers_agree(a, c)
