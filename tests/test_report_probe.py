"""A regression guard (issue 18), counted not timed: the report asks the forecasting engine at most once
per (units, indicator), with the shipped scenario's every target and its fan charts."""

from __future__ import annotations

from collections import Counter

from digimeter import report as R
from digimeter import targets as T


def test_the_report_forecasts_each_indicator_once(store, monkeypatch):
    calls: Counter = Counter()
    real = T.Forecaster._forecast

    def probe(self, indicator, obs, *args, **kw):
        calls[(indicator, kw.get("seed_key"), tuple(sorted(set(obs["unit"]))))] += 1
        return real(self, indicator, obs, *args, **kw)

    monkeypatch.setattr(T.Forecaster, "_forecast", probe)
    # every forecast in this process, where the probe sees it (none sent to a second process by prefetch)
    monkeypatch.setattr("digimeter._util.aside.enabled", lambda: False)
    R.make_report("KAZ", "digital-nation", lang="en", store=store, sections=("headline", "targets"),
                  samples={"uncertainty": 16, "sensitivity": 8, "targets": 50, "index": 10, "fans": 3})
    assert calls, "the report made no forecast: the probe is not on the engine's path"
    indicators = {k[0] for k in calls}
    assert {"internet_users_pct", "pop_cov_4g_pct"} <= indicators
    again = {k: n for k, n in calls.items() if n > 1}
    assert not again, f"forecast more than once: {again}"
