"""One exception family for everything a user can get wrong.

Every error names its culprit (file, row, field/column, node, value) and, where one is
known, the likely fix, so that a message can be acted on without reading the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Problem:
    """One thing wrong with an input: where it is and how to fix it."""

    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None
    value: Any = None
    fix: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field:
            where.append(f"column/field '{self.field}'")
        head = ", ".join(where)
        text = f"{head}: {self.message}" if head else self.message
        if self.value is not None:
            text += f" (value: {self.value!r})"
        if self.fix:
            text += f"; fix: {self.fix}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class DigimeterError(Exception):
    """Base of every error digimeter raises on purpose.

    Parameters
    ----------
    message : str
        What is wrong, in plain words.
    problems : list of Problem, optional
        Every individual problem found (an import reports all bad rows, not just the first).
    file, row, field, value, fix : optional
        Shortcuts to describe a single problem.
    """

    status = 400

    def __init__(self, message: str, *, problems: list[Problem] | None = None,
                 file: str | None = None, row: int | None = None, field: str | None = None,
                 value: Any = None, fix: str | None = None):
        self.problems: list[Problem] = list(problems or [])
        if not self.problems and any(x is not None for x in (file, row, field, fix)):
            self.problems.append(Problem(message, file=file, row=row, field=field, value=value, fix=fix))
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1 and self.problems[0].message == self.message:
            return str(self.problems[0])
        if not self.problems:
            return self.message
        shown = "\n".join(f"  - {p}" for p in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        return f"{self.message}\n{shown}{more}"

    def to_dict(self) -> dict[str, Any]:
        """The project's one JSON error shape."""
        return {"ok": False, "error": self.message,
                "errors": [p.to_dict() for p in self.problems], "status": self.status}


class DataError(DigimeterError):
    """Bad data: an import file, a value out of range, a missing series."""


class DataImportError(DataError):
    """A user file could not be imported; the store is unchanged."""


class SpecError(DigimeterError):
    """An index spec (YAML) or a setting is invalid."""


class SourceError(DigimeterError):
    """A publisher connector failed (network, schema change, truncated body)."""

    status = 502


class NotFoundError(DigimeterError):
    """A unit, indicator, spec or scenario does not exist."""

    status = 404
