"""Refresh the store from the publishers: fetch everything first, then write it in one transaction.

:func:`update` runs the chosen connectors (World Bank, ITU, UN e-government, Eurostat, generic SDMX/CSV),
then :func:`apply_batches` writes all their batches as **one new vintage**, atomically:

* nothing is written until every source has been fetched and parsed (a failed source aborts the whole
  update unless ``keep_going=True``);
* the writes happen in one DuckDB transaction: a crash or ``kill -9`` in the middle leaves the store as
  it was (DuckDB's write-ahead log is rolled back on the next open);
* observations are only ever added (the store keeps every vintage); unchanged values add nothing;
* a **suspicious revision** — a value that moves more than ``threshold`` (relative, default 20 %) from
  the current one, or any value outside the indicator's valid range — is not applied: it goes to the
  ``revisions`` table with status 'pending' for ``digimeter data review``;
* series the publisher no longer returns (for a complete request) are recorded as 'dropped' events of
  the new vintage; their values stay.
"""

from __future__ import annotations


import numpy as np
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import pandas as pd

from ..errors import DataError, SourceError
from ..store import IND_COLS, ORIGIN_COLS, UNIT_COLS, ChangeReport, ImportCounts, Store
from .http import Batch, Fetcher

SOURCES = ("worldbank", "itu", "unegov", "eurostat", "sdmx")
DEFAULT_THRESHOLD = 0.20


@dataclass(kw_only=True)
class UpdateReport(ImportCounts):
    """What ``data update`` did: :class:`~digimeter.store.ImportCounts`, the values held for review
    (``flagged``) and series dropped, the rows fetched per source, notes and the sources that failed."""

    flagged: int = 0
    dropped: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False

    def __str__(self) -> str:
        v = f"vintage {self.vintage}" if self.vintage else "no new vintage (nothing changed)"
        if self.dry_run:
            v = "dry run: nothing written"
        text = (f"{self.new} new, {self.changed} revised, {self.unchanged} unchanged, "
                f"{self.flagged} held for review, {self.dropped} dropped series; {v}")
        if self.by_source:
            text += "\n  rows fetched: " + ", ".join(f"{k} {n}" for k, n in self.by_source.items())
        if self.new_indicators:
            text += f"\n  new indicators: {', '.join(self.new_indicators[:10])}" + (" ..." if len(self.new_indicators) > 10 else "")
        if self.new_units:
            text += f"\n  new units: {', '.join(self.new_units[:10])}" + (" ..." if len(self.new_units) > 10 else "")
        for n in self.notes:
            text += f"\n  note: {n}"
        for s, e in self.failed.items():
            text += f"\n  FAILED {s}: {e}"
        if self.flagged:
            text += "\n  see `digimeter data review` to accept or reject the held values"
        return text


def fetch_source(name: str, fetcher: Fetcher, store: Store, indicators: list[str] | None = None,
                 on_page=None, **opts) -> list[Batch]:
    """Run one connector; ``indicators`` are its codes (WDI codes, ITU series, Eurostat datasets, ...)."""
    if name == "worldbank":
        from . import worldbank as m
        return m.connector(fetcher, store, indicators, on_page=on_page, **opts)
    if name == "itu":
        from . import itu as m
        return m.connector(fetcher, store, indicators, on_page=on_page, **opts)
    if name == "unegov":
        from . import unegov as m
        years = [int(y) for y in (opts.pop("years", None) or indicators or [])] or None
        return m.connector(fetcher, store, years, on_page=on_page, **opts)
    if name == "eurostat":
        from . import eurostat as m
        return m.connector(fetcher, store, indicators, on_page=on_page, **opts)
    if name == "sdmx":
        from . import sdmx as m
        urls = opts.pop("urls", None) or ([opts.pop("url")] if opts.get("url") else None)
        opts.pop("url", None)
        return m.connector(fetcher, store, urls, indicator=(indicators or [None])[0], on_page=on_page, **opts)
    raise DataError(f"unknown source '{name}'", field="source", value=name, fix=f"use one of {', '.join(SOURCES)}")


