"""Global sensitivity analysis through SALib: Sobol' first- and total-order indices (all outputs at once)
and Morris screening, of an index's ranks (:func:`sensitivity`) or of a plain function
(:func:`sensitivity_function`, for the analytic checks in :mod:`digimeter.testing`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .._util.ranks import rank_desc
from ..errors import DataError, SpecError
from .distributed import chunk_size_for, run_chunks
from .engine import Engine, FunctionModel
from .factors import Design, load_factors

__all__ = ["SensitivityResult", "sensitivity", "sensitivity_function", "sobol_indices"]


@dataclass
class SensitivityResult:
    """What :func:`sensitivity` returns.

    ``indices`` has one row per output and factor: for Sobol' ``output, factor, S1, S1_conf, ST,
    ST_conf``; for Morris ``output, factor, mu, mu_star, sigma, mu_star_conf``. The output
    ``mean_abs_rank_shift`` is COINr's scalar (mean over units of |rank - nominal rank|); every other
    output is a unit code (the sensitivity of that unit's rank).
    """

    indices: pd.DataFrame
    method: str
    n: int
    n_runs: int
    seed: int | None
    node: str | None = None
    X: np.ndarray | None = None
    Y: np.ndarray | None = None

    def of(self, output: str = "mean_abs_rank_shift") -> pd.DataFrame:
        return self.indices[self.indices.output == output].set_index("factor").drop(columns="output")


def _sobol_sample(design: Design, n: int, seed: int | None) -> np.ndarray:
    from SALib.sample import sobol as sobol_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sobol_sample.sample(design.problem(), int(n), calc_second_order=False, scramble=True, seed=seed)


def _analyze(design: Design, method: str, X: np.ndarray, Y: np.ndarray, names: list[str], seed,
             num_resamples: int, conf_level: float) -> pd.DataFrame:
    """SALib estimators for each output column of ``Y`` (constant outputs get indices of 0)."""
    from SALib.analyze import morris as morris_an
    from SALib.analyze import sobol as sobol_an

    problem = design.problem()
    labels = [f.label for f in design.factors]
    if method == "sobol":
        return sobol_indices(Y, labels, names, seed, num_resamples, conf_level)
    rows = []
    for j, name in enumerate(names):
        y = np.asarray(Y[:, j], dtype=float)
        finite = np.isfinite(y).all()
        const = finite and np.ptp(y) == 0
        if method == "sobol":
            continue
        else:
            if const or not finite:
                v = 0.0 if const else np.nan
                for lab in labels:
                    rows.append({"output": name, "factor": lab, "mu": v, "mu_star": v, "sigma": v,
                                 "mu_star_conf": v})
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = morris_an.analyze(problem, X, y, num_resamples=num_resamples, conf_level=conf_level,
                                      num_levels=4, seed=seed)
            nm = list(r["names"])
            for lab in labels:
                k = nm.index(lab)
                rows.append({"output": name, "factor": lab, "mu": float(r["mu"][k]),
                             "mu_star": float(r["mu_star"][k]), "sigma": float(r["sigma"][k]),
                             "mu_star_conf": float(r["mu_star_conf"][k])})
    return pd.DataFrame(rows)


def sobol_indices(Y: np.ndarray, labels: list[str], names: list[str], seed, num_resamples: int,
                   conf_level: float, block: int = 64) -> pd.DataFrame:
    """SALib's Sobol' analysis (``SALib.analyze.sobol.analyze``, first and total order) of every column.

    The same steps and estimators (SALib's ``first_order``/``total_order``, Saltelli 2010 and Jansen,
    on outputs standardised by their standard deviation, bootstrap of ``num_resamples`` resamples
    with a normal-approximation interval), evaluated for all outputs at once instead of one SALib call
    per output. Outputs that never change get indices of 0; the bootstrap draws come from
    ``numpy.random.default_rng(seed)`` (as SALib does for a non-zero seed).
    """
    from scipy.stats import norm as normal
    from SALib.analyze.sobol import first_order, total_order

    Y = np.asarray(Y, dtype=float)
    D = len(labels)
    step = D + 2
    if Y.shape[0] % step:
        raise DataError(f"{Y.shape[0]} model runs do not fit a Saltelli design for {D} factors",
                        field="Y", value=Y.shape[0], fix=f"give n * {step} runs")
    N = Y.shape[0] // step
    r = np.random.default_rng(seed).integers(N, size=(N, num_resamples))
    Z = normal.ppf(0.5 + conf_level / 2)
    S1 = np.zeros((Y.shape[1], D)); S1c = np.zeros_like(S1); ST = np.zeros_like(S1); STc = np.zeros_like(S1)
    finite = np.isfinite(Y).all(axis=0)
    const = finite & (np.ptp(np.where(np.isfinite(Y), Y, 0.0), axis=0) == 0)
    S1[~finite] = S1c[~finite] = ST[~finite] = STc[~finite] = np.nan
    live = np.flatnonzero(finite & ~const)
    # Bootstrap resample k draws rows r[:, k]; C[k, i] counts row i in it, so every mean over a
    # resample is C @ (per-row quantity) / N: no (N, resamples, outputs) arrays are materialised.
    C = np.zeros((num_resamples, N))
    C = np.bincount((np.arange(num_resamples)[None, :] * N + r).ravel(),
                    minlength=num_resamples * N).reshape(num_resamples, N).astype(float)
    used = C.sum(axis=0) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k0 in range(0, len(live), block):
            cols = live[k0:k0 + block]
            y = Y[:, cols]
            y = (y - y.mean(axis=0)) / y.std(axis=0)
            A, B = y[0::step], y[step - 1::step]
            var_diff = np.ptp(np.concatenate([A[used], B[used]]), axis=0) != 0
            m1 = (C @ (A + B)) / (2 * N)
            rvar = (C @ (A ** 2 + B ** 2)) / (2 * N) - m1 ** 2          # var of r_[A[r], B[r]]
            ok = rvar > np.finfo(float).eps
            for j in range(D):
                AB = y[j + 1::step]
                S1[cols, j] = first_order(A, AB, B)
                ST[cols, j] = total_order(A, AB, B)
                s1r = np.where(ok, (C @ (B * (AB - A))) / N / np.where(ok, rvar, 1.0), 0.0)
                str_ = np.where(ok, 0.5 * (C @ ((A - AB) ** 2)) / N / np.where(ok, rvar, 1.0), 0.0)
                S1c[cols, j] = np.where(var_diff, Z * s1r.std(axis=0, ddof=1), 0.0)
                STc[cols, j] = np.where(var_diff, Z * str_.std(axis=0, ddof=1), 0.0)
    return pd.DataFrame({"output": np.repeat(np.asarray(names, dtype=object), D),
                         "factor": np.tile(np.asarray(labels, dtype=object), len(names)),
                         "S1": S1.ravel(), "S1_conf": S1c.ravel(), "ST": ST.ravel(), "ST_conf": STc.ravel()})


def _design_samples(design: Design, method: str, n: int, seed) -> np.ndarray:
    if method == "sobol":
        return _sobol_sample(design, n, seed)
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return morris_sample.sample(design.problem(), int(n), num_levels=4, seed=seed)
    raise SpecError(f"unknown sensitivity method {method!r}", field="method", value=method,
                    fix="use sobol (first- and total-order indices) or morris (screening)")


def sensitivity_function(func: Callable[[np.ndarray], np.ndarray], factors, n: int = 1024, *,
                         method: str = "sobol", seed: int | None = 0, outputs: Sequence[str] | None = None,
                         num_resamples: int = 100, conf_level: float = 0.95, workers: int | None = None,
                         scheduler: str | None = None, client: Any = None) -> SensitivityResult:
    """Sobol'/Morris indices of a plain function of numeric factors, by the same path as an index.

    ``factors`` are numeric (``{address: x1, range: [-3.14159, 3.14159]}`` or discrete numeric
    ``values``); ``func`` maps ``(n_samples, n_factors)`` to ``(n_samples,)`` or
    ``(n_samples, n_outputs)``. Used to check the machinery against analytic indices
    (:func:`ishigami`, :func:`sobol_g`).
    """
    model = FunctionModel(func, factors)
    X = _design_samples(model.design, method, n, seed)
    parts = run_chunks(model, X, chunk_size=max(1, len(X)), workers=workers, scheduler=scheduler, client=client)
    Y = np.concatenate(parts, axis=0)
    names = list(outputs) if outputs is not None else (["y"] if Y.shape[1] == 1 else [f"y{j}" for j in range(Y.shape[1])])
    ind = _analyze(model.design, method, X, Y, names, seed, num_resamples, conf_level)
    return SensitivityResult(indices=ind, method=method, n=int(n), n_runs=len(X), seed=seed, X=X, Y=Y)


def sensitivity(index, factors, n: int = 1000, *, method: str = "sobol", seed: int | None = 0,
                node: str | None = None, per_unit: bool = True, num_resamples: int = 100,
                conf_level: float = 0.95, chunk_size: int | None = None, workers: int | None = None,
                scheduler: str | None = None, client: Any = None, progress: bool = False) -> SensitivityResult:
    """Global sensitivity of the ranks to the factors: Sobol' indices (SALib) or Morris screening.

    Parameters
    ----------
    index : Index
        The nominal build.
    factors : list, path or Design
    n : int
        Base sample size: Sobol' runs ``n * (n_factors + 2)`` variants (Saltelli's scheme, first and
        total order; a power of 2 is best), Morris ``n * (n_factors + 1)`` (``n`` trajectories, 4 levels).
    method : {"sobol", "morris"}
    node : str, optional
        Whose ranks to analyse (default the index itself).
    per_unit : bool
        Also estimate the indices of every unit's rank (not only COINr's mean absolute rank shift).
    num_resamples, conf_level
        Bootstrap resamples and level of the confidence intervals (SALib).
    chunk_size, workers, scheduler, client, progress
        As :func:`uncertainty`.

    References
    ----------
    Saltelli et al. (2010), https://doi.org/10.1016/j.cpc.2009.09.018 ; Morris (1991),
    https://doi.org/10.1080/00401706.1991.10484804 ; Herman & Usher (2017), SALib,
    https://doi.org/10.21105/joss.00097
    """
    if isinstance(factors, (str, Path)):
        factors = load_factors(factors)
    node = node or index.spec.name
    eng = Engine.from_index(index, factors, nodes=[node])
    X = _design_samples(eng.design, method, n, seed)
    cs = chunk_size_for(len(eng.units), 1, chunk_size)
    parts = run_chunks(eng, X, chunk_size=cs, workers=workers, scheduler=scheduler, client=client,
                 progress=progress, what=f"{method} sensitivity")
    scores = np.concatenate(parts, axis=0)[:, :, 0]                  # (runs, n_units)
    nominal = index.scores.reindex(index=eng.units)[node].to_numpy(dtype=float)
    keep = ~np.isnan(nominal)
    ranks = rank_desc(scores[:, keep], axis=1)
    nom_rank = rank_desc(nominal[keep], axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mars = np.nanmean(np.abs(ranks - nom_rank[None]), axis=1)
    Y = mars[:, None]
    names = ["mean_abs_rank_shift"]
    if per_unit:
        Y = np.column_stack([Y, ranks])
        names += [u for u, k in zip(eng.units, keep) if k]
    ind = _analyze(eng.design, method, X, Y, names, seed, num_resamples, conf_level)
    return SensitivityResult(indices=ind, method=method, n=int(n), n_runs=len(X), seed=seed, node=node,
                             X=X, Y=Y)
