"""Vintages: update as a new vintage, diff, --as-of reproducibility, review of suspicious revisions, export."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from digimeter.errors import NotFoundError
from digimeter.sources.export import export
from digimeter.sources.http import Batch
from digimeter.sources.update import apply_batches


def batch(rows, origin_id="test:1", publisher="ITU", covers=()):
    obs = pd.DataFrame(rows, columns=["unit", "indicator", "year", "value"])
    obs["note"] = None
    return Batch(source="test", observations=obs, covers=list(covers),
                 origin={"origin_id": origin_id, "publisher": publisher, "dataset": "test batch (values derived "
                         "from the bundled snapshot for a revision test)", "edition": "t", "url": None,
                         "repository": None, "licence": None, "retrieved": "2025-01-01", "sha256": None, "note": None})


def cur(store, u, i, y):
    return float(store.observations(i, u, y).value.iloc[0])


def test_small_revision_applied_big_one_held_never_deleted(store, store_state):
    v0 = cur(store, "KAZ", "internet_users_pct", 2023)
    n0 = store.counts()["observations"]
    rep = apply_batches(store, [batch([("KAZ", "internet_users_pct", 2023, v0 * 1.05),   # +5 %: applied
                                       ("DNK", "internet_users_pct", 2023, 40.0),        # big drop: held
                                       ("KAZ", "internet_users_pct", 2030, 101.0)])])    # > max 100: held
    assert rep.changed == 1 and rep.flagged == 2 and rep.vintage == 2
    assert cur(store, "KAZ", "internet_users_pct", 2023) == pytest.approx(v0 * 1.05)
    assert store.counts()["observations"] == n0 + 1  # only added, never deleted
    rv = store.revisions()
    assert set(rv.status) == {"pending"} and len(rv) == 2
    assert any("valid range" in r for r in rv.reason) and any("jump" in r for r in rv.reason)
    dnk_before = cur(store, "DNK", "internet_users_pct", 2023)
    assert dnk_before != 40.0
    # the same suspicious value again is not queued twice
    apply_batches(store, [batch([("DNK", "internet_users_pct", 2023, 40.0)])])
    assert len(store.revisions()) == 2
    # review: reject one, accept the other as a new vintage
    ids = dict(zip(rv.unit, rv.revision_id))
    store.decide_revisions([ids["KAZ"]], accept=False)
    r = store.decide_revisions([ids["DNK"]], accept=True, note="checked with the ITU release")
    assert r.vintage == 3 and cur(store, "DNK", "internet_users_pct", 2023) == 40.0
    assert store.history("DNK", "internet_users_pct", 2023).value.tolist() == [dnk_before, 40.0]
    assert set(store.revisions(None).status) == {"accepted", "rejected"}
    with pytest.raises(NotFoundError):
        store.decide_revisions([ids["DNK"]], accept=True)


def test_diff_and_as_of_reproducibility(store):
    from digimeter.build import build

    before = build("egdi", store, year=2024)
    t1 = store.vintages().created.iloc[-1]
    time.sleep(0.01)
    old = cur(store, "KAZ", "osi", 2024)
    apply_batches(store, [batch([("KAZ", "osi", 2024, old * 0.95), ("KAZ", "osi", 2026, 0.95),
                                 ("KAZ", "epi", 2025, 0.8)], publisher="UN DESA")])
    d = store.diff()
    assert set(d.change) == {"revised", "new year"} and len(d) == 3
    rev = d[d.change == "revised"].iloc[0]
    assert rev.old_value == pytest.approx(old) and rev.rel_change == pytest.approx(-0.05)
    # pinned to the date of the first vintage, the build gives the numbers it gave then
    v = store.vintage_as_of(t1.isoformat())
    assert v == 1 and store.vintage_as_of("2") == 2 and store.vintage_as_of(pd.Timestamp.now("UTC").date().isoformat()) == 2
    pinned = build("egdi", store, year=2024, as_of_vintage=v)
    pd.testing.assert_frame_equal(pinned.table(), before.table())
    now = build("egdi", store, year=2024)
    assert not now.table().equals(before.table())
    with pytest.raises(NotFoundError):
        store.vintage_as_of("1999-01-01")
    with pytest.raises(NotFoundError):
        store.vintage_as_of(99)


def test_dropped_series_recorded(store):
    # a complete request for i99H that no longer returns KAZ: the series is 'dropped', its values stay
    have = store.observations("internet_users_pct", years=2023)
    have = have[have.origin_id.isin(store.origins().query("publisher == 'ITU'").origin_id)]
    rows = [(u, "internet_users_pct", 2023, v) for u, v in zip(have.unit, have.value) if u != "KAZ"]
    rep = apply_batches(store, [batch(rows, covers=["internet_users_pct"])])
    assert rep.dropped >= 1
    d = store.diff()
    assert ("KAZ", "internet_users_pct") in set(zip(d[d.change == "dropped series"].unit, d.indicator))
    assert len(store.observations("internet_users_pct", "KAZ")) > 0


def test_export_formats_with_provenance(store, tmp_path):
    for fmt in ("csv", "parquet", "xlsx"):
        out = tmp_path / f"e.{fmt}"
        df = export(store, out, indicators=["egdi"], units=["KAZ"])
        back = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out) if fmt == "parquet" else pd.read_excel(out)
        assert len(back) == len(df) == 12
        assert {"publisher", "licence", "url", "sha256", "vintage", "retrieved"} <= set(back.columns)
        assert back.publisher.notna().all()


def test_cli_diff_review_export(digimeter_home, tmp_path):
    from digimeter.cli import app
    from digimeter.store import open_store

    with open_store() as s:
        apply_batches(s, [batch([("DNK", "internet_users_pct", 2023, 40.0)])])
    r = CliRunner().invoke(app, ["data", "review", "--format", "csv"])
    assert r.exit_code == 0 and "DNK,internet_users_pct,2023" in r.output
    r = CliRunner().invoke(app, ["data", "review", "--accept", "all"])
    assert r.exit_code == 0 and "accepted" in r.output
    r = CliRunner().invoke(app, ["data", "diff", "--format", "csv"])
    assert r.exit_code == 0 and "revised,DNK,internet_users_pct,2023" in r.output
    out = tmp_path / "x.xlsx"
    r = CliRunner().invoke(app, ["data", "export", "-o", str(out), "-i", "internet_users_pct", "-u", "DNK"])
    assert r.exit_code == 0 and out.exists()
    r = CliRunner().invoke(app, ["data", "as-of", "1", "egdi", "--format", "csv"])
    assert r.exit_code == 0 and "KAZ" in r.output
