"""digimeter.store.cache.remember_reads: a read-only store's repeated reads answered once per data state,
with the same answers, and asked afresh after an import."""

from __future__ import annotations

import pandas as pd
import pytest

from digimeter.errors import NotFoundError
from digimeter.store import Store
from digimeter.store.cache import REMEMBERED_READS, remember_reads


def _answers(s) -> list:
    return [s.indicator("egdi"), s.unit("KAZ"), s.units(kind="region", parent="KAZ"), s.units(),
            s.observations(indicators="egdi", units=["KAZ", "UZB"]),
            s.observations(indicators=["egdi", "population"], units=("KAZ",), years=[2020, 2024])]


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        else:
            assert x.keys() == y.keys()
            assert all(x[k] == y[k] or (pd.isna(x[k]) and pd.isna(y[k])) for k in x)


def test_same_answers_asked_once(store_path):
    with Store(store_path, read_only=True) as plain:
        want = _answers(plain)
    with Store(store_path, read_only=True) as s:
        assert remember_reads(s) is s
        first = _answers(s)
        calls = []
        real = s.con
        s.con = type("Counting", (), {"execute": lambda self, *a: calls.append(a) or real.execute(*a)})()
        again = _answers(s)
        s.con = real
        assert calls == []                         # every read answered from memory
        _same(want, first)
        _same(want, again)
        # a caller changing what it got does not change the next answer
        again[0]["name"] = "changed"
        again[3].loc[:, "name"] = "changed"
        _same(want, _answers(s))
        with pytest.raises(NotFoundError):         # errors are not kept
            s.indicator("no_such_indicator")
        with pytest.raises(NotFoundError):
            s.indicator("no_such_indicator")


def test_asked_afresh_after_an_import(store_path):
    with Store(store_path, read_only=True) as s:
        remember_reads(s)
        old = s.observations(indicators="egdi", units="KAZ", years=2024).value.tolist()
    with Store(store_path) as w:
        new = pd.DataFrame({"unit": ["KAZ"], "indicator": ["egdi"], "year": [2024], "value": [0.95]})
        with w.transaction():
            w.add_observations(new, kind="import", origin_id="test", note="test change")
        assert remember_reads(w) is w and not any(n in vars(w) for n in REMEMBERED_READS)   # writable: as it is
    with Store(store_path, read_only=True) as s:
        remember_reads(s)
        got = s.observations(indicators="egdi", units="KAZ", years=2024).value.tolist()
    assert got == [0.95] and old != got


def test_memory_kept_is_bounded(store_path, monkeypatch):
    """Past ``MEMO_BYTES`` of answers the least recently asked are let go (and asked of the store again
    when wanted): a server asking about unit after unit does not keep every answer it ever gave."""
    import digimeter.store.cache as cache

    with Store(store_path, read_only=True) as plain:
        want = _answers(plain)
    monkeypatch.setattr(cache, "MEMO_BYTES", 1)        # room for one answer at a time
    with Store(store_path, read_only=True) as s:
        remember_reads(s)
        calls = []
        real = s.con
        s.con = type("Counting", (), {"execute": lambda self, *a: calls.append(a) or real.execute(*a)})()
        first = _answers(s)
        asked = len(calls)
        s.observations(indicators=["egdi", "population"], units=("KAZ",), years=[2020, 2024])   # the last one: kept
        assert len(calls) == asked
        again = _answers(s)                             # the others were let go: asked again, same answers
        s.con = real
        assert len(calls) > asked
        _same(want, first)
        _same(want, again)


def test_reading_store_made_on_first_use_then_read_only(tmp_path, monkeypatch):
    """The commands that only read (report, targets, forecast, backtest) open the user's store with
    open_reading_store: made from the snapshot on first use, then read-only with its reads remembered, so
    another process can read it meanwhile."""
    from digimeter.store.cache import open_reading_store

    monkeypatch.setenv("DIGIMETER_HOME", str(tmp_path))
    s = open_reading_store()
    try:
        assert (tmp_path / "digimeter.duckdb").is_file()
        assert s.read_only
        with Store(tmp_path / "digimeter.duckdb", read_only=True) as other:   # a second reader meanwhile
            assert other.unit("KAZ")["code"] == s.unit("KAZ")["code"] == "KAZ"
    finally:
        s.close()
