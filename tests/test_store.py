"""The DuckDB store: the bundled snapshot as vintage 1, provenance, lookups, vintages."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest

from digimeter.errors import NotFoundError
from digimeter.store import Store, default_home, open_store


def value(store, unit, indicator, year, **kw):
    df = store.observations(indicators=indicator, units=unit, years=year, **kw)
    assert len(df) == 1, (unit, indicator, year, df)
    return df.value.iloc[0]


def test_snapshot_is_vintage_1_with_published_values(store):
    v = store.vintages()
    assert v.vintage.tolist() == [1]
    assert v.kind.tolist() == ["snapshot"]
    assert set(store.query("SELECT DISTINCT vintage FROM observations").vintage) == {1}
    # UN E-Government Survey 2024
    assert value(store, "KAZ", "egdi", 2024) == pytest.approx(0.90093, abs=1e-6)
    assert value(store, "DNK", "egdi_rank", 2024) == 1
    # ITU i99H, individuals using the Internet
    assert value(store, "KAZ", "internet_users_pct", 2023) == pytest.approx(92.8785, abs=5e-5)
    # World Bank WDI SP.POP.TOTL
    assert value(store, "KAZ", "population", 2024) == 20592571


def test_every_observation_origin_has_checksum_and_licence(store):
    used = set(store.query("SELECT DISTINCT origin_id FROM observations").origin_id)
    origins = store.origins().set_index("origin_id")
    assert used <= set(origins.index), used - set(origins.index)
    for oid in used:
        o = origins.loc[oid]
        assert re.fullmatch(r"[0-9a-f]{64}", str(o.sha256)), (oid, o.sha256)
        assert isinstance(o.licence, str) and o.licence.strip(), oid
        assert isinstance(o.publisher, str) and o.publisher.strip(), oid


def test_digimeter_home_places_the_store_there(template_store_path, tmp_path, monkeypatch):
    # the template itself was created by open_store() under a DIGIMETER_HOME (see conftest)
    assert template_store_path.name == "digimeter.duckdb" and template_store_path.exists()
    home = tmp_path / "elsewhere" / "dm"
    monkeypatch.setenv("DIGIMETER_HOME", str(home))
    assert default_home() == home
    home.mkdir(parents=True)
    shutil.copyfile(template_store_path, home / "digimeter.duckdb")
    with open_store() as s:
        assert str(s.path) == str(home / "digimeter.duckdb")
        assert s.counts()["vintages"] == 1
    assert sorted(p.name for p in home.iterdir() if not p.name.endswith(".wal")) == ["digimeter.duckdb"]


def test_alias_lookup(store):
    assert store.indicator("i99H")["code"] == "internet_users_pct"
    assert store.indicator("internet_users_pct")["source_code"] == "i99H"
    assert store.indicator("SP.POP.TOTL")["code"] == "population"
    assert store.unit("kaz")["name"] == "Kazakhstan"


def test_not_found_suggests(store):
    with pytest.raises(NotFoundError) as e:
        store.indicator("internet_user_pct")
    assert "internet_users_pct" in str(e.value)
    assert e.value.problems[0].fix.startswith("did you mean")
    with pytest.raises(NotFoundError) as e:
        store.unit("KAX")
    assert "KAZ" in str(e.value)


def test_reopen_does_not_reload_or_duplicate(store_path):
    with Store(store_path) as s:
        before = s.counts()
    with Store(store_path) as s:
        assert s.counts() == before
        assert s.counts()["vintages"] == 1
        dup = s.query("SELECT count(*) AS n FROM (SELECT unit, indicator, year, vintage FROM observations "
                      "GROUP BY ALL HAVING count(*) > 1)").n.iloc[0]
        assert dup == 0


def test_as_of_vintage_returns_old_value_after_change(store):
    old = value(store, "KAZ", "egdi", 2024)
    new = pd.DataFrame({"unit": ["KAZ"], "indicator": ["egdi"], "year": [2024], "value": [0.95]})
    with store.transaction():
        rep = store.add_observations(new, kind="import", origin_id="test", note="test change")
    assert (rep.new, rep.changed, rep.unchanged, rep.vintage) == (0, 1, 0, 2)
    assert value(store, "KAZ", "egdi", 2024) == 0.95
    assert value(store, "KAZ", "egdi", 2024, as_of_vintage=1) == old
    hist = store.history("KAZ", "egdi", 2024)
    assert hist.value.tolist() == [old, 0.95] and hist.vintage.tolist() == [1, 2]


def test_failed_transaction_changes_nothing(store, store_state):
    before = store_state(store)
    new = pd.DataFrame({"unit": ["KAZ"], "indicator": ["egdi"], "year": [2024], "value": [0.5]})
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_observations(new, kind="import", origin_id="test")
            raise RuntimeError("boom")
    assert store_state(store) == before


def test_a_store_made_before_unknown_directions_is_migrated(store_path):
    """Stores made when every indicator had to have a direction accept an unknown one after opening."""
    import duckdb

    from digimeter.store import Store

    con = duckdb.connect(str(store_path))
    con.execute("ALTER TABLE indicators ALTER COLUMN higher_is_better SET NOT NULL")
    con.close()
    with Store(store_path) as s:
        nullable = s.con.execute("SELECT is_nullable FROM information_schema.columns WHERE table_name = "
                                 "'indicators' AND column_name = 'higher_is_better'").fetchone()[0]
        assert nullable == "YES"
        assert s.indicator("internet_users_pct")["higher_is_better"] == True  # noqa: E712
