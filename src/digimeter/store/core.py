"""The embedded DuckDB store: units, indicators, origins, observations and their vintages.

The store is a single DuckDB file under the user's data directory (``$DIGIMETER_HOME`` overrides it).
On first use it is created from the bundled snapshot (``digimeter/data/snapshot/*.parquet``) as
vintage 1. Every later change (a user import, a connector update, a newer bundled snapshot) adds a new
vintage; nothing is ever overwritten or deleted, so any earlier state can be read back with
``as_of_vintage``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ..errors import DataError, NotFoundError
from .locking import connect, mark_writer
from .schema import GROUP_COLS, IND_COLS, NAME_COLS, ORIGIN_COLS, UNIT_COLS, ensure_schema

__all__ = ["default_home", "snapshot_dir", "snapshot_parts", "snapshot_fingerprint", "ImportCounts", "ChangeReport", "Store",
           "open_store"]


def default_home() -> Path:
    """The folder holding the store: ``$DIGIMETER_HOME`` or the user's data directory."""
    env = os.environ.get("DIGIMETER_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("digimeter", appauthor=False))


def snapshot_dir() -> Path:
    return Path(str(resources.files("digimeter") / "data" / "snapshot"))


def snapshot_parts() -> dict[str, dict[str, Path]]:
    """The bundled snapshot's parts: ``{part: {table: path}}``."""
    parts: dict[str, dict[str, Path]] = {}
    for p in sorted(snapshot_dir().glob("*.parquet")):
        table, _, part = p.stem.partition("_")
        parts.setdefault(part, {})[table] = p
    return parts


def snapshot_fingerprint() -> str:
    h = hashlib.sha256()
    for part, tables in sorted(snapshot_parts().items()):
        for table, path in sorted(tables.items()):
            h.update(f"{part}/{table}".encode())
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


@dataclass(kw_only=True)
class ImportCounts:
    """What every import reports, whatever it imported (a file of values, units or indicators: :class:`ChangeReport`;
    a crosswalk or boundaries: ``GeoImportReport``; an update from the publishers: ``UpdateReport``), so a caller
    can treat every import alike: the vintage it made (None: nothing changed), the values new, changed and
    unchanged, and the units and indicators it added."""

    vintage: int | None = None
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    new_indicators: list[str] = field(default_factory=list)
    new_units: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ChangeReport(ImportCounts):
    """What a load into the store did (:class:`ImportCounts` and where it came from)."""

    origin_id: str
    skipped_blank: int = 0
    source: str | None = None
    form: str | None = None  # the layout an import detected (long, wide_by_indicator, ...)

    def __str__(self) -> str:
        """What happened, in the order it matters: values, then units and indicators, then the vintage."""
        where = f"{self.source}: " if self.source else ""
        parts = []
        if self.form in ("units", "indicators") and not (self.new or self.changed or self.unchanged):
            if not (self.new_units or self.new_indicators):
                parts.append(f"no new {self.form}" + ("" if self.vintage else " (all already in the store)"))
        elif self.new or self.changed or self.unchanged or not (self.new_units or self.new_indicators):
            parts.append(f"{self.new} new values, {self.changed} changed (old values kept in earlier vintages), "
                         f"{self.unchanged} unchanged")
        if self.skipped_blank:
            parts.append(f"{self.skipped_blank} blank cells skipped")
        for what, codes in (("unit", self.new_units), ("indicator", self.new_indicators)):
            if codes:
                more = f" and {len(codes) - 12} more" if len(codes) > 12 else ""
                parts.append(f"{len(codes)} new {what}{'s' if len(codes) != 1 else ''}: {', '.join(codes[:12])}{more}")
        parts.append(f"recorded as vintage {self.vintage}" if self.vintage
                     else "nothing changed, so no new vintage")
        return where + "; ".join(parts)



class Store:
    """The DuckDB store.

    Parameters
    ----------
    path : str or Path, optional
        The database file. Default: ``default_home() / "digimeter.duckdb"``. ``":memory:"`` gives a
        throw-away store (still filled from the bundled snapshot).
    read_only : bool
        Open without write access (several processes may then read at once). The file must exist.
    """

    def __init__(self, path: str | Path | None = None, *, read_only: bool = False, wait: float | None = None):
        if path is None:
            path = default_home() / "digimeter.duckdb"
        self.path = path
        self._marker: Path | None = None
        self.read_only = read_only
        if str(path) == ":memory:":
            self.con = duckdb.connect(str(path), read_only=read_only)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            if read_only and not Path(path).exists():
                raise NotFoundError("no store file to read", file=str(path),
                                    fix="run any digimeter command once to create it from the bundled snapshot")
            # another process may hold the file: readers wait for it, writers get one line saying who
            self.con = connect(path, read_only=read_only, wait=wait)
            if not read_only:
                self._mark_writer()
        if not read_only:
            self._ensure_schema()

    def _mark_writer(self) -> None:
        """Leave a note of who writes (pid, start time, command) for processes that find the store locked."""
        self._marker = mark_writer(self.path)

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()
        if self._marker is not None:
            try:
                self._marker.unlink()
            except OSError:
                pass
            self._marker = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """All or nothing: any exception inside rolls every change back."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    def _ensure_schema(self) -> None:
        with self.transaction() as con:
            ensure_schema(con)
        fp = snapshot_fingerprint()
        row = self.con.execute("SELECT value FROM meta WHERE key = 'snapshot'").fetchone()
        if row is None or row[0] != fp:
            self.load_snapshot(fp)

    def load_snapshot(self, fingerprint: str | None = None) -> list[ChangeReport]:
        """Load the bundled snapshot (all parts) as one vintage, in one transaction."""
        fingerprint = fingerprint or snapshot_fingerprint()
        parts = snapshot_parts()
        # the country part defines shared indicators (internet_users_pct, population ...); a later
        # part (regions) only adds indicator codes not defined before it
        order = sorted(parts, key=lambda p: (p != "countries", p))
        reports = []
        defined: set[str] = set()
        with self.transaction():
            for part in order:
                tables = parts[part]
                if "units" in tables:
                    self.upsert_units(pd.read_parquet(tables["units"]))
                if "indicators" in tables:
                    ind = pd.read_parquet(tables["indicators"])
                    ind = ind[~ind.code.isin(defined)]
                    bad = ind[ind.higher_is_better.isna()]
                    if len(bad):
                        raise DataError(f"bundled snapshot part '{part}': indicators without a direction: "
                                        f"{', '.join(bad.code)}", file=str(tables["indicators"]),
                                        field="higher_is_better", fix="set higher_is_better in the snapshot script")
                    defined |= set(ind.code)
                    self.upsert_indicators(ind)
                if "origins" in tables:
                    self.upsert_origins(pd.read_parquet(tables["origins"]))
                if "groups" in tables:
                    self.upsert_groups(pd.read_parquet(tables["groups"]))
                if "names" in tables:
                    self.upsert_names(pd.read_parquet(tables["names"]))
            obs = [pd.read_parquet(t["observations"]) for t in parts.values() if "observations" in t]
            if obs:
                allobs = pd.concat(obs, ignore_index=True)
                reports.append(self.add_observations(allobs, kind="snapshot", origin_id=None,
                                                      note=f"bundled snapshot {fingerprint[:12]}"))
            self.con.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot', ?)", [fingerprint])
        return reports

    # -- writes (callers hold a transaction) ---------------------------------------------
    def upsert(self, table: str, df: pd.DataFrame, cols: list[str], key: str) -> None:
        """Replace the rows of ``table`` whose ``key`` is in ``df`` by ``df`` (its ``cols``); the
        caller holds a transaction."""
        df = df.reindex(columns=cols)
        self.con.register("_incoming", df)
        try:
            self.con.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM _incoming)")
            self.con.execute(f"INSERT INTO {table} SELECT {', '.join(cols)} FROM _incoming")
        finally:
            self.con.unregister("_incoming")

    def upsert_units(self, df: pd.DataFrame) -> None:
        """Add or replace unit rows (by ``code``); the caller holds a transaction."""
        self.upsert("units", df, UNIT_COLS, "code")

    def upsert_indicators(self, df: pd.DataFrame) -> None:
        """Add or replace indicator rows (by ``code``); the caller holds a transaction."""
        self.upsert("indicators", df, IND_COLS, "code")

    def upsert_origins(self, df: pd.DataFrame) -> None:
        """Add or replace origin rows; the same content read again keeps its first retrieval date.

        A source re-read with an unchanged SHA-256 (and otherwise the same record) changes nothing in
        the store, so re-importing a file leaves every table as it was.
        """
        df = df.reindex(columns=ORIGIN_COLS).copy()
        if len(df) and df["sha256"].notna().any():
            cur = self.con.execute(
                "SELECT * FROM origins WHERE origin_id IN (SELECT unnest(?))",
                [df["origin_id"].astype(str).tolist()]).df()
            if len(cur):
                cur = cur.set_index("origin_id")
                same_cols = [c for c in ORIGIN_COLS if c not in ("origin_id", "retrieved")]
                for i, row in df.iterrows():
                    if row["origin_id"] not in cur.index or pd.isna(row["sha256"]):
                        continue
                    old = cur.loc[row["origin_id"]]
                    if all((pd.isna(row[c]) and pd.isna(old[c])) or row[c] == old[c] for c in same_cols):
                        df.at[i, "retrieved"] = old["retrieved"]
        self.upsert("origins", df, ORIGIN_COLS, "origin_id")

    def upsert_groups(self, df: pd.DataFrame) -> None:
        """Unit groupings (``groups_<part>.parquet``): one row per (unit, grouping), replaced whole."""
        df = df.reindex(columns=GROUP_COLS)
        self.con.register("_groups", df)
        try:
            self.con.execute("DELETE FROM unit_groups USING _groups g "
                             "WHERE unit_groups.unit = g.unit AND unit_groups.grouping = g.grouping")
            self.con.execute('INSERT INTO unit_groups SELECT unit, grouping, "group", origin_id FROM _groups')
        finally:
            self.con.unregister("_groups")

    def upsert_names(self, df: pd.DataFrame) -> None:
        """Units' names in other languages (``names_<part>.parquet``, or ``name_<lang>`` columns of an
        imported units table): one row per (code, lang), replaced whole."""
        df = df.reindex(columns=NAME_COLS)
        self.con.register("_names", df)
        try:
            self.con.execute("DELETE FROM unit_names USING _names n "
                             "WHERE unit_names.code = n.code AND unit_names.lang = n.lang")
            self.con.execute("INSERT INTO unit_names SELECT code, lang, name, origin_id FROM _names")
        finally:
            self.con.unregister("_names")

    def next_vintage(self) -> int:
        return int(self.con.execute("SELECT coalesce(max(vintage), 0) + 1 FROM vintages").fetchone()[0])

    def add_observations(self, obs: pd.DataFrame, *, kind: str, origin_id: str | None,
                          note: str | None = None, source: str | None = None,
                          unique_keys: bool = False) -> ChangeReport:
        """Add rows as a new vintage where they are new or differ from the current value.

        ``obs`` has columns unit, indicator, year, value, origin_id (or ``origin_id`` is given) and
        optionally note. Unchanged values are not stored again, so loading the same data twice adds
        nothing. The caller holds the transaction.

        Set-based and columnar (no Python rows): the incoming frame is handed to DuckDB through Arrow
        (zero-copy for numeric and Arrow-backed string columns), one SQL statement compares it with the
        current values (restricted to the incoming indicators, so zone maps prune the scan) and keeps
        only the new and changed rows, and one ``INSERT ... SELECT`` appends those. Two incoming rows
        for one key that would both be written raise :class:`DataError` (what the old per-vintage
        primary key guaranteed); ``unique_keys=True`` skips that check when the caller has made sure
        (``apply_batches`` has).
        """
        import pyarrow as pa

        n_in = len(obs)
        frame = pd.DataFrame({
            "unit": obs["unit"], "indicator": obs["indicator"],
            "year": obs["year"].astype("int32"),
            "value": obs["value"].astype("float64"),
            # one origin for every row: a one-category categorical (Arrow dictionary), not n copies
            "origin_id": (pd.Categorical.from_codes(np.zeros(n_in, dtype=np.int8), categories=[origin_id])
                          if origin_id is not None else obs["origin_id"]),
        }, index=obs.index)
        if "note" in obs:
            frame["note"] = obs["note"]
        incoming = pa.Table.from_pandas(frame, preserve_index=False)
        if "note" not in obs:  # no notes: an all-null Arrow column, not n Python Nones
            incoming = incoming.append_column("note", pa.nulls(n_in, pa.string()))
        for i, f in enumerate(incoming.schema):  # all-None columns arrive as Arrow nulls
            if pa.types.is_null(f.type):
                incoming = incoming.set_column(i, f.name, incoming.column(i).cast(pa.string()))
        self.con.register("_obs", incoming)
        try:
            # nothing stored yet for these indicators (a first bulk load): every row is new
            has_cur = self.con.execute("SELECT EXISTS (SELECT 1 FROM observations "
                                       "WHERE indicator IN (SELECT DISTINCT indicator FROM _obs))").fetchall()[0][0]
            if not has_cur:
                src, new, changed = "_obs", n_in, 0
            else:
                # the one comparison: incoming LEFT JOIN the current value of each key; keep new/changed
                self.con.execute("""
                    CREATE OR REPLACE TEMP TABLE _obs_delta AS
                    WITH cur AS (
                        SELECT unit, indicator, year, arg_max(value, vintage) AS value
                        FROM observations WHERE indicator IN (SELECT DISTINCT indicator FROM _obs)
                        GROUP BY ALL)
                    SELECT o.unit, o.indicator, o.year, o.value, o.origin_id, o.note, cur.value AS old_value
                    FROM _obs o LEFT JOIN cur USING (unit, indicator, year)
                    WHERE cur.value IS DISTINCT FROM o.value""")
                src = "_obs_delta"
                new, changed = (int(c) for c in self.con.execute(
                    "SELECT count(*) FILTER (WHERE old_value IS NULL), count(*) FILTER (WHERE old_value IS NOT NULL) "
                    "FROM _obs_delta").fetchall()[0])
            unchanged = n_in - new - changed
            vintage = None
            if (new or changed) and not unique_keys:
                dup = self.con.execute(f"SELECT unit, indicator, year, count(*) FROM {src} GROUP BY ALL "
                                       "HAVING count(*) > 1 LIMIT 1").fetchall()
                if dup:
                    u, i, y, n = dup[0]
                    raise DataError(f"{n} rows for {u} {i} {y} in one load", field="indicator", value=i,
                                    fix="give each (unit, indicator, year) once")
            if new or changed:
                vintage = self.next_vintage()
                self.con.execute("INSERT INTO vintages VALUES (?, ?, ?, ?, ?)",
                                 [vintage, datetime.now(timezone.utc).replace(tzinfo=None), kind,
                                  origin_id, note])
                self.con.execute("INSERT INTO observations "
                                 f"SELECT unit, indicator, year, value, origin_id, ?, note FROM {src}", [vintage])
        finally:
            self.con.unregister("_obs")
            try:
                self.con.execute("DROP TABLE IF EXISTS temp._obs_delta")
            except duckdb.Error:  # an aborted transaction: the caller's rollback drops it
                pass
        return ChangeReport(vintage=vintage, origin_id=origin_id or "snapshot", new=new, changed=changed,
                            unchanged=unchanged, source=source)

    # -- reads ------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def units(self, kind: str | Iterable[str] | None = None, parent: str | None = None) -> pd.DataFrame:
        """The units table (optionally of some kinds, or the children of ``parent``)."""
        sql, params = "SELECT * FROM units WHERE 1=1", []
        if kind is not None:
            kinds = [kind] if isinstance(kind, str) else list(kind)
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += kinds
        if parent is not None:
            sql += " AND parent = ?"
            params.append(parent)
        return self.query(sql + " ORDER BY code", params)

    def unit_names(self, lang: str) -> dict[str, str]:
        """Units' names in language ``lang`` as recorded in the data (``{code: name}``; English names
        are the units table's ``name``). Empty for a store made before names were kept."""
        if lang == "en":
            return dict(self.con.execute("SELECT code, name FROM units").fetchall())
        try:
            return dict(self.con.execute("SELECT code, name FROM unit_names WHERE lang = ?", [lang]).fetchall())
        except duckdb.CatalogException:
            return {}

    def unit_groups(self, units: Iterable[str] | None = None, *, wide: bool = False) -> pd.DataFrame:
        """Unit groupings that are not columns of ``units`` (e.g. COINr's ``EurAsia_group``).

        Long rows ``unit, grouping, group, origin_id``; with ``wide=True`` a frame indexed by unit with
        one column per grouping (what ``impute.group_by`` reads when the name is not a units column).
        """
        sql, params = 'SELECT unit, grouping, "group", origin_id FROM unit_groups', []
        if units is not None:
            units = list(units)
            if not units:
                sql += " WHERE 1=0"
            else:
                sql += f" WHERE unit IN ({','.join('?' * len(units))})"
                params += units
        try:
            df = self.query(sql + " ORDER BY grouping, unit", params)
        except duckdb.CatalogException:  # a store made before unit groups existed, opened read-only
            df = pd.DataFrame(columns=GROUP_COLS)
        if not wide:
            return df
        out = df.pivot(index="unit", columns="grouping", values="group") if len(df) else pd.DataFrame()
        out.columns.name = None
        return out

    def indicators(self) -> pd.DataFrame:
        """The indicator catalogue with coverage (units, first and last year)."""
        return self.query("""
            SELECT i.*, c.n_units, c.first_year, c.last_year, c.n_obs
            FROM indicators i LEFT JOIN (
                SELECT indicator, count(DISTINCT unit) AS n_units, min(year) AS first_year,
                       max(year) AS last_year, count(*) AS n_obs
                FROM (SELECT DISTINCT unit, indicator, year FROM observations) GROUP BY indicator
            ) c ON c.indicator = i.code
            ORDER BY i.code""")

    def origins(self) -> pd.DataFrame:
        return self.query("SELECT * FROM origins ORDER BY origin_id")

    def vintages(self) -> pd.DataFrame:
        return self.query("SELECT * FROM vintages ORDER BY vintage")

    def indicator(self, code: str) -> dict:
        """One indicator's metadata, by digimeter code or the publisher's code (e.g. ``i99H``)."""
        df = self.query("SELECT * FROM indicators WHERE code = ? OR source_code = ? "
                        "ORDER BY code = ? DESC", [code, code, code])
        if df.empty:
            codes = self.query("SELECT code FROM indicators").code.tolist()
            close = difflib.get_close_matches(code, codes, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "see `digimeter data list`"
            raise NotFoundError(f"unknown indicator '{code}'", field="indicator", value=code, fix=hint)
        return df.iloc[0].to_dict()

    def unit(self, code: str) -> dict:
        df = self.query("SELECT * FROM units WHERE code = ?", [code.upper() if len(code) == 3 else code])
        if df.empty:
            df = self.query("SELECT * FROM units WHERE lower(name) = lower(?)", [code])
        if df.empty:
            codes = self.query("SELECT code FROM units").code.tolist()
            close = difflib.get_close_matches(code.upper(), codes, n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "use an ISO 3166 alpha-3 code such as KAZ"
            raise NotFoundError(f"unknown unit '{code}'", field="unit", value=code, fix=hint)
        return df.iloc[0].to_dict()

    def observations(self, indicators: Iterable[str] | str | None = None,
                     units: Iterable[str] | str | None = None,
                     years: Iterable[int] | int | None = None,
                     as_of_vintage: int | None = None) -> pd.DataFrame:
        """Current observations (the latest vintage of each key), optionally as of an earlier vintage.

        Returns a DataFrame with columns unit, indicator, year, value, origin_id, vintage, note.
        """
        where, params = ["1=1"], []
        for col, vals in (("indicator", indicators), ("unit", units), ("year", years)):
            if vals is None:
                continue
            vals = [vals] if isinstance(vals, (str, int)) else list(vals)
            where.append(f"{col} IN ({','.join('?' * len(vals))})")
            params += vals
        if as_of_vintage is not None:
            where.append("vintage <= ?")
            params.append(int(as_of_vintage))
        sql = f"""
            SELECT unit, indicator, year, arg_max(value, vintage) AS value,
                   arg_max(origin_id, vintage) AS origin_id, max(vintage) AS vintage,
                   arg_max(note, vintage) AS note
            FROM observations WHERE {' AND '.join(where)}
            GROUP BY unit, indicator, year ORDER BY indicator, unit, year"""
        return self.query(sql, params)

    def history(self, unit: str, indicator: str, year: int | None = None) -> pd.DataFrame:
        """Every stored vintage of a series (the audit trail)."""
        sql = ("SELECT o.*, v.created, v.kind FROM observations o JOIN vintages v USING (vintage) "
               "WHERE unit = ? AND indicator = ?")
        params: list = [unit, indicator]
        if year is not None:
            sql += " AND year = ?"
            params.append(year)
        return self.query(sql + " ORDER BY year, vintage", params)

    def vintage_list(self) -> pd.DataFrame:
        """The vintages with how many observation rows each added."""
        return self.query("""SELECT v.*, coalesce(c.n, 0) AS n_observations FROM vintages v
                             LEFT JOIN (SELECT vintage, count(*) AS n FROM observations GROUP BY 1) c USING (vintage)
                             ORDER BY vintage""")

    def counts(self) -> dict[str, int]:
        return {t: int(self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                for t in ("units", "indicators", "origins", "vintages", "observations")}

    # -- vintages: as-of, diff, review ------------------------------------------------------
    def vintage_as_of(self, when) -> int:
        """The vintage a build pinned to ``when`` should read (``build(spec, store, as_of_vintage=...)``).

        ``when`` is a vintage number (``3``, ``"3"``, ``"v3"``) or a date/time (``"2025-06-30"``,
        ``datetime``/``date``): the latest vintage created on or before it (a bare date means the end of
        that day, UTC). Raises :class:`NotFoundError` when no vintage matches.
        """
        import datetime as _dt

        if isinstance(when, bool):
            raise DataError(f"not a vintage or date: {when!r}", field="as_of", value=when)
        if isinstance(when, int) or (isinstance(when, str) and when.strip().lower().lstrip("v").isdigit()
                                     and len(when.strip().lower().lstrip("v")) < 6):
            v = int(str(when).strip().lower().lstrip("v"))
            if not self.con.execute("SELECT 1 FROM vintages WHERE vintage = ?", [v]).fetchall():
                last = self.con.execute("SELECT max(vintage) FROM vintages").fetchall()[0][0]
                raise NotFoundError(f"no vintage {v}", field="as_of", value=when,
                                    fix=f"vintages run from 1 to {last}; see `digimeter data vintages`")
            return v
        if isinstance(when, _dt.datetime):
            t = when
        elif isinstance(when, _dt.date):
            t = _dt.datetime.combine(when, _dt.time.max)
        else:
            text = str(when).strip()
            try:
                t = _dt.datetime.fromisoformat(text)
                if len(text) == 10:
                    t = _dt.datetime.combine(t.date(), _dt.time.max)
            except ValueError:
                raise DataError(f"not a date or vintage: {when!r}", field="as_of", value=when,
                                fix="use YYYY-MM-DD, an ISO date-time, or a vintage number") from None
        if t.tzinfo is not None:
            t = t.astimezone(timezone.utc).replace(tzinfo=None)
        row = self.con.execute("SELECT max(vintage) FROM vintages WHERE created <= ?", [t]).fetchall()[0]
        if row is None or row[0] is None:
            first = self.con.execute("SELECT min(created) FROM vintages").fetchall()[0][0]
            raise NotFoundError(f"no vintage existed on {when}", field="as_of", value=str(when),
                                fix=f"the first vintage was created {first}")
        return int(row[0])

    def diff(self, v1: int | None = None, v2: int | None = None) -> pd.DataFrame:
        """What changed from the state as of vintage ``v1`` to the state as of ``v2``.

        Default: from the vintage before the latest to the latest. One row per change with columns
        ``change`` ('revised' | 'new year' | 'new series' | 'dropped series'), unit, indicator, year,
        old_value, new_value, rel_change, vintage (the vintage that made it), origin_id.
        'dropped series' rows are series a publisher no longer returned in an update between the two
        vintages (their values stay in the store).
        """
        last = int(self.con.execute("SELECT coalesce(max(vintage), 0) FROM vintages").fetchall()[0][0])
        v2 = last if v2 is None else int(v2)
        v1 = max(v2 - 1, 0) if v1 is None else int(v1)
        if v1 > v2:
            raise DataError(f"--from {v1} is after --to {v2}", field="from", value=v1, fix="swap them")
        df = self.query("""
            WITH a AS (SELECT unit, indicator, year, arg_max(value, vintage) AS value
                       FROM observations WHERE vintage <= ? GROUP BY ALL),
                 b AS (SELECT unit, indicator, year, arg_max(value, vintage) AS value,
                              max(vintage) AS vintage, arg_max(origin_id, vintage) AS origin_id
                       FROM observations WHERE vintage <= ? GROUP BY ALL),
                 sa AS (SELECT DISTINCT unit, indicator FROM a)
            SELECT CASE WHEN a.value IS NOT NULL THEN 'revised'
                        WHEN sa.unit IS NOT NULL THEN 'new year' ELSE 'new series' END AS change,
                   b.unit, b.indicator, b.year, a.value AS old_value, b.value AS new_value,
                   CASE WHEN a.value IS NOT NULL AND a.value <> 0 THEN (b.value - a.value) / abs(a.value) END
                       AS rel_change,
                   b.vintage, b.origin_id
            FROM b LEFT JOIN a USING (unit, indicator, year)
                   LEFT JOIN sa ON sa.unit = b.unit AND sa.indicator = b.indicator
            WHERE b.vintage > ? AND a.value IS DISTINCT FROM b.value
            ORDER BY change, indicator, unit, year""", [v1, v2, v1])
        dropped = self.query("""
            SELECT 'dropped series' AS change, unit, indicator, NULL::INTEGER AS year, NULL::DOUBLE AS old_value,
                   NULL::DOUBLE AS new_value, NULL::DOUBLE AS rel_change, vintage, detail AS origin_id
            FROM series_events WHERE event = 'dropped' AND vintage > ? AND vintage <= ?
            ORDER BY indicator, unit""", [v1, v2])
        return pd.concat([df, dropped], ignore_index=True) if len(dropped) else df

    def revisions(self, status: str | None = "pending") -> pd.DataFrame:
        """Suspicious revisions held back by updates (``status``: pending, accepted, rejected or None for all)."""
        sql, params = "SELECT * FROM revisions", []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        return self.query(sql + " ORDER BY revision_id", params)

    def decide_revisions(self, ids: Iterable[int] | str, *, accept: bool, note: str | None = None) -> ChangeReport | None:
        """Accept (apply as a new vintage, kind 'review') or reject pending revisions; ``ids='all'`` for all.

        Nothing is deleted: a rejected revision stays in the table with status 'rejected'.
        """
        with self.transaction():
            pend = self.revisions("pending")
            if ids != "all":
                ids = [int(i) for i in ids]
                unknown = sorted(set(ids) - set(pend.revision_id))
                if unknown:
                    raise NotFoundError(f"no pending revision with id {', '.join(map(str, unknown))}",
                                        field="revision", value=unknown[0], fix="see `digimeter data review`")
                pend = pend[pend.revision_id.isin(ids)]
            if pend.empty:
                return None
            rep = None
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            if accept:
                # several pending revisions of one key: the newest wins
                latest = pend.sort_values("revision_id").drop_duplicates(["unit", "indicator", "year"], keep="last")
                obs = latest.rename(columns={"new_value": "value"})[["unit", "indicator", "year", "value", "origin_id"]]
                obs["note"] = "accepted after review" + (f": {note}" if note else "")
                rep = self.add_observations(obs, kind="review", origin_id=None,
                                             note=f"review: accepted revisions {', '.join(map(str, pend.revision_id))}")
            self.con.execute(
                f"UPDATE revisions SET status = ?, decided = ?, vintage = ?, note = coalesce(?, note) "
                f"WHERE revision_id IN ({','.join('?' * len(pend))})",
                ["accepted" if accept else "rejected", now, rep.vintage if rep else None, note,
                 *[int(i) for i in pend.revision_id]])
        return rep


def open_store(path: str | Path | None = None, *, read_only: bool = False, wait: float | None = None) -> Store:
    """Open the store at ``path`` (default: under ``$DIGIMETER_HOME``), creating it if needed.

    ``wait``: seconds to wait while another process writes to it (see :func:`digimeter.store.connect`)."""
    return Store(path, read_only=read_only, wait=wait)
