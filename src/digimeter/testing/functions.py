"""Analytic test functions of sensitivity analysis with known Sobol' indices: Ishigami and Sobol' G."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["ishigami", "ishigami_indices", "sobol_g", "sobol_g_indices"]


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami function ``sin x1 + a sin^2 x2 + b x3^4 sin x1`` on ``[-pi, pi]^3``.

    Analytic indices (a=7, b=0.1): S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437).
    Reference: Ishigami, T. & Homma, T. (1990), https://doi.org/10.1109/ISUMA.1990.151285
    """
    x = np.asarray(x, dtype=float)
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> pd.DataFrame:
    """Analytic first- and total-order indices of :func:`ishigami`."""
    v1 = 0.5 * (1 + b * np.pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * np.pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return pd.DataFrame({"S1": [v1 / v, v2 / v, 0.0], "ST": [(v1 + v13) / v, v2 / v, v13 / v]},
                        index=["x1", "x2", "x3"])


def sobol_g(x: np.ndarray, a: Sequence[float] = (0, 1, 4.5, 9, 99, 99, 99, 99)) -> np.ndarray:
    """Sobol' G function ``prod (|4 x_i - 2| + a_i) / (1 + a_i)`` on ``[0, 1]^d``.

    Reference: Saltelli, A. & Sobol', I. M. (1995), https://doi.org/10.1016/0951-8320(95)00099-2
    """
    x = np.asarray(x, dtype=float)
    a = np.asarray(a, dtype=float)
    return np.prod((np.abs(4 * x - 2) + a) / (1 + a), axis=1)


def sobol_g_indices(a: Sequence[float] = (0, 1, 4.5, 9, 99, 99, 99, 99)) -> pd.DataFrame:
    """Analytic first- and total-order indices of :func:`sobol_g`."""
    a = np.asarray(a, dtype=float)
    vi = 1.0 / (3 * (1 + a) ** 2)
    v = np.prod(1 + vi) - 1
    st = vi * np.array([np.prod(np.delete(1 + vi, i)) for i in range(len(a))]) / v
    return pd.DataFrame({"S1": vi / v, "ST": st}, index=[f"x{i + 1}" for i in range(len(a))])