def update(store: Store, sources: list[str] | None = None, indicators: list[str] | None = None, *,
           fetcher: Fetcher | None = None, threshold: float = DEFAULT_THRESHOLD, keep_going: bool = False,
           dry_run: bool = False, options: dict[str, dict] | None = None,
           progress: Callable[[str, int, int], None] | None = None, hook: Callable[[str], None] | None = None
           ) -> UpdateReport:
    """Fetch from ``sources`` (default: worldbank, itu, unegov, eurostat) and apply it as one vintage."""
    sources = sources or ["worldbank", "itu", "unegov", "eurostat"]
    fetcher = fetcher or Fetcher()
    options = options or {}
    batches: list[Batch] = []
    failed: dict[str, str] = {}
    for s in sources:
        cb = (lambda d, n, s=s: progress(s, d, n)) if progress else None
        try:
            batches += fetch_source(s, fetcher, store, indicators, on_page=cb, **dict(options.get(s, {})))
        except SourceError as e:
            if not keep_going:
                raise SourceError(f"update stopped, nothing was written: {s}: {e.message}",
                                  problems=e.problems) from e
            failed[s] = e.message
    if hook:
        hook("fetched")
    rep = apply_batches(store, batches, threshold=threshold, dry_run=dry_run, hook=hook)
    rep.failed = failed
    return rep


def _has_duplicate_keys(obs: pd.DataFrame) -> bool:
    """Whether any (unit, indicator, year) occurs twice: one hash aggregate in DuckDB over Arrow columns."""
    import duckdb
    import pyarrow as pa

    if len(obs) < 2:
        return False
    u, i, y = obs["unit"], obs["indicator"], obs["year"].to_numpy()
    if isinstance(u.dtype, pd.CategoricalDtype) and isinstance(i.dtype, pd.CategoricalDtype):
        # categories are unique, so (unit code, indicator code, year) identifies a key: one int64 per row
        y0, span = int(y.min()), int(y.max()) - int(y.min()) + 1
        n_i = len(i.cat.categories) + 1
        space = (len(u.cat.categories) + 1) * n_i * span
        if space < 2 ** 62:
            k = ((u.cat.codes.to_numpy().astype(np.int64) + 1) * n_i + i.cat.codes.to_numpy() + 1) * span + (y - y0)
            if space <= 4 * len(k) + 1_000_000:  # a dense key space (a bulk file): count per key, no hashing
                return bool(np.bincount(k, minlength=0).max() > 1)
            return bool(pd.Series(k).duplicated().any())
    keys = pa.Table.from_pandas(obs[["unit", "indicator", "year"]], preserve_index=False)
    con = duckdb.connect()
    try:
        con.register("_keys", keys)
        # hashes first (one integer per row); only a repeated hash needs the exact check
        if not con.execute("SELECT 1 FROM _keys GROUP BY hash(unit, indicator, year) HAVING count(*) > 1 "
                           "LIMIT 1").fetchall():
            return False
        return bool(con.execute("SELECT 1 FROM _keys GROUP BY unit, indicator, year HAVING count(*) > 1 "
                                "LIMIT 1").fetchall())
    finally:
        con.close()


def _validate(obs: pd.DataFrame) -> pd.DataFrame:
    obs = obs.copy(deep=False)
    obs["year"] = pd.to_numeric(obs["year"], errors="raise").astype("int32")
    obs["value"] = pd.to_numeric(obs["value"], errors="raise").astype("float64")
    bad = ~np.isfinite(obs["value"].to_numpy())
    if bad.any():
        r = obs[bad].iloc[0]
        raise SourceError(f"non-finite value for {r.unit} {r.indicator} {r.year}: {r.value}", field="value",
                          value=r.value)
    if not _has_duplicate_keys(obs):
        return obs
    dup = obs.duplicated(["unit", "indicator", "year"], keep=False)
    if dup.any():
        d = obs[dup].groupby(["unit", "indicator", "year"])["value"].nunique()
        clash = d[d > 1]
        if len(clash):
            (u, i, y) = clash.index[0]
            raise SourceError(f"two sources give different values for {u} {i} {y}", field="indicator", value=i,
                              fix="update them one source at a time")
        obs = obs.drop_duplicates(["unit", "indicator", "year"])
    return obs


def _combine(batches: list[Batch], rep: UpdateReport) -> pd.DataFrame:
    """The batches' rows as one validated frame; the origin of each row a categorical over the batches'
    origins (codes, not n string copies)."""
    parts = []
    origin_ids = list(dict.fromkeys(b.origin_id for b in batches))
    for b in batches:
        o = b.observations
        cols = ["unit", "indicator", "year", "value"] + (["note"] if "note" in o else [])  # no note: none made
        o = pd.DataFrame({c: o[c] if c in o else None for c in cols}, index=o.index)
        o["origin_id"] = pd.Categorical.from_codes(np.full(len(o), origin_ids.index(b.origin_id), dtype=np.int16),
                                                   categories=origin_ids)
        parts.append(o)
        rep.by_source[b.source] = rep.by_source.get(b.source, 0) + len(o)
        rep.notes += [f"{b.source}: {n}" for n in b.skipped]
    if len(parts) == 1:
        obs = parts[0].reset_index(drop=True)
    else:
        obs = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["unit", "indicator", "year", "value", "note", "origin_id"])
    return _validate(obs)


