"""The store's tables: every table's DDL and the columns of the tables other modules write.

``SCHEMA`` creates the tables every store has; ``GEO_TABLE_SQL`` the registry of imported geography
files (created on the first geography import). :func:`ensure_schema` runs both kinds of change an
existing store may need.
"""

from __future__ import annotations

__all__ = ["UNIT_COLS", "IND_COLS", "ORIGIN_COLS", "OBS_COLS", "GROUP_COLS", "NAME_COLS", "SCHEMA", "GEO_TABLE",
           "GEO_TABLE_SQL", "ensure_schema"]

UNIT_COLS = ["code", "name", "kind", "parent", "iso2", "un_region", "un_subregion", "wb_region",
             "income_group", "un_member", "valid_from", "valid_to"]
IND_COLS = ["code", "name", "unit", "higher_is_better", "min_value", "max_value", "source",
            "source_code", "description"]
ORIGIN_COLS = ["origin_id", "publisher", "dataset", "edition", "url", "repository", "licence",
               "retrieved", "sha256", "note"]
OBS_COLS = ["unit", "indicator", "year", "value", "origin_id", "vintage", "note"]
GROUP_COLS = ["unit", "grouping", "group", "origin_id"]
NAME_COLS = ["code", "lang", "name", "origin_id"]   # a unit's name in another language (unit_names)

# observations carry no PRIMARY KEY index: (unit, indicator, year, vintage) is unique by construction
# (each load writes one fresh vintage and add_observations refuses two rows for one key), no read uses
# the index (reads are scans with zone maps), and maintaining the ART index made bulk loads ~4x slower
# (benchmarks/ingest.py). Stores created before this keep their key; both shapes work the same.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS units (
    code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, kind VARCHAR NOT NULL, parent VARCHAR,
    iso2 VARCHAR, un_region VARCHAR, un_subregion VARCHAR, wb_region VARCHAR, income_group VARCHAR,
    un_member BOOLEAN, valid_from INTEGER, valid_to INTEGER);
CREATE TABLE IF NOT EXISTS indicators (
    code VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, unit VARCHAR, higher_is_better BOOLEAN,
    min_value DOUBLE, max_value DOUBLE, source VARCHAR, source_code VARCHAR, description VARCHAR);
CREATE TABLE IF NOT EXISTS origins (
    origin_id VARCHAR PRIMARY KEY, publisher VARCHAR, dataset VARCHAR, edition VARCHAR, url VARCHAR,
    repository VARCHAR, licence VARCHAR, retrieved VARCHAR, sha256 VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS vintages (
    vintage INTEGER PRIMARY KEY, created TIMESTAMP NOT NULL, kind VARCHAR NOT NULL,
    origin_id VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS observations (
    unit VARCHAR NOT NULL, indicator VARCHAR NOT NULL, year INTEGER NOT NULL, value DOUBLE NOT NULL,
    origin_id VARCHAR NOT NULL, vintage INTEGER NOT NULL, note VARCHAR);
CREATE TABLE IF NOT EXISTS revisions (
    revision_id INTEGER PRIMARY KEY, created TIMESTAMP NOT NULL, unit VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL, year INTEGER NOT NULL, old_value DOUBLE, new_value DOUBLE NOT NULL,
    origin_id VARCHAR NOT NULL, reason VARCHAR NOT NULL, status VARCHAR NOT NULL, decided TIMESTAMP,
    vintage INTEGER, note VARCHAR);
CREATE TABLE IF NOT EXISTS unit_groups (
    unit VARCHAR NOT NULL, grouping VARCHAR NOT NULL, "group" VARCHAR NOT NULL, origin_id VARCHAR,
    PRIMARY KEY (unit, grouping));
CREATE TABLE IF NOT EXISTS unit_names (
    code VARCHAR NOT NULL, lang VARCHAR NOT NULL, name VARCHAR NOT NULL, origin_id VARCHAR,
    PRIMARY KEY (code, lang));
CREATE TABLE IF NOT EXISTS series_events (
    vintage INTEGER NOT NULL, unit VARCHAR NOT NULL, indicator VARCHAR NOT NULL, event VARCHAR NOT NULL,
    detail VARCHAR);
"""

#: The store table listing imported geography files (written by :mod:`digimeter.sources.geo`, read by
#: :func:`digimeter.geography.geo_registry`); created when the first geography file is imported.
GEO_TABLE = "geo_files"
GEO_TABLE_SQL = f"""
CREATE TABLE IF NOT EXISTS {GEO_TABLE} (
    name VARCHAR NOT NULL, kind VARCHAR NOT NULL, country VARCHAR NOT NULL, layout VARCHAR,
    path VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, origin_id VARCHAR, imported TIMESTAMP,
    PRIMARY KEY (kind, name, layout))"""


def ensure_schema(con) -> None:
    """Create the store's tables that do not exist yet and bring older stores up to date; the caller
    holds a transaction."""
    con.execute(SCHEMA)
    # stores made before: an indicator's direction may now be unknown (NULL; see direction_of)
    nn = con.execute("SELECT is_nullable FROM information_schema.columns WHERE table_name = 'indicators' "
                     "AND column_name = 'higher_is_better'").fetchone()
    if nn and nn[0] == "NO":
        con.execute("ALTER TABLE indicators ALTER COLUMN higher_is_better DROP NOT NULL")
