"""The one JSON cleaner: numbers, NaN and numpy/pandas scalars turned into JSON-safe Python values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable", "records"]

_NATIVE_KEYS = (str, int, float, bool, type(None))


def jsonable(x: Any) -> Any:
    """``x`` with NaN and infinities as None, numpy scalars as Python ones, ``pd.NA``/``NaT`` as None,
    tuples as lists; dicts and lists are cleaned recursively (keys that JSON cannot hold become text)."""
    if isinstance(x, dict):
        return {(k.item() if isinstance(k, np.generic) else k if isinstance(k, _NATIVE_KEYS) else str(k)):
                jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, np.generic):
        return jsonable(x.item())
    return x


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe rows of a table (a named index becomes a column; column names as text)."""
    d = df.reset_index() if df.index.name else df
    return [{str(k): jsonable(v) for k, v in r.items()}
            for r in d.astype(object).where(d.notna(), None).to_dict(orient="records")]
