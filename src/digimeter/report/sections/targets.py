"""Targets: the probability of meeting each target of a scenario (digimeter.targets) and the fan
charts of the unit's indicators (digimeter.forecast when the targets module is not there)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import DigimeterError
from ...i18n import status_details, status_word
from .. import model
from ..model import FORECAST_INDICATORS, ReportContext, Section
from ..offload import targets_work


def evaluate_targets(ctx: ReportContext):
    """``(scenario, table)`` from digimeter.targets, computed once per report (None if unavailable); the fan
    charts' forecasts are kept in ``ctx.cache["fans"]``. Answered by the second process make_report started
    (``ctx.cache["targets_job"]``, :class:`~digimeter.report.offload.TargetsJob`) when there is one."""
    if "targets" in ctx.cache:
        return ctx.cache["targets"]
    ctx.cache["targets"] = None
    tmod = model.optional("targets")
    job = ctx.cache.pop("targets_job", None)
    if tmod is None:
        if job is not None:
            job.close()
        return None
    work = job.result(tmod, ctx.store) if job is not None else \
        targets_work(tmod, ctx.store, ctx.unit, ctx.scenario, ctx.samples)
    if work is None:
        return None
    ctx.cache["fans"] = work.fans
    ctx.cache["targets"] = (work.scenario, work.table)
    return ctx.cache["targets"]


def _desc(sc, _) -> str:
    """A scenario's description in the report's language (shipped scenarios' descriptions are in the
    catalogs, whitespace-normalised; a user's own scenario is shown as written)."""
    text = " ".join((sc.description or "").split())
    return _(text) if text else ""


def targets_section(ctx: ReportContext) -> Section:
    _ = ctx._
    title = _("Can the targets be reached in time?")
    tmod = model.optional("targets")
    sec = Section("targets", title)
    if tmod is None:
        sec.missing.append("target scenarios and the probability of meeting each target")
        sec.paragraphs.append(_("The probability of meeting each target is not yet available: it needs the "
                                "digimeter.targets module (scenarios such as fully-digital-kz), which is not "
                                "installed in this version of digimeter."))
        _forecast_fans(ctx, sec)
        sec.available = bool(sec.charts)
        return sec
    try:
        ev = evaluate_targets(ctx)
    except DigimeterError as e:
        ctx.errors["targets"] = str(e)
        sec.available = False
        sec.paragraphs.append(_("The targets could not be evaluated: {error}").format(error=str(e)))
        sec.missing.append("target probabilities")
        return sec
    if ev is None:
        sec.available = False
        sec.paragraphs.append(_("No target scenario concerns {unit}; choose one with --scenario.").format(unit=ctx.unit_name))
        sec.missing.append("a target scenario for this unit")
        return sec
    sc, t = ev
    from ... import charts

    tid_name = {x.id: (x.name or x.id) for x in sc.targets}
    head = t[(t.unit == ctx.unit) | (t.unit == "all")].copy()
    head["label"] = [_(tid_name.get(a, a)) + (" " + _("(all regions)") if u == "all" else "")
                     for a, u in zip(head.target, head.unit)]
    sec.paragraphs.append(_("Scenario: {title}. {description}").format(
        title=_(sc.title or sc.name), description=_desc(sc, _)))
    tab = pd.DataFrame({
        _("target"): head.label.to_numpy(),
        _("latest value"): head.latest_value.to_numpy(), _("year"): head.latest_year.to_numpy(),
        _("comparator"): head.comparator.to_numpy(), _("threshold"): head.threshold.to_numpy(),
        _("deadline"): head.deadline.to_numpy(),
        _("met now"): [None if pd.isna(v) else (_("yes") if v else _("no"))
                       for v in head.get("met_now", pd.Series(np.nan, index=head.index))],
        _("P(met)"): head.p_met.to_numpy(),
        _("status"): [status_word(r, ctx.lang) for _i, r in head.iterrows()],
        _("details"): [status_details(r, ctx.lang) or None for _i, r in head.iterrows()]})
    if tab[_("details")].isna().all():   # nothing beyond the status words: no empty column
        tab = tab.drop(columns=[_("details")])
    sec.tables["targets"] = tab
    sec.table_titles["targets"] = _("Each target and the probability of meeting it ({scenario})").format(scenario=sc.name)
    p = head[["label", "p_met"]].rename(columns={"p_met": "value"})
    p["value"] = 100 * p["value"].astype(float)
    sec.charts["probabilities"] = charts.bars(
        p, x_title=_("probability that the target is met at its deadline (%)"), domain=(0, 100),
        source=_("Forecasts: digimeter.targets (calibrated on every country's out-of-sample errors); thresholds: "
                 "scenario {scenario}.").format(scenario=sc.name) + " "
        + _("Met: the state in the deadline year (a target met now may slip back); one-off milestones: any year "
            "up to it."))
    sec.chart_titles["probabilities"] = _("How likely is each target?")
    regional = t[(t.unit != ctx.unit) & (t.unit != "all")]
    if len(regional):
        rt = pd.DataFrame({_("target"): [_(tid_name.get(x, x)) for x in regional.target],
                           _("region"): regional.unit.map(ctx.name_of).to_numpy(),
                           _("latest value"): regional.latest_value.to_numpy(), _("year"): regional.latest_year.to_numpy(),
                           _("threshold"): regional.threshold.to_numpy(), _("P(met)"): regional.p_met.to_numpy(),
                           _("status"): [status_word(r, ctx.lang) for _i, r in regional.iterrows()]})
        if "estimated_years" in regional.columns:   # history read from an earlier layout, or the parent's value
            rt[_("estimated values")] = [_("yes") if isinstance(v, (list, tuple)) and len(v) else _("no")
                                         for v in regional.estimated_years]
        sec.tables["regional_targets"] = rt
        sec.table_titles["regional_targets"] = _("Regional targets, region by region")
    counts = pd.Series([status_word(r, ctx.lang) for _i, r in head.iterrows()]).value_counts()
    sec.key_numbers["targets.scenario"] = sc.name
    for r in head.itertuples():
        sec.key_numbers[f"targets.{r.target}{'.all' if r.unit == 'all' else ''}.p_met"] = (
            None if pd.isna(r.p_met) else round(float(r.p_met), 2))
        if "met_now" in head.columns and not pd.isna(r.met_now):
            sec.key_numbers[f"targets.{r.target}{'.all' if r.unit == 'all' else ''}.met_now"] = bool(r.met_now)
        if isinstance(getattr(r, "met_definition", None), str):   # what p_met means: hold (deadline year) or reach
            sec.key_numbers[f"targets.{r.target}{'.all' if r.unit == 'all' else ''}.met_definition"] = r.met_definition
    sec.paragraphs.append(_("Of {n} targets, {summary}.").format(
        n=len(head), summary="; ".join(f"{k}: {v}" for k, v in counts.items())))
    # fan charts of the unit's indicator targets, forecast with the evaluation (the same forecasts)
    for tg, fr, error in ctx.cache.get("fans", []):
        if error is not None:
            ctx.errors[f"forecast.{tg.indicator}"] = error
            continue
        _fan(ctx, sec, tg.indicator, fr, threshold=float(tg.threshold), deadline=tg.deadline, key=tg.id)
    return sec


def _fan(ctx: ReportContext, sec: Section, ind: str, fr, *, threshold=None, deadline=None, key=None) -> None:
    from ... import charts

    _ = ctx._
    meta = ctx.store.indicator(ind)
    obs = ctx.store.observations(indicators=ind, units=ctx.unit)
    pct = "%" in str(meta["unit"])
    q = fr.quantiles
    cols = list(q.columns)
    qq = pd.DataFrame({"year": q.index.astype(int), "lo90": q[cols[0]].to_numpy(), "lo50": q[cols[1]].to_numpy(),
                       "median": q[cols[2]].to_numpy(), "hi50": q[cols[3]].to_numpy(), "hi90": q[cols[4]].to_numpy()})
    hist = obs[obs.year >= 2005][["year", "value"]].astype(float)
    lab = f"{_(meta['name'])} ({_(str(meta['unit']))})"
    k = f"fan_{key or ind}"
    sec.charts[k] = charts.fan_chart(
        hist, qq, y_title=lab, source=ctx.origin_label(obs.origin_id.tolist()), target=threshold, deadline=deadline,
        domain=(0, 100) if pct else None,
        labels={"year": _("year"), "note": _("Shaded: 50% and 90% prediction intervals; dashed: median forecast; "
                                             "red: the target and its deadline. Method: {model}.").format(model=fr.model)})
    sec.chart_titles[k] = _("{indicator} in {unit}: observed and forecast").format(indicator=_(meta["name"]), unit=ctx.unit_name)


def _forecast_fans(ctx: ReportContext, sec: Section) -> None:
    """Without the targets module: trajectories of key indicators (digimeter.forecast), no targets."""
    _ = ctx._
    fmod = model.optional("forecast")
    if fmod is None:
        sec.missing.append("forecast trajectories")
        return
    for ind in FORECAST_INDICATORS:
        obs = ctx.store.observations(indicators=ind, units=ctx.unit)
        if len(obs) < 5:
            continue
        pct = "%" in str(ctx.store.indicator(ind)["unit"])
        try:
            fr = fmod.forecast_series(obs.year.to_numpy(), obs.value.to_numpy(), 2030, lo=0.0,
                                      hi=100.0 if pct else None, seed=0, n_samples=1000, unit=ctx.unit)
        except DigimeterError as e:
            ctx.errors[f"forecast.{ind}"] = str(e)
            continue
        _fan(ctx, sec, ind, fr)
        sec.key_numbers[f"forecast.{ind}.2030.median"] = round(float(fr.quantiles.iloc[-1, 2]), 1)