def _add_new(store: Store, batches: list[Batch], table: str, attr: str, cols: list[str],
             upsert) -> tuple[set[str], list[str]]:
    """Units or indicators new to the store (existing metadata is never overwritten)."""
    have = set(store.query(f"SELECT code FROM {table}").code)
    frames = [getattr(b, attr) for b in batches if getattr(b, attr) is not None and len(getattr(b, attr))]
    if not frames:
        return have, []
    new = pd.concat(frames).drop_duplicates("code")
    new = new[~new.code.isin(have)]
    if len(new):
        upsert(new.reindex(columns=cols))
    return have | set(new.code), sorted(new.code)


def _known_rows(store: Store, batches: list[Batch], obs: pd.DataFrame, rep: UpdateReport) -> pd.DataFrame:
    """Add new units, indicators and origins; leave out (and say so) rows the store cannot describe."""
    have_units, added = _add_new(store, batches, "units", "units", UNIT_COLS, store.upsert_units)
    if added:
        rep.new_units = added
    have_ind, added = _add_new(store, batches, "indicators", "indicators", IND_COLS, store.upsert_indicators)
    if added:
        rep.new_indicators = added
    lost_u = obs[~obs.unit.isin(have_units)]
    if len(lost_u):
        rep.notes.append(f"{len(lost_u)} values for units not in the store left out "
                         f"({', '.join(sorted(set(lost_u.unit))[:8])})")
    lost_i = obs[~obs.indicator.isin(have_ind)]
    if len(lost_i):
        rep.notes.append(f"{len(lost_i)} values for indicators without metadata left out "
                         f"({', '.join(sorted(set(lost_i.indicator))[:8])})")
    keep = obs.unit.isin(have_units).to_numpy() & obs.indicator.isin(have_ind).to_numpy()
    if not keep.all():
        obs = obs[keep]
    if batches:
        store.upsert_origins(pd.DataFrame([b.origin for b in batches]).drop_duplicates("origin_id")
                             .reindex(columns=ORIGIN_COLS))
    return obs


