"""The answer in brief: ranks on each index, the weakest and strongest pillars, the published
rankings' extremes and the targets at a glance."""

from __future__ import annotations

from ...errors import DigimeterError
from ...i18n import fmt_num, ordinal, status_code_or_word
from ..model import ReportContext, Section, pillars_of, rank_of
from .rankings import rankings_brief
from .targets import evaluate_targets


def headline_section(ctx: ReportContext) -> Section:
    _ = ctx._
    sec = Section("headline", _("The answer in brief"))
    phrases = []
    for name, ix in ctx.indices.items():
        r, n = rank_of(ix, ctx.unit)
        title = ctx.index_title(ix)
        if r is None:
            why = ix.excluded.reason.get(ctx.unit, _("not among its units")) if ctx.unit in ix.excluded.index \
                else _("not among its units")
            phrases.append(_("is not ranked on the {index} {year} ({why})").format(index=title, year=ix.year, why=why))
            continue
        tpl = _("ranks {ordinal} of {n} on the {index} {year}") if not phrases else \
            _("{ordinal} of {n} on the {index} {year}")
        phrases.append(tpl.format(ordinal=ordinal(r, ctx.lang), n=n, index=title, year=ix.year))
        sec.key_numbers[f"{name}.rank"] = r
        sec.key_numbers[f"{name}.n"] = n
        sec.key_numbers[f"{name}.score"] = round(float(ix.score[ctx.unit]), 4)
    if len(phrases) > 1:
        first = ctx.unit_name + " " + ", ".join(phrases[:-1]) + " " + _("and") + " " + phrases[-1]
    else:
        first = ctx.unit_name + " " + (phrases[0] if phrases else "")
    main = ctx.indices[ctx.spec]
    pil = pillars_of(main)
    sc = main.scores.loc[ctx.unit, pil].astype(float) if ctx.unit in main.scores.index else None
    sentences = [first + "."]
    sentences += rankings_brief(ctx, sec)   # the highest and lowest published ranking, and why
    if sc is not None and sc.notna().any():
        weak, strong = sc.idxmin(), sc.idxmax()
        sec.key_numbers["weakest_pillar"] = weak
        sec.key_numbers["weakest_score"] = round(float(sc[weak]), 1)
        sec.key_numbers["strongest_pillar"] = strong
        lead = main.table().iloc[0]
        leader = main.table().index[0]
        sentences.append(_("On {index}, its weakest pillar is {weak} ({wscore} of 100) and its strongest is "
                           "{strong} ({sscore}); the leader, {leader}, scores {lscore} overall against "
                           "{uscore}.").format(
            index=ctx.index_title(main), weak=ctx.node_name(main, weak), wscore=fmt_num(sc[weak], ctx.lang),
            strong=ctx.node_name(main, strong), sscore=fmt_num(sc[strong], ctx.lang), leader=ctx.name_of(leader),
            lscore=fmt_num(lead[main.name], ctx.lang), uscore=fmt_num(main.score[ctx.unit], ctx.lang)))
        # the weakest indicators, from the audit's strengths and weaknesses
        try:
            from ...stats.audit import strengths_weaknesses

            norm = main.stages["normalised"]
            _s, w = strengths_weaknesses(norm, ctx.unit, top=3, bottom=3, meta=ctx.meta(main))
            if len(w):
                names = [ctx.node_name(main, c) for c in w.sort_values("rank", ascending=False).code]
                sentences.append(_("What holds it back most, relative to other countries: {items}.").format(
                    items=", ".join(names)))
                sec.key_numbers["weakest_indicators"] = ", ".join(w.sort_values("rank", ascending=False).code)
        except DigimeterError:
            pass
    ev = None
    if "targets" in ctx.wanted:
        try:
            ev = evaluate_targets(ctx)
        except DigimeterError as e:
            ctx.errors["targets"] = str(e)
    if ev is not None:
        sc, t = ev
        head = t[(t.unit == ctx.unit) | (t.unit == "all")]
        words = [status_code_or_word(r) for _i, r in head.iterrows()]
        met = words.count("already_met")
        track = words.count("on_track")
        slip = sum(w in ("met_now_may_slip", "met_now_likely_to_slip") for w in words)
        rest = head[[w not in ("already_met", "on_track") for w in words]]
        names = {x.id: (x.name or x.id) for x in sc.targets}
        text = _("Targets of “{title}”: {n}; already met (and likely to hold): {met}; on track: {track}.").format(
            n=len(head), title=_(sc.title or sc.name), met=met, track=track)
        if slip:   # met today, but not likely to hold in the deadline year: not counted as met
            text += " " + _("Met now but may not hold by the deadline: {n}.").format(n=slip)
        if len(rest.dropna(subset=["p_met"])):
            w = rest.dropna(subset=["p_met"]).sort_values("p_met").iloc[0]
            text += " " + _("The least likely is {target} (probability {p}% by {deadline}).").format(
                target=_(names.get(w.target, w.target)) + (" " + _("(all regions)") if w.unit == "all" else ""),
                p=fmt_num(100 * float(w.p_met), ctx.lang, 0), deadline=int(w.deadline))
        sentences.append(text)
        sec.key_numbers["targets.met"] = met
        sec.key_numbers["targets.on_track"] = track
        sec.key_numbers["targets.met_now_may_slip"] = slip
    sec.paragraphs = sentences
    return sec
