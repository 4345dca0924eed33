"""The package's shape: no module uses another's private names, and the layer contract holds."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "digimeter"


def _module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str | None, level: int, here: str, is_package: bool) -> str:
    if level == 0:
        return module or ""
    base = here.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_methods(src: Path) -> dict[str, set[str]]:
    """Private method name -> the modules whose classes define it."""
    out: dict[str, set[str]] = {}
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for cls in ast.walk(tree):
            if isinstance(cls, ast.ClassDef):
                for f in cls.body:
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and _private(f.name):
                        out.setdefault(f.name, set()).add(_module_name(path, src))
    return out


def private_imports(src: Path = SRC) -> list[str]:
    """Every use of another module's private name in ``src``: ``from X import _name``,
    ``import X._mod`` (a private module counts as private to its package), ``X._name`` where
    ``X`` is a digimeter module imported under that name, and ``obj._method`` where ``obj`` is not
    ``self``/``cls`` and only classes of other modules define ``_method`` (``store._upsert_units``);
    returns ``file:line: what``."""
    found = []
    methods = _private_methods(src)
    for path in sorted(src.rglob("*.py")):
        here = _module_name(path, src)
        shown = path.relative_to(src.parent.parent)
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        aliases: dict[str, str] = {}       # local name -> digimeter module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                mod = _resolve(node.module, node.level, here, is_pkg)
                if not mod.startswith("digimeter"):
                    continue
                for a in node.names:
                    target = f"{mod}.{a.name}"
                    if _private(a.name) and not _shares_package(here, target):
                        found.append(f"{shown}:{node.lineno}: from {mod} import {a.name}")
                    aliases[a.asname or a.name] = target
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("digimeter"):
                        aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "digimeter"
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases):
                target = aliases[node.value.id]
                if target != here and not _shares_package(here, f"{target}.{node.attr}"):
                    found.append(f"{shown}:{node.lineno}: {node.value.id}.{node.attr} "
                                 f"({target})")
            elif (isinstance(node, ast.Attribute) and node.attr in methods and here not in methods[node.attr]
                  and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                owners = ", ".join(sorted(methods[node.attr]))
                found.append(f"{shown}:{node.lineno}: .{node.attr} (a method of {owners})")
    return found


def _shares_package(here: str, target: str) -> bool:
    """A private name may be used inside its own package (``digimeter._util`` is the shared L0
    package: its modules are private to digimeter, not to one module)."""
    owner = target.rsplit(".", 1)[0]
    if owner == here:
        return True
    parts = target.split(".")
    # the first private component and everything above it define the scope
    for i, p in enumerate(parts):
        if _private(p):
            scope = ".".join(parts[:i])
            if p == "_util" and i == 1:
                return True
            return here == scope or here.startswith(scope + ".") and here.count(".") == scope.count(".") + 1
    return False


def test_no_private_names_across_modules():
    found = private_imports()
    assert not found, "private names used across modules (promote them or move them down a layer):\n" + \
        "\n".join(found)


def test_the_private_name_check_finds_a_violation(tmp_path):
    pkg = tmp_path / "digimeter"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def _hidden():\n    return 1\n\ndef shown():\n    return _hidden()\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from ..a import _hidden, shown\nfrom .. import a\nx = a._hidden()\n")
    (pkg / "c.py").write_text("class Store:\n    def _write(self):\n        return self._write\n")
    (pkg / "d.py").write_text("def f(store):\n    return store._write()\n")
    found = private_imports(pkg)
    assert len(found) == 3, found
    assert "d.py:2: ._write (a method of digimeter.c)" in found[0]
    assert "from digimeter.a import _hidden" in found[1] and "a._hidden (digimeter.a)" in found[2]


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    return str(exe) if exe.exists() else (shutil.which("lint-imports") or "")


def test_layer_contract_holds():
    """``lint-imports`` (import-linter) checks the layers of ``.importlinter`` (the layout of DESIGN.md) and
    that no package's modules import each other in a cycle (acyclic siblings)."""
    exe = _lint_imports()
    if not exe:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    r = subprocess.run([exe, str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in r.stdout, r.stdout[-2000:]
    assert "layers" in r.stdout and "no import cycles" in r.stdout
