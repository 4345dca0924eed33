"""The import: a user's file read, detected, parsed and checked in whole, then written to the store in
one transaction (all or nothing)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..._util.problems import ProblemList
from .cells import Sheet, nonblank_rows, same_value
from .detect import FORM_NAMES, NAME_LANG, Layout, find_layout
from .parse import (IND_FILE_HINT, Catalogue, Obs, check_values, parse_data, parse_indicators, parse_units)
from .read import check_csv_head, read_companions, read_csv, read_xlsx

__all__ = ["import_file"]


def import_file(store, path: str | Path, *, publisher: str | None = None, dataset: str | None = None,
                licence: str | None = None, url: str | None = None, sheet: str | None = None, **geo_options):
    """Import a user's CSV or XLSX file into ``store`` in one transaction.

    Parameters
    ----------
    store : digimeter.store.Store
    path : str or Path
        A CSV (UTF-8, delimiter ``,`` ``;`` or tab) or XLSX file in long, wide-by-indicator,
        wide-by-year, units or indicators form (see :mod:`digimeter.sources.files`).
    publisher, dataset, licence, url : str, optional
        Recorded in the file's origin row (default publisher "user file", dataset the file name).
    sheet : str, optional
        XLSX: import this sheet only (with the ``indicators``/``units`` sheets). Without it, every sheet
        must be importable: a later sheet in wide form, or with rows but no header, is an error naming it.
    **geo_options
        For a crosswalk or boundary file only: ``id_property``, ``country``, ``layout``, ``name``,
        ``partial`` (see :func:`digimeter.sources.geo.import_geo`).

    Returns
    -------
    ChangeReport
        New, changed and unchanged values, blank cells skipped, new indicators and units. Its ``form``
        attribute names the layout detected.

    Raises
    ------
    DataImportError
        Listing every problem found (file, row, column, value, fix); the store is then unchanged.
    """
    path = Path(path)
    problems = ProblemList(str(path))
    if not path.exists():
        problems.add("no such file", fix="check the path")
        problems.raise_if_any()
    if path.is_dir():
        problems.add("is a folder, not a file", fix="give the path of one CSV or XLSX file (import each file "
                                                     "of the folder on its own)")
        problems.raise_if_any()
    from ..geo import geo_kind  # regional geography: a crosswalk CSV or GeoJSON boundaries

    if (kind := geo_kind(path)) is not None:
        from ..geo import import_geo

        return import_geo(store, path, kind=kind, publisher=publisher, dataset=dataset, licence=licence, url=url,
                          **geo_options)
    given = sorted(k for k, v in geo_options.items() if v not in (None, False))
    if given:
        problems.add(f"{', '.join('--' + k.replace('_', '-') for k in given)} appl{'ies' if len(given) == 1 else 'y'} "
                     f"to a crosswalk CSV or a "
                     f"GeoJSON boundary file only, and this is a data file", field=given[0],
                     fix="drop the option, or check that the file is the boundary file you meant")
        problems.raise_if_any()
    is_xlsx, sha, data_sheets, companions = _read_file(path, problems, sheet)
    problems.raise_if_any()

    cat = Catalogue(store)
    source = publisher or "user file"
    layouts = _layouts(path, data_sheets, problems)
    problems.raise_if_any()

    new_ind_df, units_df = _declarations(companions, layouts, cat, problems, source)
    new_inds = ({r["code"]: r for r in new_ind_df.to_dict("records") if r.get("code")}
                if len(new_ind_df) else {})
    declared_units = set(units_df["code"]) if len(units_df) else set()

    stats = {"blank": 0}
    obs: list[Obs] = []
    for sh, lay in layouts:
        if lay.form in ("long", "wide_by_indicator", "wide_by_year"):
            obs += parse_data(sh, lay, cat, problems, declared_units, new_inds, stats)
    check_values(obs, cat, new_inds, problems)
    problems.raise_if_any()

    forms = list(dict.fromkeys(lay.form for _, lay in layouts))
    form_text = " + ".join(FORM_NAMES[f] for f in forms)
    sheets_text = (f"; sheets {', '.join(sh.sheet for sh, _ in layouts)}" if is_xlsx else "")
    origin = {"origin_id": f"user:{sha[:12]}", "publisher": source, "dataset": dataset or path.name,
              "edition": None, "url": url, "repository": None, "licence": licence, "sha256": sha,
              "note": f"imported from {path}"}
    rep, added_inds, added_units = _write(store, path, cat, origin, forms, obs, new_inds, new_ind_df, units_df)
    rep.source = f"{path} ({form_text}{sheets_text})"
    rep.skipped_blank = stats["blank"]
    rep.new_indicators = added_inds
    rep.new_units = added_units
    rep.form = forms[0] if len(forms) == 1 else "+".join(forms)  # type: ignore[attr-defined]
    return rep


def _read_file(path: Path, problems: ProblemList, sheet: str | None
               ) -> tuple[bool, str, list[Sheet], dict[str, Sheet]]:
    """The file read into sheets: ``(is_xlsx, sha256, data sheets, companion tables by kind)``; a file
    empty or unreadable is refused here (problems raised), a large CSV from its first megabyte."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    is_xlsx = path.suffix.lower() in (".xlsx", ".xlsm") or head[:4] == b"PK\x03\x04"
    if not is_xlsx and len(head) == 1 << 20:
        check_csv_head(path, head, problems)   # junk is refused from its first rows, never read in whole
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    if not raw.strip() or (raw.strip() in (b"\xef\xbb\xbf",)):
        problems.add("the file is empty (no header and no rows)",
                     fix="export the data again; the first row must be a header such as unit,indicator,year,value")
        problems.raise_if_any()

    data_sheets: list[Sheet] = []
    companions: dict[str, Sheet] = {}
    if is_xlsx:
        sheets = read_xlsx(path, problems, sheet) or []
        main = [s for s in sheets if s.sheet.strip().lower() not in ("indicators", "units")]
        if main:
            companions = {s.sheet.strip().lower(): s for s in sheets
                          if s.sheet.strip().lower() in ("indicators", "units")}
        else:  # a workbook holding only an indicators and/or a units table
            main = sorted(sheets, key=lambda s: s.sheet.strip().lower() != "units")
        data_sheets = main
    else:
        sh = read_csv(path, raw, problems)
        del raw   # the rows hold the data now
        if sh is not None:
            data_sheets = [sh]
        companions = read_companions(path, problems)
    return is_xlsx, sha, data_sheets, companions


