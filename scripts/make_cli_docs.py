"""Write docs/cli.md: every digimeter command with its help, arguments and options (DESIGN principle 11).

The page is generated from the CLI itself (the click command tree typer builds), so it cannot drift:
tests/test_cli_docs.py regenerates it and fails when the file differs.

Run: python scripts/make_cli_docs.py        (or: make docs)
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "cli.md"


def _help(cmd) -> str:
    text = inspect.cleandoc(cmd.help or "").strip()
    return text.split("\f")[0].strip()


def _is_argument(p) -> bool:
    return getattr(p, "param_type_name", "") == "argument"


def _param_line(p) -> str:
    if _is_argument(p):
        name = (p.name or "").upper()
        bits = [f"`{name}`"]
    else:
        names = ", ".join(f"`{o}`" for o in [*p.opts, *getattr(p, "secondary_opts", [])])
        typ = getattr(getattr(p, "type", None), "name", None)
        if not getattr(p, "is_flag", False) and typ and typ not in ("boolean", "bool"):
            names += f" *{typ.upper()}*"
        bits = [names]
    help_ = " ".join((getattr(p, "help", None) or "").split())
    if help_:
        bits.append(f": {help_}")
    extra = []
    if getattr(p, "required", False):
        extra.append("required")
    if getattr(p, "multiple", False):
        extra.append("repeatable")
    d = getattr(p, "default", None)
    if (not getattr(p, "required", False) and d not in (None, (), [], False) and not callable(d)
            and getattr(p, "show_default", True) is not False):
        extra.append(f"default: {d}")
    if extra:
        bits.append(f" ({'; '.join(extra)})")
    return "- " + "".join(bits)


def _walk(cmd, path: list[str], out: list[str]) -> None:
    # duck-typed over click's objects (typer may bring its own copy of click)
    ctx = cmd.context_class(cmd, info_name=" ".join(path))
    name = " ".join(path)
    level = "#" * min(len(path) + 1, 4)
    out.append(f"{level} `{name}`\n")
    if _help(cmd):
        out.append(_help(cmd) + "\n")
    pieces = ["[OPTIONS]"]
    for p in cmd.params:
        if _is_argument(p):
            n = (p.name or "").upper() + ("..." if getattr(p, "nargs", 1) == -1 else "")
            pieces.append(n if getattr(p, "required", False) else f"[{n}]")
    if hasattr(cmd, "list_commands"):
        pieces.append("COMMAND [ARGS]...")
    usage = " ".join(pieces)
    out.append(f"```\n{name} {usage}\n```\n")
    params = [p for p in cmd.params if not getattr(p, "hidden", False) and p.name not in ("help",)]
    args = [p for p in params if _is_argument(p)]
    opts = [p for p in params if not _is_argument(p)]
    if args:
        out.append("Arguments:\n\n" + "\n".join(_param_line(p) for p in args) + "\n")
    if opts:
        out.append("Options:\n\n" + "\n".join(_param_line(p) for p in opts) + "\n")
    if hasattr(cmd, "list_commands"):
        subs = cmd.list_commands(ctx)
        out.append("Commands: " + ", ".join(f"`{s}`" for s in subs) + "\n")
        for s in subs:
            sub = cmd.get_command(ctx, s)
            if sub is not None and not getattr(sub, "hidden", False):
                _walk(sub, path + [s], out)


def render() -> str:
    """The Markdown page, from the CLI's command tree."""
    sys.path.insert(0, str(ROOT / "src"))
    import typer.main

    import inspect

    import digimeter.cli
    from digimeter.cli import app

    root = typer.main.get_command(app)
    conventions = inspect.getdoc(digimeter.cli).split("\n\n", 1)[1]
    out = ["# Command-line reference\n",
           "Generated from the CLI by `scripts/make_cli_docs.py`; do not edit by hand (a test regenerates it "
           "and fails when it differs). `digimeter COMMAND --help` prints the same help.\n",
           "## Conventions\n", conventions.replace("``", "`") + "\n"]
    _walk(root, ["digimeter"], out)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
