"""docs/cli.md is generated from the CLI and kept in step with it (DESIGN principle 11)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("make_cli_docs", ROOT / "scripts" / "make_cli_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_reference_is_current():
    page = _generator().render()
    have = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == have, "docs/cli.md is out of date: run `make docs` (python scripts/make_cli_docs.py)"


def test_cli_reference_covers_every_command():
    page = _generator().render()
    for cmd in ("digimeter build", "digimeter data import", "digimeter data update", "digimeter report",
                "digimeter serve", "digimeter what-it-takes", "digimeter divide", "digimeter sensitivity"):
        assert f"`{cmd}`" in page, cmd
    assert "`--bulk`" in page and "`--lang`" in page