def _suspicious(store: Store, obs: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Revisions held for review: big jumps against the current value and values outside the valid range."""
    import pyarrow as pa

    con = store.con
    con.register("_upd", pa.Table.from_pandas(obs[["unit", "indicator", "year", "value", "origin_id"]],
                                              preserve_index=False))
    try:
        return store.query("""
            WITH cur AS (SELECT unit, indicator, year, arg_max(value, vintage) AS value
                         FROM observations WHERE indicator IN (SELECT DISTINCT indicator FROM _upd)
                         GROUP BY ALL)
            SELECT u.unit, u.indicator, u.year, cur.value AS old_value, u.value AS new_value, u.origin_id,
                   CASE WHEN (i.min_value IS NOT NULL AND u.value < i.min_value)
                             OR (i.max_value IS NOT NULL AND u.value > i.max_value)
                        THEN 'outside the valid range [' || coalesce(i.min_value::VARCHAR, '') || ', '
                             || coalesce(i.max_value::VARCHAR, '') || ']'
                        ELSE 'jump of ' || round(100 * abs(u.value - cur.value) / abs(cur.value), 1)::VARCHAR
                             || ' % (threshold ' || round(100 * ?, 1)::VARCHAR || ' %)' END AS reason
            FROM _upd u JOIN (SELECT code, min_value, max_value FROM indicators) i ON i.code = u.indicator
            LEFT JOIN cur USING (unit, indicator, year)
            WHERE (i.min_value IS NOT NULL AND u.value < i.min_value)
               OR (i.max_value IS NOT NULL AND u.value > i.max_value)
               OR (cur.value IS NOT NULL AND cur.value IS DISTINCT FROM u.value AND
                   CASE WHEN cur.value = 0 THEN u.value <> 0
                        ELSE abs(u.value - cur.value) / abs(cur.value) > ? END)""", [threshold, threshold])
    finally:
        try:
            con.unregister("_upd")
        except Exception:  # the transaction is aborted; the caller's rollback cleans up
            pass


def _hold_suspicious(store: Store, obs: pd.DataFrame, threshold: float, rep: UpdateReport) -> pd.DataFrame:
    """Queue suspicious revisions for review (each held value once) and leave them out of ``obs``."""
    sus = _suspicious(store, obs, threshold)
    if not len(sus):
        return obs
    key = ["unit", "indicator", "year"]
    pend = store.query("SELECT unit, indicator, year, new_value FROM revisions WHERE status = 'pending'")
    fresh = sus.merge(pend, on=key + ["new_value"], how="left", indicator="_m")
    fresh = fresh[fresh["_m"] == "left_only"].drop(columns="_m")
    if len(fresh):
        start = int(store.con.execute("SELECT coalesce(max(revision_id), 0) FROM revisions").fetchall()[0][0]) + 1
        fresh = fresh.assign(revision_id=range(start, start + len(fresh)),
                             created=datetime.now(timezone.utc).replace(tzinfo=None), status="pending",
                             decided=None, vintage=None, note=None)
        fresh["decided"] = pd.to_datetime(fresh["decided"])
        fresh["vintage"] = fresh["vintage"].astype("Int64")
        fresh["note"] = fresh["note"].astype(object)
        store.upsert("revisions", fresh, ["revision_id", "created", "unit", "indicator", "year", "old_value",
                                          "new_value", "origin_id", "reason", "status", "decided",
                                          "vintage", "note"], "revision_id")
    rep.flagged = len(sus)
    held = obs.set_index(key).index.isin(sus.set_index(key).index)
    return obs[~held]


def _dropped_series(store: Store, batches: list[Batch]) -> list[tuple[str, str, str]]:
    """Complete requests that no longer return a series the same publisher gave before."""
    dropped = []
    for b in batches:
        if not b.covers:
            continue
        got = set(zip(b.observations.unit, b.observations.indicator))
        cur = store.query(f"""
            SELECT o.unit, o.indicator FROM (
                SELECT unit, indicator, arg_max(origin_id, vintage) AS origin_id FROM observations
                WHERE indicator IN ({','.join('?' * len(b.covers))}) GROUP BY ALL) o
            JOIN origins g USING (origin_id)
            WHERE g.publisher = $p OR g.publisher ILIKE $p || ',%' OR g.publisher ILIKE '%(' || $p || ')%'
            """.replace("$p", "?"), [*b.covers, *[b.origin.get("publisher")] * 3])
        for u, i in zip(cur.unit, cur.indicator):
            if (u, i) not in got:
                dropped.append((u, i, b.origin_id))
    return dropped


def _write(store: Store, batches: list[Batch], obs: pd.DataFrame, dropped: list, kind: str,
           rep: UpdateReport) -> None:
    """The new and changed values as one vintage, and the dropped series as events of it."""
    sources = sorted({b.source for b in batches})
    ch: ChangeReport = store.add_observations(obs, kind=kind, unique_keys=True, origin_id=None,
                                              note=f"{kind}: " + ", ".join(sources), source=", ".join(sources))
    rep.new, rep.changed, rep.unchanged, rep.vintage = ch.new, ch.changed, ch.unchanged, ch.vintage
    if dropped:
        if rep.vintage is None:
            rep.vintage = store.next_vintage()
            store.con.execute("INSERT INTO vintages VALUES (?, ?, ?, ?, ?)",
                              [rep.vintage, datetime.now(timezone.utc).replace(tzinfo=None), kind, None,
                               f"{kind}: dropped series only"])
        store.con.executemany("INSERT INTO series_events VALUES (?, ?, ?, 'dropped', ?)",
                              [[rep.vintage, u, i, o] for u, i, o in dropped])


def apply_batches(store: Store, batches: list[Batch], *, threshold: float = DEFAULT_THRESHOLD,
                  dry_run: bool = False, kind: str = "update", hook: Callable[[str], None] | None = None
                  ) -> UpdateReport:
    """Write batches atomically as one vintage (see the module docstring for the rules)."""
    say = hook or (lambda stage: None)
    rep = UpdateReport(dry_run=dry_run)
    obs = _combine(batches, rep)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        say("begin")
        obs = _known_rows(store, batches, obs, rep)
        obs = _hold_suspicious(store, obs, threshold, rep)
        say("flagged")
        dropped = _dropped_series(store, batches)
        rep.dropped = len(dropped)
        _write(store, batches, obs, dropped, kind, rep)
        say("written")
        if dry_run:
            con.execute("ROLLBACK")
            rep.vintage = None
            return rep
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    say("committed")
    return rep
