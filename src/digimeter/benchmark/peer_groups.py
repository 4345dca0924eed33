"""Peers and the frontier: a unit's peer groups (UN subregion / WB region, income group, nearest by GDP
per capita PPP, a custom list), its distance to the leader, the top 5, the top 25 and its peers, and the
indicators where it is furthest above and below its peers (strengths and weaknesses)."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import DataError, DigimeterError

__all__ = ["PEER_KINDS", "peers", "peer_list", "indicator_info", "frontier", "strengths"]


PEER_KINDS = ("region", "subregion", "wb_region", "income", "nearest")


def peers(store, unit: str, by: str | Sequence[str] = "region", *, k: int = 10, year: int | None = None,
          universe: Iterable[str] | None = None, min_size: int = 4) -> list[str]:
    """The unit's peers (the unit itself excluded).

    Parameters
    ----------
    by : str or list of unit codes
        ``subregion`` (UN M49 subregion), ``wb_region`` (World Bank region), ``region`` (the UN
        subregion, or the World Bank region when the subregion has fewer than ``min_size`` other
        members in the universe), ``income`` (World Bank income group), ``nearest`` (the ``k`` units
        nearest in log GDP per capita, PPP, latest value up to ``year``), or an explicit list
        (also a comma-separated string).
    universe : iterable of str, optional
        Only units from this set (e.g. the units of an index). Default: UN member countries.
    """
    u = store.units()
    code = store.unit(unit)["code"]
    me = u.set_index("code").loc[code]
    if universe is None:
        pool = u[(u.kind == "country") & (u.un_member.fillna(False).astype(bool))]
    else:
        pool = u[u.code.isin(list(universe))]
    pool = pool[pool.code != code]
    if isinstance(by, str) and by not in PEER_KINDS:
        by = [c.strip() for c in by.split(",") if c.strip()]
    if not isinstance(by, str):
        known = set(u.code)
        wanted = [store.unit(c)["code"] if c.upper() not in known else c.upper() for c in by]
        return [c for c in wanted if c != code]

    def same(col: str) -> list[str]:
        if pd.isna(me[col]):
            raise DataError(f"{code} has no {col}", field=col, value=code, fix="give --peers as a list of units")
        return sorted(pool.code[pool[col] == me[col]])

    if by == "subregion":
        return same("un_subregion")
    if by == "wb_region":
        return same("wb_region")
    if by == "region":
        got = same("un_subregion") if not pd.isna(me["un_subregion"]) else []
        return got if len(got) >= min_size else same("wb_region")
    if by == "income":
        return same("income_group")
    # nearest by GDP per capita PPP
    obs = store.observations(indicators="gdp_pc_ppp", units=list(pool.code) + [code])
    if year is not None:
        obs = obs[obs.year <= year]
    if obs.empty:
        raise DataError("no GDP per capita (PPP) data for nearest peers", field="gdp_pc_ppp")
    latest = obs.sort_values("year").groupby("unit").value.last()
    if code not in latest.index:
        raise DataError(f"{code} has no GDP per capita (PPP)", field="gdp_pc_ppp", value=code,
                        fix="choose --peers region or income")
    lv = np.log(latest[latest > 0])
    d = (lv.drop(code) - lv[code]).abs().sort_values(kind="stable")
    return list(d.index[:k])


def peer_list(index, unit: str, peers_: Any, store=None) -> list[str] | None:
    """The peers of ``unit`` for an index: None, a peer kind (``region``, ``income``, ``nearest`` ...,
    resolved in ``store``) or unit codes (a list or a comma-separated text); the unit itself is left out."""
    if peers_ is None:
        return None
    if isinstance(peers_, str) and peers_ in PEER_KINDS:
        from ..store import open_store

        own = store is None
        st = store or open_store()
        try:
            return peers(st, unit, peers_, year=index.year, universe=index.scores.index)
        finally:
            if own:
                st.close()
    if isinstance(peers_, str):
        peers_ = [c.strip().upper() for c in peers_.split(",") if c.strip()]
    return [c for c in peers_ if c != unit]


def indicator_info(index, store=None) -> pd.DataFrame:
    """Per indicator node: store code, unit of measure, direction, valid range (from the store when
    given, else NaN)."""
    m = index.meta().set_index("code")
    icodes = list(index.stages["normalised"].columns)
    info = pd.DataFrame({"indicator": m.loc[icodes, "indicator"].to_numpy(),
                         "name": m.loc[icodes, "name"].to_numpy(),
                         "direction": [int(index.params["directions"][c]) for c in icodes]}, index=icodes)
    info["measure"] = ""
    info["min_value"] = np.nan
    info["max_value"] = np.nan
    if store is not None:
        for c in icodes:
            try:
                meta = store.indicator(info.at[c, "indicator"])
            except DigimeterError:
                continue
            info.at[c, "measure"] = meta.get("unit") or ""
            info.at[c, "min_value"] = meta.get("min_value") if meta.get("min_value") is not None else np.nan
            info.at[c, "max_value"] = meta.get("max_value") if meta.get("max_value") is not None else np.nan
    return info


def frontier(index, unit: str, *, peers: Any = None, store=None) -> pd.DataFrame:
    """Distance of a unit to the frontier on every node: to the leader, the mean of the top 5, the
    threshold of the top 25 (the 25th best value) and the peer mean, in score and, for indicators,
    in the indicator's natural unit (raw values, the best being the highest or, for indicators where
    lower is better, the lowest).

    Gaps are ``reference - unit`` in score (positive = behind) and ``(reference - unit) x direction``
    in natural units (positive = behind), so both read the same way.

    Parameters
    ----------
    index : Index
    unit : str
    peers : list of unit codes, a peer kind (``region``, ``income``, ``nearest`` ...; needs ``store``), optional
    store : Store, optional
        For indicator units of measure and peer kinds.
    """
    code = index.ranked_code(unit)
    peer_codes = peer_list(index, code, peers, store)
    m = index.meta()
    info = indicator_info(index, store)
    raw = index.stages["raw"].reindex(index.scores.index)
    rows = []
    for r in m.itertuples():
        s = index.scores[r.code].dropna()
        srt = s.sort_values(ascending=False, kind="stable")
        row = {"node": r.code, "name": r.name, "level": r.level, "parent": r.parent, "kind": r.kind,
               "score": s.get(code, np.nan), "rank": index.ranks[r.code].get(code, np.nan), "n": len(s),
               "leader": srt.index[0] if len(srt) else None,
               "leader_score": srt.iloc[0] if len(srt) else np.nan,
               "top5_mean": srt.iloc[:5].mean(), "top25_threshold": srt.iloc[24] if len(srt) >= 25 else np.nan}
        row["gap_leader"] = row["leader_score"] - row["score"]
        row["gap_top5"] = row["top5_mean"] - row["score"]
        row["gap_top25"] = row["top25_threshold"] - row["score"]
        if peer_codes is not None:
            row["peer_mean"] = s.reindex(peer_codes).mean()
            row["gap_peers"] = row["peer_mean"] - row["score"]
        if r.kind == "indicator":
            d = info.at[r.code, "direction"]
            v = raw[r.code].dropna()
            best = (v * d).sort_values(ascending=False, kind="stable") * d
            row.update({"measure": info.at[r.code, "measure"], "raw": raw[r.code].get(code, np.nan),
                        "raw_leader": best.iloc[0] if len(best) else np.nan,
                        "raw_top5_mean": best.iloc[:5].mean(),
                        "raw_top25_threshold": best.iloc[24] if len(best) >= 25 else np.nan})
            row["raw_gap_leader"] = (row["raw_leader"] - row["raw"]) * d
            row["raw_gap_top5"] = (row["raw_top5_mean"] - row["raw"]) * d
            row["raw_gap_top25"] = (row["raw_top25_threshold"] - row["raw"]) * d
            if peer_codes is not None:
                row["raw_peer_mean"] = v.reindex(peer_codes).mean()
                row["raw_gap_peers"] = (row["raw_peer_mean"] - row["raw"]) * d
        rows.append(row)
    out = pd.DataFrame(rows)
    out["rank"] = out["rank"].astype("Int64")
    out.attrs.update(unit=code, index=index.name, year=index.year, peers=peer_codes)
    return out


def strengths(index, unit: str, peers: Any = "region", *, store=None) -> pd.DataFrame:
    """Indicators where a unit is furthest above (strengths) and below (weaknesses) its peers.

    Returns one row per indicator, sorted from the greatest strength to the greatest weakness:
    ``node, name, measure, raw, peer_median, difference`` (natural units, positive = better than the
    peers), ``score, peer_median_score, score_difference`` (normalised), ``percentile`` (share of the
    peers the unit is ahead of on the indicator, ties counted half) and ``verdict``
    (``strength`` / ``weakness`` / ``on par`` when within 2.5 normalised points of 100, or 2.5 % of
    the range).
    """
    code = index.ranked_code(unit)
    peer_codes = peer_list(index, code, peers, store)
    peer_codes = [p for p in peer_codes if p in index.scores.index]
    if not peer_codes:
        raise DataError(f"no peers of {code} in {index.name}", field="peers", value=peers)
    info = indicator_info(index, store)
    raw = index.stages["raw"].reindex(index.scores.index)
    nz = index.stages["normalised"]
    rng = float(np.nanmax(nz.to_numpy()) - np.nanmin(nz.to_numpy())) or 1.0
    rows = []
    for c in info.index:
        d = info.at[c, "direction"]
        pv = raw.loc[peer_codes, c].dropna()
        v = raw.at[code, c]
        ps = nz.reindex(peer_codes)[c].dropna()
        s = nz.at[code, c] if code in nz.index else np.nan
        pct = (100.0 * (((pv * d) < v * d).sum() + 0.5 * ((pv * d) == v * d).sum()) / len(pv)
               if len(pv) and not pd.isna(v) else np.nan)
        rows.append({"node": c, "name": info.at[c, "name"], "measure": info.at[c, "measure"], "raw": v,
                     "peer_median": pv.median() if len(pv) else np.nan,
                     "difference": (v - pv.median()) * d if len(pv) else np.nan, "score": s,
                     "peer_median_score": ps.median() if len(ps) else np.nan,
                     "score_difference": s - ps.median() if len(ps) else np.nan, "percentile": pct,
                     "n_peers": len(pv)})
    out = pd.DataFrame(rows)
    tol = 0.025 * rng
    out["verdict"] = np.where(out.score_difference > tol, "strength",
                              np.where(out.score_difference < -tol, "weakness", "on par"))
    out.loc[out.score_difference.isna(), "verdict"] = "no data"
    out = out.sort_values("score_difference", ascending=False, na_position="last").reset_index(drop=True)
    out.attrs.update(unit=code, peers=peer_codes, index=index.name, year=index.year)
    return out
