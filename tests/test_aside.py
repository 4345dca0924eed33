"""digimeter._util.aside (issue 18): a call made in a second process answers what it answers here; an error
there is an error here; a failed process says so (the caller then works alone); and the forecaster's
prefetch, which sends part of its forecasts there, makes the forecasts it makes alone."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from digimeter import targets as T
from digimeter._util import aside
from digimeter.errors import DigimeterError
from digimeter.targets import forecaster as FM


def test_the_call_aside_answers_what_it_answers_here():
    costs = {"a": 3.0, "b": 5.0, "c": 1.0, "d": 2.0}
    job = aside.Aside.start("digimeter.targets.forecaster", "split_work", costs)
    assert job is not None
    assert job.result() == ("ok", FM.split_work(costs))


def test_an_error_aside_comes_back_as_the_error():
    job = aside.Aside.start("digimeter.targets.scenario", "load_scenario", "no-such-scenario")
    kind, err = job.result()
    with pytest.raises(DigimeterError) as here:
        T.load_scenario("no-such-scenario")
    assert kind == "error" and isinstance(err, DigimeterError) and str(err) == str(here.value)


def test_a_failed_process_says_so():
    # an answer that does not unpickle (as from a process that died), an unknown function, no call at all
    bad = aside.Aside(subprocess.Popen([sys.executable, "-c", "print('not a pickle')"], stdout=subprocess.PIPE))
    assert bad.result()[0] == "failed"
    assert aside.Aside.start("digimeter.targets.forecaster", "no_such_function").result()[0] == "failed"
    opened = aside.Aside.open("digimeter.targets.forecaster")
    assert opened.result(wait=60)[0] == "failed"
    assert aside.Aside.start("digimeter.targets.forecaster", "split_work", lambda: 0) is None   # does not pickle


def test_nothing_aside_under_one_thread_or_inside_a_process_aside(monkeypatch):
    monkeypatch.setenv("DIGIMETER_THREADS", "1")
    assert not aside.enabled() and aside.Aside.start("digimeter.targets.forecaster", "split_work", {}) is None
    monkeypatch.delenv("DIGIMETER_THREADS")
    assert aside.enabled()
    job = aside.Aside.start("digimeter._util.aside", "enabled")
    assert job.result() == ("ok", False)   # the process aside starts no other


def test_split_work_balances_and_prefers():
    costs = {"a": 8.0, "b": 7.0, "c": 4.0, "d": 2.0, "e": 2.0}
    here, there = FM.split_work(costs, start=0.0)
    assert sorted(here + there) == sorted(costs) and set(here).isdisjoint(there)
    assert abs(sum(costs[k] for k in here) - sum(costs[k] for k in there)) <= 2.0
    here, there = FM.split_work(costs, start=0.0, prefer=["d", "e"])
    assert {"d", "e"} <= set(here)
    assert FM.split_work(costs, start=100.0)[1] == []      # a process that starts too late gets nothing


INDICATORS = ["internet_users_pct", "households_internet_pct", "pop_cov_4g_pct", "electricity_access_pct"]


def _same_forecasts(a: T.Forecaster, b: T.Forecaster) -> None:
    for code in INDICATORS:
        fa, fb = a.country(code), b.country(code)
        assert fa.units == fb.units and fa.notes == fb.notes and fa.calibrated_on == fb.calibrated_on
        for x, y in ((fa.base, fb.base), (fa.recent, fb.recent)):
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x.quantiles, y.quantiles)
                np.testing.assert_array_equal(x.uniforms, y.uniforms)
        pd.testing.assert_frame_equal(fa.history, fb.history)


@pytest.fixture(scope="module")
def alone(template_store_path):
    from digimeter.store import Store

    with Store(template_store_path, read_only=True) as s:
        fc = T.Forecaster(s, 2028, seed=0, n_samples=200)
        fc.prefetch(INDICATORS, workers=1)      # nothing ahead: each made when asked for, here
        for code in INDICATORS:
            fc.country(code)
        yield fc


def test_prefetch_aside_makes_the_forecasts_made_alone(template_store_path, alone):
    from digimeter.store import Store

    with Store(template_store_path, read_only=True) as s:
        fc = T.Forecaster(s, 2028, seed=0, n_samples=200)
        fc.prefetch(INDICATORS)
        assert fc.pending(INDICATORS), "part of the work went to the second process"
        _same_forecasts(fc, alone)
        assert not fc.pending(INDICATORS)


def test_prefetch_makes_here_what_a_failed_process_did_not(template_store_path, alone, monkeypatch):
    from digimeter.store import Store

    monkeypatch.setattr(aside.Aside, "result", lambda self, wait=0: (self.close(), ("failed", "test"))[1])
    with Store(template_store_path, read_only=True) as s:
        fc = T.Forecaster(s, 2028, seed=0, n_samples=200)
        fc.prefetch(INDICATORS)
        assert fc.pending(INDICATORS)
        _same_forecasts(fc, alone)
