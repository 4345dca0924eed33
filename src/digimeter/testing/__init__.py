"""Shipped known answers (DESIGN principle 8): COINr's ASEM example as a spec and a panel (parity with
COINr to 1e-12), and the analytic test functions of sensitivity analysis with known Sobol' indices
(Ishigami, Sobol' G). Used by the tests, the benchmarks and :mod:`digimeter.uncertainty` (which
re-exports them)."""

from __future__ import annotations

from .coinr import coinr_example
from .functions import ishigami, ishigami_indices, sobol_g, sobol_g_indices

__all__ = ["coinr_example", "ishigami", "ishigami_indices", "sobol_g", "sobol_g_indices"]
