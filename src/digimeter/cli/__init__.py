"""The ``digimeter`` command line (typer). One module per command group; every command sits at module level.

Argument order, the same in every command: the unit first (``KAZ``, ``KZ-71``), then what is asked about
it (a spec, an indicator or a scenario), then options. Commands about an index as a whole (``build``,
``uncertainty``, ``sensitivity``) take the spec alone. ``rank SPEC --unit UNIT`` and ``audit SPEC --unit
UNIT`` are kept as deprecated forms of ``rank UNIT SPEC`` and ``audit UNIT SPEC``.
"""

from __future__ import annotations

# the order of the imports is the order of the commands in --help and docs/cli.md
from . import build  # noqa: F401,I001  (build, rank)
from . import audit, benchmark, regions, report, targets, uncertainty, whatif  # noqa: F401,E402,I001
from . import data, data_store  # noqa: F401,E402,I001  (the data group)
from .app import app, data_app, main, parse_sets, progress, run, store_ctx
from .output import KEY_COLUMNS, console, df_table, emit_text, err, fit, printable, write_frame

__all__ = ["app", "data_app", "main", "parse_sets", "progress", "run", "store_ctx", "KEY_COLUMNS", "console",
           "df_table", "emit_text", "err", "fit", "printable", "write_frame"]