def _layouts(path: Path, data_sheets: list[Sheet], problems: ProblemList) -> list[tuple[Sheet, Layout]]:
    """The layouts of the data sheets: the first sheet always; later sheets only when they hold data in
    long form (or units or indicators): any other later sheet is a problem, never dropped in silence."""
    layouts: list[tuple[Sheet, Layout]] = []
    for k, sh in enumerate(data_sheets):
        sub = ProblemList(str(path))
        lay = find_layout(sh, sub, required=(k == 0))
        if k == 0:
            problems.items.extend(sub.items)
        if lay is not None and (k == 0 or lay.form in ("long", "units", "indicators")):
            layouts.append((sh, lay))
        elif k > 0 and lay is not None:   # never dropped in silence
            problems.add(f"the sheet holds a table in {FORM_NAMES[lay.form].split(':')[0]}; only the first sheet "
                         "may be in wide form", sheet=sh, row=sh.rows[sh.header_row][0],
                         fix=f"import it on its own with --sheet '{sh.sheet}', or put it in long form")
        elif k > 0 and len(nonblank_rows(sh)) > 1:
            problems.add(f"the sheet has {len(nonblank_rows(sh))} rows but no header digimeter recognises",
                         sheet=sh, row=nonblank_rows(sh)[0][0],
                         fix=f"delete the sheet, give it a header such as unit,indicator,year,value, or import "
                             f"only the sheet you want with --sheet NAME")
    return layouts


