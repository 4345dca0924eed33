"""Uncertainty analysis: rank and score intervals of every unit and node over Monte Carlo samples of
the factors (:func:`uncertainty`), exact or from mergeable histograms."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._util.ranks import rank_desc
from ..errors import SpecError
from .distributed import chunk_size_for, run_chunks
from .engine import Engine
from .factors import Design, load_factors

__all__ = ["UncertaintyResult", "uncertainty"]


def _sample_uniform(n: int, d: int, seed: int | None, sampler: str) -> np.ndarray:
    if sampler == "sobol":
        from scipy.stats import qmc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return qmc.Sobol(d=d, scramble=True, seed=seed).random(n)
    if sampler == "random":
        return np.random.default_rng(seed).random((n, d))
    if sampler == "latin":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=d, seed=seed).random(n)
    raise SpecError(f"unknown sampler {sampler!r}", field="sampler", value=sampler,
                    fix="use sobol (scrambled Sobol' points), latin or random")


class _Hist:
    """Mergeable counts of ranks (exact) and binned scores, per unit and node (the streaming mode)."""

    def __init__(self, nominal_ranks: np.ndarray, edges: np.ndarray):
        self.nominal = nominal_ranks            # (n_units, n_out)
        self.edges = edges                      # (n_out, n_bins + 1)
        self.rank = self.score = self.keep = None      # allocated by _add (the template stays light)

    def __call__(self, scores: np.ndarray) -> "_Hist":
        """A new accumulator holding the counts of ``scores`` (this one is a template, left as is)."""
        return _Hist(self.nominal, self.edges)._add(scores)

    def _add(self, scores: np.ndarray) -> "_Hist":
        S, n_units, n_out = scores.shape
        self.rank = np.zeros((n_units, n_out, n_units + 1), np.int64)
        self.score = np.zeros((n_units, n_out, self.edges.shape[1] - 1), np.int64)
        self.keep = np.zeros((n_units, n_out), np.int64)
        ranks = rank_desc(scores, axis=1)
        ok = ~np.isnan(ranks)
        cell = np.broadcast_to(np.arange(n_units * n_out).reshape(n_units, n_out), ranks.shape)
        r = np.where(ok, ranks, 0).astype(np.int64)
        self.rank += np.bincount((cell * (n_units + 1) + r)[ok], minlength=self.rank.size).reshape(self.rank.shape)
        nb = self.edges.shape[1] - 1
        lo, hi = self.edges[:, 0], self.edges[:, -1]
        with np.errstate(invalid="ignore"):
            b = np.clip(np.floor((scores - lo) / (hi - lo) * nb), 0, nb - 1)
        oks = ~np.isnan(scores)
        self.score += np.bincount((cell * nb + np.where(oks, b, 0).astype(np.int64))[oks],
                                  minlength=self.score.size).reshape(self.score.shape)
        self.keep += (ranks == self.nominal[None]).sum(axis=0)
        return self

    def merge(self, other: "_Hist") -> "_Hist":
        self.rank += other.rank
        self.score += other.score
        self.keep += other.keep
        return self

    @staticmethod
    def _quantiles(counts: np.ndarray, ps: Sequence[float], centres: np.ndarray | None = None,
                   edges: np.ndarray | None = None) -> list[np.ndarray]:
        """Type-7 quantiles from counts over ordered bins (exact for integer bins)."""
        flat = counts.reshape(-1, counts.shape[-1])
        n = flat.sum(-1)
        cum = np.cumsum(flat, -1)

        def order_stat(k):
            idx = (cum > k[:, None]).argmax(-1)
            if edges is None:
                return idx.astype(float)
            before = np.take_along_axis(cum, idx[:, None], -1)[:, 0] - np.take_along_axis(flat, idx[:, None], -1)[:, 0]
            inbin = np.take_along_axis(flat, idx[:, None], -1)[:, 0]
            e = edges if edges.ndim == 2 else edges[None]
            lo, hi = e[np.arange(len(idx)) % e.shape[0], idx], e[np.arange(len(idx)) % e.shape[0], idx + 1]
            return lo + (k - before + 0.5) / np.maximum(inbin, 1) * (hi - lo)

        out = []
        for p in ps:
            h = (n - 1) * p
            i = np.floor(h)
            lo = order_stat(np.maximum(i, 0))
            hi = order_stat(np.minimum(i + 1, np.maximum(n - 1, 0)))
            q = lo + (h - i) * (hi - lo)
            out.append(np.where(n > 0, q, np.nan).reshape(counts.shape[:-1]))
        return out


@dataclass
class UncertaintyResult:
    """What :func:`uncertainty` returns.

    Attributes
    ----------
    summary : DataFrame
        Long rows ``unit, node, level, nominal_rank, median_rank, q05_rank, q95_rank, mean_rank,
        p_nominal_rank, nominal_score, median_score, q05_score, q95_score`` (the data of a rank-interval
        chart), for every unit and output node.
    scores : ndarray or None
        All sample scores ``(n, n_units, n_nodes)`` (None in the streaming mode for large ``n``).
    U : ndarray
        The unit-hypercube samples (``design.table(U)`` gives each sample's factor values).
    """

    summary: pd.DataFrame
    nominal: Any
    design: Design
    U: np.ndarray
    nodes: list[str]
    units: list[str]
    seed: int | None
    scores: np.ndarray | None = None
    exact: bool = True
    #: distinct treated data sets computed (full ``compute`` calls on the fallback path)
    n_rebuilds_upstream: int = 0

    @property
    def n(self) -> int:
        return len(self.U)

    def ranks(self) -> np.ndarray | None:
        return None if self.scores is None else rank_desc(self.scores, axis=1)

    def samples(self) -> pd.DataFrame:
        """The factor values of every sample."""
        return self.design.table(self.U)

    def node(self, code: str | None = None) -> pd.DataFrame:
        """Summary rows of one node (default the index), sorted by nominal rank."""
        code = code or self.nominal.spec.name
        t = self.summary[self.summary.node == code]
        return t.sort_values(["nominal_rank", "unit"]).reset_index(drop=True)


def uncertainty(index, factors, n: int = 1000, *, seed: int | None = 0, sampler: str = "sobol",
                nodes: Any = "aggregates", chunk_size: int | None = None, workers: int | None = None,
                scheduler: str | None = None, client: Any = None, progress: bool = False,
                exact: bool | None = None, bins: int = 1000) -> UncertaintyResult:
    """Monte Carlo uncertainty analysis of every unit's score and rank.

    Parameters
    ----------
    index : Index
        The nominal build (``digimeter.build.build(spec)``).
    factors : list, path or Design
        The uncertain choices (see the module docstring and :class:`Factor`).
    n : int
        Number of samples.
    seed : int
        One seed for everything; the same seed gives the same numbers, locally or on a cluster.
    sampler : {"sobol", "latin", "random"}
        Scrambled Sobol' points (``scipy.stats.qmc``, as SALib uses), Latin hypercube, or plain
        uniform draws (as COINr).
    nodes : "aggregates" | "all" | list
        The nodes to report.
    chunk_size : int, optional
        Samples per chunk (per Dask task); the default bounds a chunk's scores to ~32 MB.
    workers, scheduler, client
        Run the chunks on a Dask ``LocalCluster`` with that many worker processes, on the cluster at
        that scheduler address, or on a given ``distributed.Client``.
    progress : bool
        Show a rich progress bar on stderr.
    exact : bool, optional
        Keep every sample's scores (exact quantiles). Default: only while that takes < 400 MB; above,
        ranks are counted in histograms (still exact) and scores binned into ``bins`` bins per node
        (quantiles then exact to a bin width, the span of the first chunk's scores widened by 20 %).

    Returns
    -------
    UncertaintyResult

    References
    ----------
    Saisana, Saltelli & Tarantola (2005), https://doi.org/10.1111/j.1467-985X.2005.00350.x ;
    COINr ``get_sensitivity(SA_type = "UA")``, https://bluefoxr.github.io/COINr/articles/sensitivity.html
    """
    if isinstance(factors, (str, Path)):
        factors = load_factors(factors)
    n = int(n)
    if n < 1:
        raise SpecError("n must be at least 1", field="n", value=n)
    eng = Engine.from_index(index, factors, nodes=nodes)
    design = eng.design
    U = _sample_uniform(n, design.n_dims, seed, sampler)
    units, out_nodes = eng.units, eng.out_nodes
    nom_scores = index.scores.reindex(index=units)[out_nodes].to_numpy(dtype=float)
    nom_ranks = rank_desc(nom_scores, axis=0)
    cs = chunk_size_for(len(units), len(out_nodes), chunk_size)
    if exact is None:
        exact = n * len(units) * len(out_nodes) * 8 < 400e6
    if exact:
        parts = run_chunks(eng, U, chunk_size=cs, workers=workers, scheduler=scheduler, client=client,
                     progress=progress, what="uncertainty")
        scores = np.concatenate(parts, axis=0)
        ranks = rank_desc(scores, axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            q = np.quantile if not np.isnan(scores).any() else np.nanquantile
            qs = q(scores, [0.05, 0.5, 0.95], axis=0)
            qr = q(ranks, [0.05, 0.5, 0.95], axis=0)
            mean_rank = np.nanmean(ranks, axis=0)
        keep = (ranks == nom_ranks[None]).mean(axis=0)
    else:
        pilot = eng.evaluate(U[: min(n, cs)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(pilot, axis=(0, 1)), np.nanmax(pilot, axis=(0, 1))
        span = np.where(hi > lo, hi - lo, 1.0)
        lo, hi = lo - 0.2 * span, hi + 0.2 * span
        edges = np.linspace(lo, hi, bins + 1, axis=1)
        parts = run_chunks(eng, U, chunk_size=cs, reducer=_Hist(nom_ranks, edges), workers=workers,
                     scheduler=scheduler, client=client, progress=progress, what="uncertainty")
        h = parts[0]
        for p in parts[1:]:
            h.merge(p)
        scores = None
        qr = np.stack(_Hist._quantiles(h.rank, [0.05, 0.5, 0.95]))
        qs = np.stack(_Hist._quantiles(h.score, [0.05, 0.5, 0.95], edges=np.tile(edges, (len(units), 1))))
        cnt = h.rank.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_rank = (h.rank * np.arange(len(units) + 1)).sum(-1) / cnt
        keep = h.keep / n
    level = eng.meta.set_index("code").level
    uu, nn = np.meshgrid(np.arange(len(units)), np.arange(len(out_nodes)), indexing="ij")
    summary = pd.DataFrame({
        "unit": np.asarray(units, dtype=object)[uu.ravel()],
        "node": np.asarray(out_nodes, dtype=object)[nn.ravel()],
        "level": level.reindex(out_nodes).to_numpy()[nn.ravel()],
        "nominal_rank": nom_ranks.ravel(), "median_rank": qr[1].ravel(), "q05_rank": qr[0].ravel(),
        "q95_rank": qr[2].ravel(), "mean_rank": mean_rank.ravel(), "p_nominal_rank": keep.ravel(),
        "nominal_score": nom_scores.ravel(), "median_score": qs[1].ravel(), "q05_score": qs[0].ravel(),
        "q95_score": qs[2].ravel(),
    })
    summary = summary[summary.nominal_rank.notna() | summary.median_rank.notna()].reset_index(drop=True)
    order = {c: k for k, c in enumerate(out_nodes)}
    summary = summary.sort_values(["node", "nominal_rank", "unit"], key=lambda s: s.map(order) if s.name == "node" else s,
                                  kind="stable").reset_index(drop=True)
    return UncertaintyResult(summary=summary, nominal=index, design=design, U=U, nodes=out_nodes,
                             units=units, seed=seed, scores=scores, exact=bool(exact),
                             n_rebuilds_upstream=eng.n_compute)
