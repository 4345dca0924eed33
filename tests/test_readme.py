"""The README's commands exist: every `digimeter ...` line in its shell blocks parses (DESIGN principle 11).

Each command is run with `--help` appended, so click checks the command path and every option name
without doing the work (the work itself is tested in each module's own tests).
"""

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_commands() -> list[str]:
    """`digimeter ...` lines of the README's shell code blocks (``` sh/bash/plain fences), comments cut."""
    cmds, lang, buf = [], None, ""
    for raw in README.read_text(encoding="utf-8").splitlines():
        if raw.startswith("```"):
            lang = raw[3:].strip() if lang is None else None
            continue
        if lang not in ("sh", "bash", ""):
            continue
        line = (buf + " " + raw.strip()).strip() if buf else raw.strip()
        if line.endswith("\\"):
            buf = line[:-1]
            continue
        buf = ""
        line = line.removeprefix("$ ")
        if line.startswith("digimeter "):
            cmds.append(re.split(r"\s+#", line)[0].strip())
    return cmds


def test_readme_has_commands():
    assert len(readme_commands()) >= 20


@pytest.mark.parametrize("cmd", readme_commands())
def test_readme_command_parses(cmd):
    from digimeter.cli import app

    args = shlex.split(cmd)[1:]
    res = CliRunner().invoke(app, args + ["--help"])
    assert res.exit_code == 0, f"{cmd}\n{res.output}"
    assert "Usage" in res.output
