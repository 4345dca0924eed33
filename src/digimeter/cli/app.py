"""The `digimeter` command line: the typer application, its error guard and the helpers every command
uses (the store, progress, ``--set``). Commands sit at module level in one module per command group
(:mod:`digimeter.cli.data`, :mod:`~digimeter.cli.build`, ...), imported by :mod:`digimeter.cli`.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
import typer
from rich.markup import escape

from .. import __version__
from ..errors import DigimeterError
from .output import console, err, printable

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="digimeter: how digital is a country and each of its regions, what holds it back, "
                       "and can it reach its digital targets in time?")
data_app = typer.Typer(no_args_is_help=True, help="The data store: list, show, import, update from the "
                                                  "publishers, vintages, diff, review, export.")
app.add_typer(data_app, name="data")

def run(fn):
    """Call ``fn`` and turn digimeter errors into a clear message and exit code 1."""
    try:
        return fn()
    except DigimeterError as e:
        if _debug():
            raise
        err.print(f"[bold red]error:[/] {escape(printable(str(e)))}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _debug() -> bool:
    import os

    return os.environ.get("DIGIMETER_DEBUG") == "1"


def main(argv: list[str] | None = None) -> None:
    """The ``digimeter`` command: no Python traceback for any error unless ``--debug`` is given
    (anywhere on the command line) or ``DIGIMETER_DEBUG=1`` is set."""
    import os

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or _debug()
    args = [a for a in args if a != "--debug"]
    if debug:
        os.environ["DIGIMETER_DEBUG"] = "1"  # run() re-raises for the traceback too
    try:
        app(args, prog_name="digimeter", standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err.print("interrupted", highlight=False)
        raise SystemExit(130)
    except DigimeterError as e:
        if debug:
            raise
        err.print(f"error: {printable(str(e))}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(1)
    except Exception as e:  # noqa: BLE001 - the last guard: one line, the traceback only with --debug
        if debug:
            raise
        what = printable(f"{type(e).__name__}: {e}")[:500]
        err.print(f"error: {what}\n(this is a bug in digimeter or an unexpected input; run the command again "
                  "with --debug for the details, and report it)", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2)


def store_ctx(wait: float | None = None, *, read_only: bool = False):
    """The user's store; on first use it is created from the bundled snapshot (a few seconds), said once.
    ``wait``: seconds to wait while another process writes to it (default: see :func:`digimeter.store.connect`).
    ``read_only``: for a command that only reads: opened read-only, its repeated reads answered once
    (:func:`digimeter.store.cache.open_reading_store`)."""
    from ..store import default_home, open_store

    if not (default_home() / "digimeter.duckdb").exists():
        err.print(f"creating the data store in {default_home()} from the bundled snapshot (first use) ...")
    if read_only:
        from ..store.cache import open_reading_store

        return open_reading_store(wait=wait)
    return open_store(wait=wait)


@contextmanager
def progress(enabled: bool = True, total: int | None = None):
    """A rich progress bar on stderr (transient: gone when done; silent when not a terminal).

    Yields ``say(message)``, which names the current step and advances the bar by one.
    """
    if not enabled:
        yield lambda msg: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as p:
        task = p.add_task("starting", total=total)

        def say(msg: str) -> None:
            p.update(task, description=msg, advance=1)

        yield say


def unit_then_spec(args: list[str], unit_option: str | None, *, command: str,
                   default_unit: str | None = None) -> tuple[str | None, str]:
    """``[UNIT] SPEC`` positionals (the unit first, as in every command), or the deprecated
    ``SPEC --unit UNIT``; returns ``(unit, spec)``."""
    if len(args) == 2:
        unit, spec = args
        if unit_option and unit_option.upper() != unit.upper():
            raise typer.BadParameter(f"two units given ({unit} and --unit {unit_option}); give the unit once, "
                                     f"first: digimeter {command} {unit} {spec}")
        return unit, spec
    if len(args) != 1:
        raise typer.BadParameter(f"expected [UNIT] SPEC, e.g. digimeter {command} KAZ egdi")
    if unit_option:
        err.print(printable(f"note: '{command} SPEC --unit UNIT' is deprecated; write "
                            f"'digimeter {command} {unit_option} {args[0]}'"), highlight=False, markup=False)
    return (unit_option or default_unit), args[0]


def parse_sets(sets: list[str]) -> dict:
    """``--set stage.key=value`` pairs; values are read as YAML (numbers, lists, booleans)."""
    from .._util.yamlsafe import load_yaml

    out = {}
    for s in sets or []:
        if "=" not in s:
            raise typer.BadParameter(f"--set {s!r}: expected ADDRESS=VALUE, e.g. normalise.method=zscore")
        k, v = s.split("=", 1)
        out[k.strip()] = load_yaml(v, source=f"--set {k.strip()}", fix="quote the value or write it as YAML")
    return out


@app.callback(invoke_without_command=True)
def _main(version: bool = typer.Option(False, "--version", help="Print the version and exit.")):
    if version:
        console.print(f"digimeter {__version__}")
        raise typer.Exit()