def _declarations(companions: dict[str, Sheet], layouts: list[tuple[Sheet, Layout]], cat: Catalogue,
                  problems: ProblemList, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The indicators and units the file declares (companion tables first: they declare what the data
    may use, then units and indicators sheets): ``(indicators, units)`` frames, empty when none."""
    new_ind_df = pd.DataFrame()
    units_frames: list[pd.DataFrame] = []
    if "indicators" in companions:
        sh = companions["indicators"]
        lay = find_layout(sh, problems)
        if lay is not None and lay.form != "indicators":
            problems.add(f"the indicators table must have the columns {IND_FILE_HINT}", sheet=sh,
                         row=sh.rows[sh.header_row][0], fix=f"use the header {IND_FILE_HINT}")
        elif lay is not None:
            new_ind_df = parse_indicators(sh, lay, cat, problems, source)
    if "units" in companions:
        sh = companions["units"]
        lay = find_layout(sh, problems)
        if lay is not None and lay.form != "units":
            problems.add("the units table must have the columns code,name,kind,parent", sheet=sh,
                         row=sh.rows[sh.header_row][0], fix="use the header code,name,kind,parent")
        elif lay is not None:
            units_frames.append(parse_units(sh, lay, cat, problems))
    for sh, lay in layouts:
        if lay.form == "units":
            units_frames.append(parse_units(sh, lay, cat, problems))
        elif lay.form == "indicators":
            df = parse_indicators(sh, lay, cat, problems, source)
            new_ind_df = pd.concat([new_ind_df, df], ignore_index=True) if len(new_ind_df) else df
    units_df = pd.concat(units_frames, ignore_index=True) if units_frames else pd.DataFrame()
    return new_ind_df, units_df


# -- write, all or nothing --------------------------------------------------------------------------
def _write(store, path: Path, cat: Catalogue, origin: dict, forms: list[str], obs: list[Obs],
           new_inds: dict[str, dict], new_ind_df: pd.DataFrame, units_df: pd.DataFrame):
    """Write everything checked in one transaction: ``(ChangeReport, new indicators, new units)``.

    A change to units, indicators or names only is a vintage too (``data vintages`` lists it); an
    origin row that ends up describing nothing is not kept."""
    from ...store import ChangeReport

    origin_id = origin["origin_id"]
    with store.transaction() as con:
        added_inds, completed_inds = _write_indicators(store, new_inds, new_ind_df)
        added_units, merged, changed_names = _write_units(store, con, cat, units_df, origin_id)
        origin_new = con.execute("SELECT count(*) FROM origins WHERE origin_id = ?",
                                 [origin_id]).fetchall()[0][0] == 0
        if origin_new:
            store.upsert_origins(pd.DataFrame([{
                **origin, "retrieved": datetime.now(timezone.utc).isoformat(timespec="seconds")}]))
        if obs:
            frame = pd.DataFrame({"unit": [o.unit for o in obs], "indicator": [o.indicator for o in obs],
                                  "year": [o.year for o in obs], "value": [o.value for o in obs],
                                  "note": [o.note for o in obs]})
            obs.clear()   # the frame holds them now (memory: a 2 M-row import stays under 1 GB)
            rep = store.add_observations(frame, kind="import", origin_id=origin_id,
                                         note=f"import of {path.name} ({', '.join(forms)})", source=str(path))
        else:
            rep = ChangeReport(vintage=None, origin_id=origin_id, source=str(path))
        if rep.vintage is None and (added_inds or added_units or changed_names or completed_inds
                                    or (len(units_df) and merged)):
            # units, indicators or names only: the change is a vintage too (``data vintages`` lists it)
            rep.vintage = store.next_vintage()
            what = [f"{len(v)} {k}" for k, v in (("new units", added_units), ("new indicators", added_inds),
                                                  ("completed indicators", completed_inds)) if v]
            if changed_names:
                what.append(f"{changed_names} names")
            con.execute("INSERT INTO vintages VALUES (?, ?, ?, ?, ?)",
                        [rep.vintage, datetime.now(timezone.utc).replace(tzinfo=None), "import", origin_id,
                         f"import of {path.name}: {', '.join(what) or 'units updated'}"])
        if (origin_new and rep.vintage is None and not added_inds and not added_units and not changed_names
                and not completed_inds):
            con.execute("DELETE FROM origins WHERE origin_id = ?", [origin_id])
    return rep, added_inds, added_units


def _write_indicators(store, new_inds: dict[str, dict], new_ind_df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Indicators declared by the file and not in the store, or completing what the store does not know
    (a direction or range); returns ``(added, completed)`` codes. The caller holds the transaction."""
    from ...store import IND_COLS

    added_inds: list[str] = []
    completed_inds: list[str] = []
    if new_inds:
        todo = new_ind_df[~new_ind_df.get("_exists", pd.Series(False, index=new_ind_df.index))
                          .fillna(False).astype(bool)]
        if len(todo):
            store.upsert_indicators(todo.reindex(columns=IND_COLS))
            completed = (todo["_completed"].map(lambda v: isinstance(v, list) and bool(v))
                         if "_completed" in todo else pd.Series(False, index=todo.index))
            added_inds = todo.loc[~completed, "code"].tolist()
            completed_inds = todo.loc[completed, "code"].tolist()
    return added_inds, completed_inds


def _write_units(store, con, cat: Catalogue, units_df: pd.DataFrame, origin_id: str
                 ) -> tuple[list[str], list[dict], int]:
    """Units new or changed (a changed unit keeps what the file leaves blank) and their names in other
    languages (only those new or changed); returns ``(added codes, rows written, names written)``. The
    caller holds the transaction."""
    from ...store import UNIT_COLS

    added_units: list[str] = []
    merged: list[dict] = []
    changed_names = 0
    if len(units_df):
        names = []
        for rec in units_df.to_dict("records"):
            for k in [k for k in rec if NAME_LANG.fullmatch(k)]:
                v = rec.pop(k)
                if isinstance(v, str) and v:
                    names.append({"code": rec["code"], "lang": NAME_LANG.fullmatch(k).group(1), "name": v})
            old = cat.units.get(rec["code"])
            if old is None:
                added_units.append(rec["code"])
                merged.append(rec)
            else:
                upd = dict(old)
                upd.update({k: v for k, v in rec.items() if v is not None})
                if any(not same_value(upd[k], old.get(k)) for k in upd):
                    merged.append(upd)
        if merged:
            df = pd.DataFrame(merged).reindex(columns=UNIT_COLS)
            df = df.astype({"un_member": "boolean", "valid_from": "Int32", "valid_to": "Int32"})
            store.upsert_units(df)
        if names:   # names in other languages: only those new or changed are written
            have = {(c, lang): n for c, lang, n in con.execute("SELECT code, lang, name FROM unit_names").fetchall()}
            todo_names = [r for r in names if have.get((r["code"], r["lang"])) != r["name"]]
            if todo_names:
                store.upsert_names(pd.DataFrame(todo_names).assign(origin_id=origin_id))
                changed_names = len(todo_names)
    return added_units, merged, changed_names
