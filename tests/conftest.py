"""Shared pytest fixtures.

Store fixtures: the bundled snapshot is loaded once per test session into a template DuckDB file
(created through ``$DIGIMETER_HOME``, as a user's first run would); every test that needs a store gets
its own copy of that file, so tests are independent and fast.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# CLI output (rich) wraps at the terminal width; tests read it, so fix the width before any
# digimeter module creates its consoles (xdist workers have no terminal and would get 80 columns).
os.environ["COLUMNS"] = "160"


@pytest.fixture(scope="session")
def template_store_path(tmp_path_factory) -> Path:
    """A store file freshly created from the bundled snapshot (do not write to it; copy it)."""
    from digimeter.store import open_store

    home = tmp_path_factory.mktemp("digimeter_home")
    old = os.environ.get("DIGIMETER_HOME")
    os.environ["DIGIMETER_HOME"] = str(home)
    try:
        s = open_store()
        path = Path(s.path)
        s.close()
    finally:
        if old is None:
            os.environ.pop("DIGIMETER_HOME", None)
        else:
            os.environ["DIGIMETER_HOME"] = old
    return path


@pytest.fixture
def store_path(template_store_path, tmp_path) -> Path:
    """A private copy of the template store file, at ``tmp_path / "s.duckdb"``."""
    dst = tmp_path / "s.duckdb"
    shutil.copyfile(template_store_path, dst)
    return dst


@pytest.fixture
def store(store_path):
    """An open, writable :class:`digimeter.store.Store` on a private copy of the snapshot store."""
    from digimeter.store import Store

    s = Store(store_path)
    yield s
    s.close()


@pytest.fixture
def digimeter_home(template_store_path, tmp_path, monkeypatch) -> Path:
    """``$DIGIMETER_HOME`` pointed at a fresh folder holding a copy of the snapshot store."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copyfile(template_store_path, home / "digimeter.duckdb")
    monkeypatch.setenv("DIGIMETER_HOME", str(home))
    return home


def store_state(s) -> dict:
    """Row counts plus an order-independent checksum of every table: equal states mean an unchanged store."""
    state = dict(s.counts())
    for table in ("units", "indicators", "origins", "vintages", "observations"):
        cols = [r[0] for r in s.con.execute(f"DESCRIBE {table}").fetchall()]
        h = s.con.execute(f"SELECT bit_xor(hash({', '.join(cols)})), sum(hash({', '.join(cols)}) % 1000003) "
                          f"FROM {table}").fetchone()
        state[f"{table}_checksum"] = tuple(h)
    return state


@pytest.fixture(name="store_state")
def store_state_fixture():
    """A function ``store_state(store) -> dict`` of counts and table checksums (compare before/after)."""
    return store_state


@pytest.fixture
def count_calls(monkeypatch):
    """``count_calls(module, name)``: replace ``module.name`` by a wrapper that counts its calls and return
    the counts (``{name: n}``); the original still does the work. For the cache tests: how many times the
    engine under a cache really computed."""
    def count(module, name: str) -> dict:
        n = {name: 0}
        real = getattr(module, name)

        def counted(*a, **kw):
            n[name] += 1
            return real(*a, **kw)

        monkeypatch.setattr(module, name, counted)
        return n

    return count
