"""`digimeter audit`: the audit of a shipped index from the command line (and as data frames)."""

from __future__ import annotations

import io
import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from digimeter.store import Store


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    s = Store(tmp_path_factory.mktemp("store") / "s.duckdb")
    s.con.execute("CHECKPOINT")
    h = tmp_path_factory.mktemp("home")
    shutil.copy(s.path, h / "digimeter.duckdb")
    s.close()
    return h


def run(home, monkeypatch, *args):
    from digimeter.cli import app

    monkeypatch.setenv("DIGIMETER_HOME", str(home))
    res = CliRunner().invoke(app, ["audit", *args])
    assert res.exit_code == 0, res.output
    return res


def test_audit_digital_nation_json(home, monkeypatch):
    res = run(home, monkeypatch, "digital-nation", "--unit", "KAZ", "--format", "json")
    t = json.loads(res.stdout)
    assert set(t) == {"correlations", "flags", "parents", "cronbach", "pca", "removal", "strengths"}
    removal = pd.DataFrame(t["removal"])
    # 16 indicators and 5 pillars, each removed once; KAZ's own rank change reported
    assert len(removal) == 21 and "rank_change_KAZ" in removal.columns
    assert (removal.mean_abs_rank_change >= 0).all()
    cron = pd.DataFrame(t["cronbach"])
    assert set(cron.group) >= {"connectivity", "infrastructure", "government", "skills", "economy"}
    assert cron.alpha.between(0, 1).all()
    sw = pd.DataFrame(t["strengths"])
    assert set(sw.unit) == {"KAZ"} and set(sw.kind) == {"strength", "weakness"}
    # the e-government sub-indices are near collinear: the audit must say so
    flags = pd.DataFrame(t["flags"])
    assert ((flags.node1 == "online_services") & (flags.node2 == "e_participation")).any()


def test_audit_csv_table_and_out(home, monkeypatch, tmp_path):
    res = run(home, monkeypatch, "egdi", "--format", "csv", "--table", "removal", "--table", "cronbach")
    df = pd.read_csv(io.StringIO(res.stdout))
    assert set(df.table) == {"removal", "cronbach"}
    assert set(df.loc[df.table == "removal", "code"]) == {"osi", "tii", "hci"}
    out = tmp_path / "a.json"
    run(home, monkeypatch, "egdi", "--format", "json", "--out", str(out))
    assert "strengths" in json.loads(out.read_text())


def test_audit_table_format_and_errors(home, monkeypatch):
    res = run(home, monkeypatch, "digital-nation", "--table", "flags", "--table", "strengths")
    assert "collinear" in res.stdout and "Strengths" in res.stdout
    from digimeter.cli import app

    bad = CliRunner().invoke(app, ["audit", "digital-nation", "--unit", "XXX"])
    assert bad.exit_code == 1 and "XXX" in bad.output
