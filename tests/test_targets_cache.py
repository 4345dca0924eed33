"""The on-disk evaluation cache (issue 18, compute once): the same evaluation is read back, never a stale one."""

from __future__ import annotations

import pandas as pd
import pytest

from digimeter.sources.files import import_file
from digimeter.targets import cache as tcache
from digimeter.targets import evaluate_cached, parse_scenario

SCENARIO = {"name": "cache-probe", "targets": [
    {"id": "online", "indicator": "electricity_access_pct", "unit": "KAZ", "comparator": ">=", "threshold": 99.9,
     "deadline": 2028, "source": "test", "rationale": "test"}]}


@pytest.fixture
def calls(monkeypatch, count_calls):
    """How many times the evaluation itself ran."""
    import digimeter.targets.evaluation as ev

    n = count_calls(ev, "evaluate")
    monkeypatch.delenv("DIGIMETER_NO_CACHE", raising=False)
    return n


def test_an_evaluation_is_reused_until_the_data_change(store, tmp_path, calls):
    sc = parse_scenario(SCENARIO)
    first = evaluate_cached(sc, store, n_samples=200)
    again = evaluate_cached(sc, store, n_samples=200)
    assert calls["evaluate"] == 1
    pd.testing.assert_frame_equal(first, again)
    assert len(list(tcache.cache_dir(store).glob("cache-probe-*.pkl"))) == 1
    # other seeds or sample sizes are other evaluations; cache=False always computes
    evaluate_cached(sc, store, n_samples=200, seed=1)
    evaluate_cached(sc, store, n_samples=300)
    evaluate_cached(sc, store, n_samples=200, cache=False)
    assert calls["evaluate"] == 4
    # a new vintage (an import) is a new key: the new value is in the answer
    before = tcache.store_fingerprint(store)
    f = tmp_path / "new.csv"
    f.write_text("unit,indicator,year,value\nKAZ,electricity_access_pct,2026,99.95\n")
    import_file(store, f)
    assert tcache.store_fingerprint(store) != before
    after = evaluate_cached(sc, store, n_samples=200)
    assert calls["evaluate"] == 5
    row = after.set_index("unit").loc["KAZ"]
    assert row["latest_year"] == 2026 and row["latest_value"] == pytest.approx(99.95)
    assert first.set_index("unit").loc["KAZ", "latest_year"] < 2026


def test_a_changed_scenario_or_an_unreadable_file_is_computed_again(store, calls):
    sc = parse_scenario(SCENARIO)
    evaluate_cached(sc, store, n_samples=200)
    other = parse_scenario({**SCENARIO, "targets": [{**SCENARIO["targets"][0], "threshold": 99.0}]})
    r = evaluate_cached(other, store, n_samples=200)
    assert calls["evaluate"] == 2 and r["threshold"].iloc[0] == 99.0
    for p in tcache.cache_dir(store).glob("cache-probe-*.pkl"):
        p.write_bytes(b"not a pickle")
    evaluate_cached(other, store, n_samples=200)
    assert calls["evaluate"] == 3


def test_units_changed_without_new_values_change_the_key(store):
    before = tcache.store_fingerprint(store)
    store.con.execute("UPDATE units SET name = name || ' (renamed)' WHERE code = 'KAZ'")
    assert tcache.store_fingerprint(store) != before
