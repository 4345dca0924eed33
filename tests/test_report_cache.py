"""The report kept on disk under the store's home (issue 18, compute once, render once): the second
`digimeter report` is answered from it with the same files; a new vintage, --no-cache or an unreadable
file compute again. Computations are counted with a probe on make_report, not timed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digimeter.cli import app
from digimeter.report.model import DEFAULT_SAMPLES


@pytest.fixture
def made(monkeypatch, digimeter_home, count_calls):
    """How many times make_report computed (the engine under cached_report)."""
    import digimeter.report.make as mk

    n = count_calls(mk, "make_report")
    monkeypatch.delenv("DIGIMETER_NO_CACHE", raising=False)
    for k, v in {"uncertainty": 64, "sensitivity": 32, "targets": 100, "index": 20, "fans": 1}.items():
        monkeypatch.setitem(DEFAULT_SAMPLES, k, v)   # small, to keep the test short (part of the key too)
    return n


def _report(out: Path, *extra: str) -> None:
    res = CliRunner().invoke(app, ["report", "--unit", "KAZ", "--out", str(out), *extra])
    assert res.exit_code == 0, res.output


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.suffix in (".html", ".json", ".svg", ".csv", ".txt")}


def test_the_second_report_is_answered_from_the_cache(made, digimeter_home, tmp_path):
    _report(tmp_path / "a")
    assert made["make_report"] == 1
    files = list((digimeter_home / "cache" / "report").glob("KAZ-*.pkl"))
    assert len(files) == 1
    _report(tmp_path / "b")
    assert made["make_report"] == 1          # answered from the cache
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert a.keys() == b.keys() and any(k.endswith(".svg") for k in a)
    assert a == b                            # the same report, byte for byte
    # --no-cache (or DIGIMETER_NO_CACHE=1) computes
    _report(tmp_path / "c", "--no-cache")
    assert made["make_report"] == 2
    # an unreadable cache file computes (and is written again)
    for p in files:
        p.write_bytes(b"not a pickle")
    _report(tmp_path / "d")
    assert made["make_report"] == 3
    _report(tmp_path / "e")
    assert made["make_report"] == 3


def test_a_new_vintage_invalidates_the_report(made, digimeter_home, tmp_path, monkeypatch):
    from digimeter.sources.files import import_file
    from digimeter.store import open_store

    _report(tmp_path / "a")
    assert made["make_report"] == 1
    f = tmp_path / "new.csv"
    f.write_text("unit,indicator,year,value\nKAZ,internet_users_pct,2026,99.5\n")
    s = open_store()
    try:
        import_file(s, f)
    finally:
        s.close()
    _report(tmp_path / "b")
    assert made["make_report"] == 2          # a new vintage: computed again
    _report(tmp_path / "c")
    assert made["make_report"] == 2
    monkeypatch.setenv("DIGIMETER_NO_CACHE", "1")
    _report(tmp_path / "d")
    assert made["make_report"] == 3
    # the report read from the cache is the recomputed one, not the one made before the import
    def data(x):
        return json.loads((tmp_path / x / "report.json").read_text(encoding="utf-8"))

    assert data("c") == data("b") != data("a")
