"""Uncertainty and sensitivity analysis over the choices of a spec, vectorised and scalable.

A *factor* is one uncertain choice at an address of the spec (``treat.winmax``, ``normalise``,
``aggregate.method``, ``weights``, ``exclude`` ...) with its alternatives. Samples of the factors are drawn
through SALib / ``scipy.stats.qmc`` (scrambled Sobol' points, one ``seed``), decoded into spec changes and
evaluated by an :class:`Engine` that rebuilds many variants per kernel call:

* samples are grouped by their *discrete* choices (every factor that is not a weight);
* the stages before aggregation (screen, impute, treat, normalise) are computed once per distinct
  upstream choice with :func:`digimeter.build.compute` itself, and reused;
* weights (noise on weights, weights at an address, dropped indicators or pillars) become a
  ``(n_samples, n_children)`` weight array aggregated in one call of the aggregation kernel along the
  leading sample axis;
* samples are evaluated in chunks (memory bounded), locally or as tasks on a Dask cluster; the chunks
  are the same either way, so the same seed gives the same numbers, bit for bit.

:func:`uncertainty` reports, for every unit and aggregate node, the nominal, median and 5-95 % interval of
the score and the rank, and the share of samples in which the unit keeps its nominal rank.
:func:`sensitivity` estimates Sobol' first- and total-order indices (SALib, bootstrap confidence
intervals) of the mean absolute rank shift (as COINr reports) and of every unit's rank, or Morris
elementary effects for screening. :func:`sensitivity_function` runs the same sampling, decoding and
estimation on a plain function (for the analytic Ishigami and Sobol-G checks).

Factor YAML::

    factors:
      - {address: treat.winmax, values: [1, 2, 3, 4, 5]}
      - {address: normalise, values: [{method: minmax, range: [1, 100]}, {method: zscore, mean: 10, sd: 2}]}
      - {address: aggregate.method, values: [arithmetic, geometric]}
      - {address: weights, noise: 0.25, levels: [2, 3]}   # w * (1 + U(-1, 1) * noise), as COINr
      - {address: exclude, values: [null, internet_use, connectivity]}  # drop one node (weight 0)
      - {address: weights.connectivity, range: [0.5, 2]}  # a continuous weight
      - {address: screen.min_availability, range: [0.5, 0.9]}  # any continuous setting

The package, by what the functions do: :mod:`.factors` (the factor schema, factor YAML, the
:class:`Design`), :mod:`.engine` (the batched evaluation over a leading sample axis with
:func:`digimeter.stages.tree.evaluate`), :mod:`.distributed` (chunks locally or on Dask),
:mod:`.intervals` (:func:`uncertainty`) and :mod:`.sensitivity` (SALib's Sobol' and Morris). The known
answers (COINr's ASEM example, Ishigami, Sobol' G) live in :mod:`digimeter.testing` and are re-exported
here.

References
----------
Saisana, M., Saltelli, A. & Tarantola, S. (2005). Uncertainty and sensitivity analysis techniques as tools
for the quality assessment of composite indicators. *JRSS A* 168(2), 307-323.
https://doi.org/10.1111/j.1467-985X.2005.00350.x ;
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output. *Computer Physics
Communications* 181(2), 259-270. https://doi.org/10.1016/j.cpc.2009.09.018 ;
Morris, M. D. (1991). Factorial sampling plans for preliminary computational experiments.
*Technometrics* 33(2), 161-174. https://doi.org/10.1080/00401706.1991.10484804 ;
Herman, J. & Usher, W. (2017). SALib: an open-source Python library for sensitivity analysis. *JOSS*
2(9), 97. https://doi.org/10.21105/joss.00097 ;
COINr ``get_sensitivity`` (``R/sensitivity.R``), https://github.com/bluefoxr/COINr
"""


from __future__ import annotations

from ..testing import coinr_example, ishigami, ishigami_indices, sobol_g, sobol_g_indices
from .distributed import chunk_size_for, run_chunks
from .engine import Engine, FunctionModel, naive_evaluate
from .factors import HEADS, STAGE_HEADS, Design, Factor, load_factors, shipped_factors, tree_table
from .intervals import UncertaintyResult, uncertainty
from .sensitivity import SensitivityResult, sensitivity, sensitivity_function, sobol_indices

__all__ = [
    "Factor", "Design", "Engine", "FunctionModel", "UncertaintyResult", "SensitivityResult",
    "load_factors", "shipped_factors", "uncertainty", "sensitivity", "sensitivity_function",
    "naive_evaluate", "coinr_example", "ishigami", "sobol_g",
    "ishigami_indices", "sobol_g_indices", "tree_table", "sobol_indices", "STAGE_HEADS", "HEADS",
    "run_chunks", "chunk_size_for",
]
