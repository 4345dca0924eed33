"""The one problem list: collect every problem of a user file, then raise them together."""

from __future__ import annotations

from typing import Any

from ..errors import DataImportError, Problem

__all__ = ["MAX_PROBLEMS", "ProblemList"]

#: problems collected before a check stops (the file is then reported with this many)
MAX_PROBLEMS = 100


class ProblemList:
    """Problems found in ``file`` (at most ``limit``), raised at once as a :class:`DataImportError`.

    ``add(message, sheet=..., row=..., field=..., value=..., fix=...)``: ``sheet`` (anything with a
    ``where`` text, e.g. a spreadsheet's sheet) names the place instead of the file.
    """

    def __init__(self, file: str, *, limit: int = MAX_PROBLEMS):
        self.file = file
        self.limit = limit
        self.items: list[Problem] = []

    def add(self, message: str, *, sheet: Any = None, **kw: Any) -> None:
        if len(self.items) < self.limit:
            where = getattr(sheet, "where", None) or self.file
            self.items.append(Problem(message, file=where, **kw))

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self, what: str = "cannot import") -> None:
        """Raise every problem (sorted by place and row) in one :class:`DataImportError`."""
        if self.items:
            n = len(self.items)
            self.items.sort(key=lambda p: (p.file or "", p.row or 0))
            capped = f" (stopped after {self.limit})" if n >= self.limit else ""
            raise DataImportError(
                f"{self.file}: {what}: {n} problem{'s' if n != 1 else ''} found{capped}; "
                "nothing was changed in the store", problems=self.items)
