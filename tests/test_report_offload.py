"""The report's work aside (issue 18): the targets' forecasts made in a second process give what the
report's own process gives; the charts drawn by the second process are the charts drawn here."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from digimeter import targets as T
from digimeter.report import offload
from digimeter.report.render import ChartRenderer, chart_svg
from digimeter.report.model import Section, spec_of

SAMPLES = {"uncertainty": 16, "sensitivity": 8, "targets": 50, "index": 10, "fans": 2}


def _same(a: offload.TargetsWork, b: offload.TargetsWork) -> None:
    assert a.scenario.name == b.scenario.name
    pd.testing.assert_frame_equal(a.table.reset_index(drop=True), b.table.reset_index(drop=True))
    assert [(t.id, e) for t, _fr, e in a.fans] == [(t.id, e) for t, _fr, e in b.fans]
    for (_t, fa, _e), (_u, fb, _f) in zip(a.fans, b.fans):
        if fa is not None:
            pd.testing.assert_frame_equal(fa.quantiles, fb.quantiles)


def test_the_second_process_gives_the_report_process_answer(store_path):
    from digimeter.store import Store

    with Store(store_path, read_only=True) as s:
        job = offload.TargetsJob.start(s, "KAZ", None, SAMPLES)
        assert job is not None, "a read-only store file is read aside"
        here = offload.targets_work(T, s, "KAZ", None, SAMPLES)
        there = job.result(T, s)
    assert here is not None and len(here.table) and any(fr is not None for _t, fr, _e in here.fans)
    _same(here, there)


def test_a_failed_second_process_is_done_again_here(store_path):
    from digimeter.store import Store

    with Store(store_path, read_only=True) as s:
        # a process that answers no pickle (as one that died would): the work is done in this process
        bad = subprocess.Popen([sys.executable, "-c", "print('not a pickle')"], stdout=subprocess.PIPE)
        got = offload.TargetsJob(bad, ("KAZ", None, SAMPLES)).result(T, s)
        assert got is not None and len(got.table)


def test_an_error_aside_is_raised_here(store_path):
    from digimeter.errors import DigimeterError
    from digimeter.store import Store

    with Store(store_path, read_only=True) as s:
        job = offload.TargetsJob.start(s, "KAZ", "no-such-scenario", SAMPLES)
        with pytest.raises(DigimeterError) as aside:
            job.result(T, s)
        with pytest.raises(DigimeterError) as here:
            offload.targets_work(T, s, "KAZ", "no-such-scenario", SAMPLES)
    assert str(aside.value) == str(here.value)


def test_no_second_process_for_a_writable_store_or_one_thread(store, store_path, monkeypatch):
    from digimeter.store import Store

    assert offload.TargetsJob.start(store, "KAZ", None, SAMPLES) is None   # another process cannot read it
    store.close()
    monkeypatch.setenv("DIGIMETER_THREADS", "1")
    with Store(store_path, read_only=True) as s:
        assert offload.TargetsJob.start(s, "KAZ", None, SAMPLES) is None


@pytest.mark.parametrize("aside", [True, False])
def test_the_renderer_draws_what_chart_svg_draws(aside):
    from digimeter import charts

    df = pd.DataFrame({"label": ["a", "b", "Ақмола"], "value": [30.0, 70.0, 12.5]})
    sec = Section("s", "S", charts={"one": charts.bars(df, x_title="x", source="test"),
                                    "two": charts.bars(df.iloc[::-1], x_title="y", source="test"),
                                    "three": charts.bars(df.iloc[1:], x_title="z", source="test")})
    r = ChartRenderer(aside=aside)
    assert r.aside == aside   # drawn by the second process, or here
    r.add(sec, skip={"s_two"})
    drawn = r.result()
    assert list(drawn) == ["s_one", "s_three"]
    for k in ("one", "three"):
        assert drawn[f"s_{k}"] == chart_svg(sec.charts[k]) and drawn[f"s_{k}"].lstrip().startswith("<svg")
    assert spec_of(sec.charts["one"]) is spec_of(sec.charts["one"])   # made once per chart


def test_a_hung_second_process_does_not_hang_the_report(store_path, monkeypatch):
    """A process that never answers is stopped after WAIT_SECONDS and the work is done here."""
    import time

    from digimeter.store import Store

    monkeypatch.setattr(offload, "WAIT_SECONDS", 0.5)
    with Store(store_path, read_only=True) as s:
        hung = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], stdout=subprocess.PIPE)
        t0 = time.monotonic()
        got = offload.TargetsJob(hung, ("KAZ", None, SAMPLES)).result(T, s)
        assert got is not None and len(got.table) and hung.poll() is not None
        assert time.monotonic() - t0 < 120


def test_a_hung_drawing_process_does_not_hang_the_report(monkeypatch):
    from digimeter import charts
    from digimeter.report import render

    df = pd.DataFrame({"label": ["a", "b"], "value": [30.0, 70.0]})
    sec = Section("s", "S", charts={"one": charts.bars(df, x_title="x", source="test")})
    monkeypatch.setattr(render, "_PROGRAM", "import time; time.sleep(600)")
    monkeypatch.setattr(render, "WAIT_SECONDS", 0.5)
    monkeypatch.setattr(render, "_PER_CHART", 0.0)
    r = ChartRenderer()
    assert r.aside
    r.add(sec)
    proc = r._proc  # noqa: SLF001 - the test watches the process it hung
    drawn = r.result()
    assert drawn["s_one"] == chart_svg(sec.charts["one"]) and proc.poll() is not None
