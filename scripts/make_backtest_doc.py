"""Regenerate the tables of docs/backtest.md (everything after its "## Tables" heading) from the bundled
data: the backtest of each indicator (`digimeter backtest IND --compare-methods`) as the tests compute it.

tests/test_backtest.py recomputes the tables and fails when the document differs (number by number,
within one unit of the last printed digit). The prose above "## Tables" quotes these numbers and is
edited by hand.

Run: python scripts/make_backtest_doc.py        (or: make docs)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "backtest.md"
INDICATORS = ("internet_users_pct", "mobile_broadband_per100", "fixed_broadband_per100", "pop_cov_4g_pct")
HEADING = "## Tables\n"


def main() -> int:
    from digimeter.store import open_store
    from digimeter.targets.backtest import METHODS_COMPARED, backtest_markdown, backtest_report, method_comparison

    with tempfile.TemporaryDirectory() as home:
        with open_store(Path(home) / "digimeter.duckdb") as s:   # made afresh from the bundled snapshot
            reports = {ind: backtest_report(s, ind) for ind in INDICATORS}
            comparisons = {ind: method_comparison([reports[ind]] + [backtest_report(s, ind, method=m)
                                                                    for m in METHODS_COMPARED
                                                                    if m != reports[ind].method])
                           for ind in INDICATORS}
    text = DOC.read_text(encoding="utf-8")
    if HEADING not in text:
        print(f"{DOC}: no '{HEADING.strip()}' heading to put the tables under", file=sys.stderr)
        return 1
    head = text[:text.index(HEADING) + len(HEADING)]
    DOC.write_text(head + "\n" + backtest_markdown([reports[i] for i in INDICATORS], comparisons), encoding="utf-8")
    print(f"wrote the tables of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
