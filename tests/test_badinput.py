"""The bad-input corpus (tests/badinput): each case is rejected with a message naming the file and the
row/column/field, the store stays byte-identical, and the command line never prints a traceback."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import badinput
from digimeter.errors import DigimeterError
from digimeter.sources.export import export
from digimeter.sources.files import import_file

CASES = badinput.cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, badinput.Case]:
    return {c.name: c for c in badinput.build(tmp_path_factory.mktemp("badinput"))}


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", [c.name for c in CASES if c.kind == "import"] + ["a-folder.csv"])
def test_import_rejected_store_byte_identical(name, corpus, store_path):
    from digimeter.store import Store

    case = corpus[name]
    before = sha(store_path)
    s = Store(store_path)
    try:
        with pytest.raises(DigimeterError) as e:
            import_file(s, case.path)
    finally:
        s.close()
    assert sha(store_path) == before and not Path(str(store_path) + ".wal").exists()
    text = str(e.value)
    assert case.says in text, text
    assert str(case.path) in text                         # names the file
    assert "\x1b" not in text.replace("\\x1b", "") or name == "escape-unit.csv"
    p = e.value.problems[0]
    if case.row is not None:
        assert p.row == case.row, text
    if case.field is not None:
        assert p.field == case.field, text


@pytest.mark.parametrize("name", [c.name for c in CASES if c.kind == "spec"])
def test_spec_rejected_naming_file_and_line(name, corpus):
    from digimeter.spec import load_spec

    case = corpus[name]
    with pytest.raises(DigimeterError) as e:
        load_spec(case.path)
    assert case.says in str(e.value) and e.value.problems[0].file == str(case.path)
    if case.row is not None:
        assert e.value.problems[0].row == case.row


def test_formula_text_is_imported_as_text_and_exported_inert(store, tmp_path):
    f = tmp_path / "inject.csv"
    f.write_text("unit,indicator,year,value,note\nUZB,internet_users_pct,2024,83.1,=1+2\n")
    import_file(store, f)
    out = tmp_path / "o.csv"
    export(store, out, indicators=["internet_users_pct"], units=["UZB"], years=[2024])
    assert "'=1+2" in out.read_text() and ",=1+2" not in out.read_text()


def test_sheet_option_imports_the_chosen_sheet(corpus, store):
    rep = import_file(store, corpus["second-sheet-wide.xlsx"].path, sheet="wide")
    assert "sheets wide" in str(rep) and rep.form == "wide_by_indicator"
    with pytest.raises(DigimeterError, match="no sheet named 'nope'"):
        import_file(store, corpus["second-sheet-wide.xlsx"].path, sheet="nope")


def test_cli_prints_one_clean_message_per_case(corpus, digimeter_home):
    """Every case through the real command line, in one process: no traceback, the message on stderr,
    no raw terminal escape and no emoji made of input."""
    script = ("import sys\nfrom digimeter.cli import main\n"
              "for kind, path in [a.split('=', 1) for a in sys.argv[1:]]:\n"
              "    args = ['data', 'import', path] if kind == 'import' else ['build', path]\n"
              "    sys.stderr.write('@@ CASE ' + path + '\\n'); sys.stderr.flush()\n"
              "    try:\n        main(args)\n    except SystemExit as e:\n"
              "        sys.stderr.flush(); sys.stderr.write(f'@@ EXIT {e.code}\\n'); sys.stderr.flush()\n")
    cases = list(corpus.values())
    r = subprocess.run([sys.executable, "-c", script] + [f"{c.kind}={c.path}" for c in cases],
                       capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=300)
    err = r.stderr
    assert "Traceback" not in err and r.returncode == 0, err[-3000:]
    blocks = {}
    for block in err.split("@@ CASE ")[1:]:
        path, _, rest = block.partition("\n")
        blocks[path] = rest
    for c in cases:
        body = blocks[str(c.path)]
        assert "@@ EXIT 1" in body, (c.name, body[:500])
        msg = body.split("@@ EXIT")[0]
        assert msg.lstrip().startswith("error: ") and c.says in msg, (c.name, msg[:500])
        assert "\x1b" not in msg and "\x07" not in msg and "\u26a0" not in msg, c.name   # no raw escape, no emoji
