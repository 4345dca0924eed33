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
