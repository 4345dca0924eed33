"""Write the translators' template src/digimeter/data/locale/digimeter.pot from what the product shows.

Three kinds of msgid, each with where it comes from:

- the interface: every ``_('...')`` of the package's modules (Babel's Python extractor, wherever a move
  puts a module) and of the dashboard's Jinja templates kept in Python strings;
- names from the shipped data that reach ``_()`` as labels: spec and scenario titles, pillar and
  sub-pillar names, scenario descriptions and target names;
- labels of the rankings table and the charts: published rankings' names and families, UN regions and
  sub-regions, and the units of measure of the indicators the shipped specs use (read from a store made
  afresh from the bundled snapshot).

tests/test_i18n.py uses the same functions: every msgid must have a Russian and a Kazakh translation,
and the template must hold every one of them.

Run: python scripts/make_pot.py        (or: make docs)
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "digimeter"
POT = SRC / "data" / "locale" / "digimeter.pot"
TEMPLATE_CALL = re.compile(r"""_\(\s*'((?:[^'\\]|\\.)*)'\s*\)""")


def code_msgids() -> dict[str, str]:
    """The interface's msgids -> where each is first used (``path:line``)."""
    from babel.messages.extract import extract_from_file

    ids: dict[str, str] = {}
    for f in sorted(SRC.rglob("*.py")):
        where = f.relative_to(SRC).as_posix()
        for lineno, msg, _comments, _ctx in extract_from_file("python", str(f), keywords={"_": None}):
            if isinstance(msg, str) and msg:
                ids.setdefault(msg, f"{where}:{lineno}")
        for m in TEMPLATE_CALL.finditer(f.read_text(encoding="utf-8")):   # Jinja templates kept in Python
            ids.setdefault(m.group(1), f"{where} (template)")
    return ids


def _aggregates(nodes):
    for n in nodes:
        if n.get("children"):
            yield n
            yield from _aggregates(n["children"])


def data_msgids() -> dict[str, str]:
    """Names from the shipped specs and scenarios that are interface labels -> where they come from."""
    from digimeter.spec import load_spec, shipped_specs
    from digimeter.targets import load_scenario, shipped_scenarios

    want: dict[str, str] = {}
    for name in shipped_specs():
        spec = load_spec(name)
        want.setdefault(spec.title or spec.name, f"spec {name}: title")
        for node in _aggregates(spec.to_dict()["tree"]):   # pillars and sub-pillars (not indicators: data)
            want.setdefault(node.get("name") or node["code"], f"spec {name}: {node['code']}")
    for name in shipped_scenarios():
        sc = load_scenario(name)
        want.setdefault(sc.title or sc.name, f"scenario {name}: title")
        if sc.description:
            want.setdefault(" ".join(sc.description.split()), f"scenario {name}: description")
        for t in sc.targets:
            want.setdefault(t.name or t.id, f"scenario {name}: target {t.id}")
    return want


def label_msgids(store) -> dict[str, str]:
    """Labels of the rankings table and the charts -> what they are (see the module docstring)."""
    from digimeter.benchmark import RANKINGS
    from digimeter.regions import divide_indicator
    from digimeter.spec import load_spec

    want = {p.name: f"ranking {p.key}" for p in RANKINGS}
    want.update({p.family: f"family of {p.key}" for p in RANKINGS})
    want["spec"] = "family of a spec"
    codes = {divide_indicator(store, "KAZ")}
    for name in ("egdi", "digital-nation", "kz-regions"):
        codes |= {n["indicator"] for n in load_spec(name).meta().to_dict("records")
                  if n.get("kind") == "indicator" and n.get("indicator")}
    u = store.units(kind="country")
    want.update({r: "UN region" for r in u.un_region.dropna().unique()})
    want.update({r: "UN sub-region" for r in u.un_subregion.dropna().unique()})
    ind = store.indicators()
    for code, unit in zip(ind.code, ind.unit):
        if code in codes and isinstance(unit, str):
            want[unit] = f"unit of measure of {code}"
    return want


def all_msgids() -> dict[str, str]:
    from digimeter.store import open_store

    with tempfile.TemporaryDirectory() as home:
        store = open_store(Path(home) / "digimeter.duckdb")   # made afresh from the bundled snapshot
        try:
            labels = label_msgids(store)
        finally:
            store.close()
    out = dict(code_msgids())
    for d in (data_msgids(), labels):
        for k, v in d.items():
            out.setdefault(k, v)
    return out


def main() -> int:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    import digimeter

    cat = Catalog(project="digimeter", version=getattr(digimeter, "__version__", ""), domain="digimeter",
                  fuzzy=False)
    for msgid, where in all_msgids().items():   # the interface in module order, then data names, then labels
        cat.add(msgid, auto_comments=[where],
                flags=("python-brace-format",) if re.search(r"\{[a-z_0-9]*[}:!]", msgid) else ())
    with POT.open("wb") as fh:
        write_po(fh, cat, omit_header=False, sort_output=False, include_lineno=False, width=100)
    print(f"wrote {len(cat)} msgids to {POT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
