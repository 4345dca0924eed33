"""The one YAML loader for user files: specs, scenarios, factors, ``--set`` values and web uploads.

YAML from a user is data, so the loader refuses what could make reading it cost more than its size:

- **aliases** (``*name``) are refused: an alias bomb of a few hundred bytes (nested aliases, each
  repeating the one before ten times) otherwise expands to gigabytes;
- **nesting** deeper than :data:`MAX_DEPTH` levels is refused (60,000 nested ``[`` otherwise exhaust
  the recursion limit);
- texts longer than :data:`MAX_BYTES` are refused before parsing.

Every refusal is a :class:`UnsafeYamlError` (a :class:`~digimeter.errors.SpecError`) that names the
file and line; syntax errors are a :class:`~digimeter.errors.SpecError` naming them too.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from ..errors import SpecError

#: deepest nesting of lists and mappings accepted (the shipped specs use fewer than 10 levels)
MAX_DEPTH = 64
#: longest YAML text accepted, in bytes
MAX_BYTES = 16 * 1024 * 1024
#: texts up to this length are parsed once per process and their data copied on each later load (the
#: shipped specs are 2-30 KB, read about 20 times by a report: 0.2 s of parsing); at most 64 are kept, so
#: a server that is sent YAML keeps at most 16 MB of it
_REMEMBER_BYTES = 256 * 1024


class UnsafeYamlError(SpecError):
    """A YAML text that would be unsafe to expand (an alias, deep nesting, an oversized file)."""


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases, with a nesting cap (pure-Python composer, so it can be checked)."""

    source = "<yaml>"

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            line = event.start_mark.line + 1
            raise UnsafeYamlError(
                f"YAML aliases (*{event.anchor}) are not allowed",
                file=self.source, row=line, value=f"*{event.anchor}",
                fix="write the repeated value out in full instead of an anchor (&) and alias (*)")
        if self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise UnsafeYamlError(
                    f"YAML nested more than {MAX_DEPTH} levels deep",
                    file=self.source, row=line, fix=f"use at most {MAX_DEPTH} levels of nested lists and mappings")
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


def _syntax_error(source: str, exc: yaml.YAMLError, fix: str) -> SpecError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = (mark.line + 1) if mark is not None else None
    problem = getattr(exc, "problem", None) or type(exc).__name__
    return SpecError(f"not valid YAML ({problem})", file=source, row=line, fix=fix)


def load_yaml(text: str | bytes, *, source: str = "<yaml>",
              fix: str = "check indentation and colons near that line") -> Any:
    """Parse one YAML document from ``text`` safely (see the module docstring); ``source`` names it in errors."""
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise UnsafeYamlError(f"YAML file too large ({len(text) // 1024} KB)", file=source,
                                  fix=f"keep YAML files under {MAX_BYTES // 1024 // 1024} MB")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SpecError("not UTF-8 text", file=source, fix="save the file as UTF-8") from None
    if len(text) > MAX_BYTES:
        raise UnsafeYamlError(f"YAML text too large ({len(text) // 1024} KB)", file=source,
                              fix=f"keep YAML files under {MAX_BYTES // 1024 // 1024} MB")
    if len(text) <= _REMEMBER_BYTES:   # a file read again (a spec is read by several sections): parsed once
        return copy.deepcopy(_parsed(text, source, fix))
    return _parse(text, source, fix)


@lru_cache(maxsize=64)
def _parsed(text: str, source: str, fix: str) -> Any:
    """:func:`_parse`, remembered per text (a failure is not: it is raised again each time)."""
    return _parse(text, source, fix)


def _parse(text: str, source: str, fix: str) -> Any:
    loader = _Loader(text)
    loader.source = source
    try:
        return loader.get_single_data()
    except SpecError:
        raise
    except yaml.YAMLError as exc:
        raise _syntax_error(source, exc, fix) from None
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        # e.g. an integer of more digits than Python converts, a date out of range
        raise SpecError(f"a value cannot be read ({type(exc).__name__}: {str(exc)[:100]})",
                        file=source, fix="shorten or quote the value") from None
    finally:
        loader.dispose()


def load_yaml_file(path: str | Path, *, fix: str = "check indentation and colons near that line") -> Any:
    """:func:`load_yaml` on a file's text; a missing, unreadable or non-UTF-8 file is a :class:`SpecError`."""
    p = Path(path)
    if p.is_dir():
        raise SpecError("is a folder, not a YAML file", file=str(p), fix="give the path of a .yaml file")
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise SpecError(f"cannot read ({exc.strerror})", file=str(p), fix="check the path") from None
    if size > MAX_BYTES:
        raise UnsafeYamlError(f"YAML file too large ({size // 1024} KB)", file=str(p),
                              fix=f"keep YAML files under {MAX_BYTES // 1024 // 1024} MB")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise SpecError(f"cannot read ({exc.strerror})", file=str(p), fix="check the path") from None
    return load_yaml(data, source=str(p), fix=fix)
