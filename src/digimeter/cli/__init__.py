"""The ``digimeter`` command line (typer). One module per command group; every command sits at module level.

- **Argument order**, the same in every command: the unit first (``KAZ``, ``KZ-71``), then what is asked
  about it (a spec, an indicator or a scenario), then options: ``rank KAZ egdi``, ``gaps KAZ egdi``,
  ``forecast KAZ internet_users_pct``, ``regions KAZ``, ``whatif KAZ``. Commands about an index, a
  scenario or an indicator as a whole take it alone (``build egdi``, ``targets fully-digital-kz``,
  ``backtest internet_users_pct``). The older ``rank SPEC --unit UNIT`` and ``audit SPEC --unit UNIT``
  still work and print a deprecation note.
- **Output**: every command that prints a table takes ``--format table|csv|json`` (and ``--out FILE``).
  Piped or redirected, a table is plain aligned text at full width: no cell is cut and no row wrapped.
  In a narrow terminal the least important columns are dropped, never the names, and the table says
  which. Input quoted in output is shown as data (control characters as ``\\xNN``, no markup or emoji).
- **Errors**: one line naming the file, row or field and the fix, exit code 1; no Python traceback
  unless ``--debug`` is given (or ``DIGIMETER_DEBUG=1``).
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
