"""Compare generated text with a committed copy number by number (issue 12).

Printed numbers are rounded: a curve fit's third decimal can change with the machine or a library
build, so the last printed digit is not stable. Two texts agree when their words are identical and
each pair of numbers differs by at most one unit in the last printed place (of the less precise one).
A change in the second significant digit of a number printed with three or more significant digits
is therefore caught.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?(?![\w])")


def _value(tok: str) -> tuple[float, float]:
    """``(value, one unit in the last printed place)`` of a printed number."""
    t = tok.replace("−", "-").replace(",", ".")
    mant = re.split(r"[eE]", t)[0]
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    exp = int(re.split(r"[eE]", t)[1]) if re.search(r"[eE]", t) else 0
    return float(t), 10.0 ** (exp - decimals)


def split(text: str) -> tuple[list[str], list[str]]:
    """The text's words (numbers replaced by ``#``) and its numbers, in order."""
    nums = NUMBER.findall(text)
    return NUMBER.split(text), nums


def numbers_agree(a: str, b: str) -> bool:
    va, ua = _value(a)
    vb, ub = _value(b)
    return abs(va - vb) <= max(ua, ub) * (1 + 1e-6) + 1e-12 * max(abs(va), abs(vb))


def line_differences(generated: str, committed: str) -> list[tuple[str, str]]:
    """Lines of ``generated`` that do not agree with the line at the same place of ``committed``."""
    g, c = generated.splitlines(), committed.splitlines()
    out = [(x, y) for x, y in zip(g, c) if not same_line(x, y)]
    out += [(x, "") for x in g[len(c):]] + [("", y) for y in c[len(g):]]
    return out


def same_line(a: str, b: str) -> bool:
    wa, na = split(a)
    wb, nb = split(b)
    return wa == wb and len(na) == len(nb) and all(numbers_agree(x, y) for x, y in zip(na, nb))


def missing_lines(generated_lines: list[str], committed: str) -> list[str]:
    """Generated lines with no agreeing line in ``committed`` (order-free, for generated tables)."""
    index: dict[tuple[str, ...], list[str]] = {}
    for line in committed.splitlines():
        index.setdefault(tuple(split(line)[0]), []).append(line)
    return [g for g in generated_lines
            if not any(same_line(g, c) for c in index.get(tuple(split(g)[0]), []))]
