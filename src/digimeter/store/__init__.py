"""The embedded DuckDB store (layer L3 of DESIGN's layout): units, indicators, origins, observations and
their vintages.

* :mod:`~digimeter.store.schema`: every table's DDL and the columns other modules write;
* :mod:`~digimeter.store.locking`: one writer at a time, waiting for it, and saying who holds the store;
* :mod:`~digimeter.store.core`: :class:`Store` with its public writers (``upsert_*``,
  ``add_observations``, ``next_vintage``) and readers, and the bundled snapshot it starts from.

Imports and exports of files are not the store's: they live in :mod:`digimeter.sources.files`
(``import_file(store, path, ...)``) and :mod:`digimeter.sources.export` (``export(store, path, ...)``).
"""

from .core import ChangeReport, ImportCounts, Store, default_home, open_store, snapshot_dir, snapshot_fingerprint, snapshot_parts
from .locking import (READ_WAIT, READER_GRACE, StoreBusyError, busy_message, connect, mark_writer, snapshot_copy,
                      store_holder, writer_file)
from .schema import (GEO_TABLE, GEO_TABLE_SQL, GROUP_COLS, IND_COLS, NAME_COLS, OBS_COLS, ORIGIN_COLS, SCHEMA,
                     UNIT_COLS, ensure_schema)

__all__ = ["Store", "open_store", "ChangeReport", "ImportCounts", "default_home", "snapshot_dir", "snapshot_parts",
           "snapshot_fingerprint", "StoreBusyError", "READ_WAIT", "READER_GRACE", "busy_message", "connect",
           "mark_writer", "snapshot_copy", "store_holder", "writer_file", "UNIT_COLS", "IND_COLS", "ORIGIN_COLS",
           "OBS_COLS", "GROUP_COLS", "NAME_COLS", "SCHEMA", "GEO_TABLE", "GEO_TABLE_SQL", "ensure_schema"]
