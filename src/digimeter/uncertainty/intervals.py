"""Uncertainty analysis: rank and score intervals of every unit and node over Monte Carlo samples of
the factors (:func:`uncertainty`).

Two modes give the same rank intervals:

* *exact* (default while all sample scores take < 400 MB): every sample's scores are kept and the
  quantiles are numpy's (type 7, linear interpolation);
* *streaming* (above, or ``exact=False``): each chunk of samples is counted into a mergeable
  :class:`RankSketch` where it is computed (on the Dask workers) and only the counts are merged.
  Ranks are integers, so their counts give the same type-7 quantiles, mean rank and share of samples
  at the nominal rank as the exact mode (to floating-point rounding of the mean). Scores are counted in
  ``bins`` equal bins per node over the span of the first chunk's scores widened by 20 % on each
  side; a score quantile is then within one bin width (:attr:`UncertaintyResult.score_tolerance`,
  1.4 x that span / ``bins``) of the exact one, as long as no score falls outside the bins
  (:attr:`UncertaintyResult.clipped` counts those per node; they are put in the end bins).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._util.ranks import rank_desc
from ..errors import SpecError
from .distributed import UniformSamples, chunk_size_for, reduce_chunks, run_chunks
from .engine import Engine
from .factors import Design, load_factors

__all__ = ["UncertaintyResult", "RankSketch", "uncertainty"]

#: the quantiles reported (5 %, median, 95 %)
PROBS = (0.05, 0.5, 0.95)


class RankSketch:
    """Mergeable counts per unit and node: ranks (exact, 1 .. n_units) and scores in fixed bins.

    ``RankSketch(nominal_ranks, edges)`` is a template (no counts); :meth:`empty` makes an accumulator,
    :meth:`add` counts a chunk of scores ``(chunk, n_units, n_out)``, :meth:`merge` adds another's
    counts. ``rank`` is ``(n_units, n_out, n_units + 1)`` (column ``r`` counts rank ``r``; NaN is not
    counted), ``score`` ``(n_units, n_out, bins)``, ``keep`` counts samples at the nominal rank and
    ``clipped`` (per node) scores outside ``edges`` (counted in the end bins).
    """

    def __init__(self, nominal_ranks: np.ndarray, edges: np.ndarray):
        self.nominal = np.asarray(nominal_ranks, dtype=float)          # (n_units, n_out)
        self.edges = np.asarray(edges, dtype=float)                     # (n_out, bins + 1)
        self.rank = self.score = self.keep = self.clipped = None

    def empty(self) -> "RankSketch":
        s = RankSketch(self.nominal, self.edges)
        nu, no = self.nominal.shape
        s.rank = np.zeros((nu, no, nu + 1), np.int64)
        s.score = np.zeros((nu, no, self.edges.shape[1] - 1), np.int64)
        s.keep = np.zeros((nu, no), np.int64)
        s.clipped = np.zeros(no, np.int64)
        return s

    def add(self, scores: np.ndarray) -> "RankSketch":
        """Count ``scores`` (chunk, n_units, n_out); worked in (chunk, n_out, n_units) order."""
        nu, no = self.nominal.shape
        nb = self.edges.shape[1] - 1
        v = np.ascontiguousarray(np.asarray(scores, dtype=float).transpose(0, 2, 1))   # (S, n_out, n_units)
        cell = np.arange(nu * no, dtype=np.intp).reshape(nu, no).T                     # (n_out, n_units)
        ranks = rank_desc(v, axis=-1)
        missing = np.isnan(v)
        any_missing = bool(missing.any())
        r = (np.where(missing, 0.0, ranks) if any_missing else ranks).astype(np.intp)   # rank 0 = NaN: dropped
        r += cell * (nu + 1)
        counts = np.bincount(r.ravel(), minlength=self.rank.size).reshape(self.rank.shape)
        counts[..., 0] = 0
        self.rank += counts
        self.keep += (ranks == self.nominal.T[None]).sum(axis=0).T
        lo, hi = self.edges[:, :1], self.edges[:, -1:]
        b = (v - lo[None]) * (nb / (hi - lo))[None]
        np.floor(b, out=b)
        with np.errstate(invalid="ignore"):
            self.clipped += ((b < 0) | (b >= nb)).sum(axis=(0, 2))
        np.clip(b, 0, nb - 1, out=b)
        bi = (np.where(missing, 0.0, b) if any_missing else b).astype(np.intp)
        bi += cell * nb
        idx = bi[~missing] if any_missing else bi.ravel()
        self.score += np.bincount(idx, minlength=self.score.size).reshape(self.score.shape)
        return self

    def merge(self, other: "RankSketch") -> "RankSketch":
        self.rank += other.rank
        self.score += other.score
        self.keep += other.keep
        self.clipped += other.clipped
        return self

    def rank_quantiles(self, ps: Sequence[float] = PROBS) -> np.ndarray:
        """``(len(ps), n_units, n_out)`` type-7 quantiles of the ranks (exact)."""
        return np.stack(self._quantiles(self.rank, ps))

    def score_quantiles(self, ps: Sequence[float] = PROBS) -> np.ndarray:
        """``(len(ps), n_units, n_out)`` score quantiles, within one bin width of the exact ones."""
        nu = self.nominal.shape[0]
        return np.stack(self._quantiles(self.score, ps, edges=np.tile(self.edges, (nu, 1))))

    def mean_rank(self) -> np.ndarray:
        cnt = self.rank.sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.rank * np.arange(self.rank.shape[-1])).sum(-1) / cnt

    def bin_width(self) -> np.ndarray:
        """Width of the score bins of each node ``(n_out,)``: the streaming score tolerance."""
        return (self.edges[:, -1] - self.edges[:, 0]) / (self.edges.shape[1] - 1)

    @staticmethod
    def _quantiles(counts: np.ndarray, ps: Sequence[float], edges: np.ndarray | None = None) -> list[np.ndarray]:
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
    #: streaming mode: per node, the width of a score bin (score quantiles are within it of the exact ones)
    score_tolerance: dict[str, float] | None = None
    #: streaming mode: per node, sample scores that fell outside the bins (0: the tolerance holds)
    clipped: dict[str, int] | None = None

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


def _summary(eng: Engine, units: list, out_nodes: list, nom_ranks, nom_scores, qr, qs, mean_rank,
             keep) -> pd.DataFrame:
    """The long summary rows, sorted by node (in ``out_nodes`` order), nominal rank and unit."""
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
    return summary.sort_values(["node", "nominal_rank", "unit"],
                               key=lambda s: s.map(order) if s.name == "node" else s,
                               kind="stable").reset_index(drop=True)


def _exact(eng: Engine, U: np.ndarray, nom_ranks: np.ndarray, cs: int, run: dict) -> tuple:
    parts = run_chunks(eng, U, chunk_size=cs, **run)
    scores = np.concatenate(parts, axis=0)
    ranks = rank_desc(scores, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.quantile if not np.isnan(scores).any() else np.nanquantile
        qs = q(scores, PROBS, axis=0)
        qr = q(ranks, PROBS, axis=0)
        mean_rank = np.nanmean(ranks, axis=0)
    keep = (ranks == nom_ranks[None]).mean(axis=0)
    return scores, qr, qs, mean_rank, keep


def _streaming(eng: Engine, samples: UniformSamples, nom_ranks: np.ndarray, cs: int, bins: int,
               run: dict) -> RankSketch:
    """Counts of every chunk (on the workers); edges from the first chunk, evaluated here (it also
    prepares the upstream data the workers receive with the engine)."""
    pilot = eng.evaluate(samples.block(0, min(samples.n, cs)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanmin(pilot, axis=(0, 1)), np.nanmax(pilot, axis=(0, 1))
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - 0.2 * span, hi + 0.2 * span
    edges = np.linspace(lo, hi, bins + 1, axis=1)
    return reduce_chunks(eng, samples, chunk_size=cs, reducer=RankSketch(nom_ranks, edges), **run)


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
        Samples per chunk; the default bounds a chunk's scores to ~16 MB.
    workers, scheduler, client
        Run the chunks on a Dask ``LocalCluster`` with that many worker processes, on the cluster at
        that scheduler address, or on a given ``distributed.Client``.
    progress : bool
        Show a rich progress bar on stderr.
    exact : bool, optional
        Keep every sample's scores (exact quantiles). Default: only while that takes < 400 MB; above,
        the streaming mode (module docstring): rank intervals, mean rank and P(nominal rank) as in the
        exact mode; score quantiles within one bin width (``score_tolerance``) of the exact ones.
    bins : int
        Score bins per node in the streaming mode.

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
    samples = UniformSamples(n, eng.design.n_dims, seed, sampler)
    units, out_nodes = eng.units, eng.out_nodes
    nom_scores = index.scores.reindex(index=units)[out_nodes].to_numpy(dtype=float)
    nom_ranks = rank_desc(nom_scores, axis=0)
    cs = chunk_size_for(len(units), len(out_nodes), chunk_size)
    run = dict(workers=workers, scheduler=scheduler, client=client, progress=progress, what="uncertainty")
    if exact is None:
        exact = n * len(units) * len(out_nodes) * 8 < 400e6
    extra: dict[str, Any] = {}
    if exact:
        scores, qr, qs, mean_rank, keep = _exact(eng, samples.all(), nom_ranks, cs, run)
    else:
        sk = _streaming(eng, samples, nom_ranks, cs, bins, run)
        scores, qr, qs, mean_rank, keep = None, sk.rank_quantiles(), sk.score_quantiles(), sk.mean_rank(), sk.keep / n
        extra = {"score_tolerance": dict(zip(out_nodes, sk.bin_width().tolist())),
                 "clipped": dict(zip(out_nodes, sk.clipped.tolist()))}
    summary = _summary(eng, units, out_nodes, nom_ranks, nom_scores, qr, qs, mean_rank, keep)
    return UncertaintyResult(summary=summary, nominal=index, design=eng.design, U=samples.all(), nodes=out_nodes,
                             units=units, seed=seed, scores=scores, exact=bool(exact),
                             n_rebuilds_upstream=eng.n_compute, **extra)
