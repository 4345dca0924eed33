"""Statistics of an index and of its regions (DESIGN.md layer L1: pure numpy/pandas, no store).

:mod:`digimeter.stats.inequality` measures the divide between regions (Gini, Theil, CV, convergence,
roll-up); :mod:`digimeter.stats.audit` audits an index (correlations, Cronbach's alpha, PCA, removal
effects, strengths and weaknesses).
"""

from __future__ import annotations

from .inequality import (BetaConvergence, TheilDecomposition, best_worst_gap, beta_convergence, cv, divide,
                         gini, population_below, rollup, sigma_convergence, theil, theil_decomposition)

__all__ = ["BetaConvergence", "TheilDecomposition", "best_worst_gap", "beta_convergence", "cv", "divide",
           "gini", "population_below", "rollup", "sigma_convergence", "theil", "theil_decomposition"]
