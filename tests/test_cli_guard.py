"""The top-level guard: no command prints a Python traceback unless --debug asks for it (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def digimeter(*args: str, env_home) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digimeter.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "DIGIMETER_HOME": str(env_home)}, timeout=300)


@pytest.mark.parametrize("args", [("data", "import", "{dir}"), ("build", "{bad}"),
                                  ("rank", "\x1b[31m:warning:[bold]", "egdi")])
def test_a_user_error_is_one_line_without_a_traceback(args, digimeter_home, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nyear: 2024\ntree: [", encoding="utf-8")
    args = [a.format(dir=tmp_path, bad=bad) for a in args]
    r = digimeter(*args, env_home=digimeter_home)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr + r.stdout
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and len(lines) <= 2, r.stderr
    assert "\x1b" not in r.stderr and "⚠" not in r.stderr   # input is shown as data, never as escapes or emoji


def test_debug_shows_the_traceback(digimeter_home, tmp_path):
    r = digimeter("data", "import", str(tmp_path), "--debug", env_home=digimeter_home)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_names_are_printed_as_data_never_as_markup(digimeter_home, tmp_path):
    """An imported name that looks like rich markup ("[/x]" closes nothing: rich raised MarkupError, and
    "[red]" or "[link=...]" would have styled the terminal) is printed as it is, by every command showing it."""
    name = "[/x] [red]Evil[/red] [link=http://example.org]name"
    ind = tmp_path / "ind.csv"
    ind.write_text(f'code,name,unit,higher_is_better\nevil_ind,"{name}",%,true\n', encoding="utf-8")
    obs = tmp_path / "obs.csv"
    obs.write_text("unit,indicator,year,value\nKAZ,evil_ind,2020,5\nKAZ,evil_ind,2021,6\n", encoding="utf-8")
    for f in (ind, obs):
        assert digimeter("data", "import", str(f), env_home=digimeter_home).returncode == 0
    r = digimeter("data", "show", "evil_ind", env_home=digimeter_home)
    assert r.returncode == 0, r.stderr
    assert " ".join(r.stderr.split()).count(name) == 1 and "Traceback" not in r.stderr
    r = digimeter("data", "list", env_home=digimeter_home)
    assert r.returncode == 0 and name in " ".join(r.stdout.split()), r.stderr
