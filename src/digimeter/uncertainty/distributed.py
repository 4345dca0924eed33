"""Running chunks of samples locally or as tasks on a Dask cluster (``distributed``).

The chunk boundaries are the same either way, so one seed gives the same numbers locally or on a
cluster. Two ways to run:

* :func:`run_chunks` returns every chunk's result (all sample scores: the exact mode, sensitivity);
* :func:`reduce_chunks` reduces the chunks into one mergeable accumulator (histograms of ranks and
  scores) *where they are computed*: on Dask, the model (with its panel and prepared data) and the
  sample source are scattered to every worker once (``broadcast``, never pickled per task), each task
  evaluates a contiguous block of chunks and folds them into one accumulator, the accumulators are
  merged pairwise on the workers and one comes back. Scrambled Sobol' samples are regenerated on the
  workers from the seed (``fast_forward``), so no samples are shipped either.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import numpy as np

from ..errors import SpecError

__all__ = ["run_chunks", "reduce_chunks", "chunk_size_for", "client_for", "local_cluster", "eval_chunk",
           "progress_bar", "UniformSamples", "reduce_block", "merge_pair", "WORKER_MALLOC"]


class UniformSamples:
    """``n`` points of the unit hypercube ``[0, 1)^d`` from one ``seed``, readable by block.

    ``sampler="sobol"`` (scrambled Sobol', ``scipy.stats.qmc``) regenerates any block ``[a, b)`` from
    the seed alone (``fast_forward``, bit for bit the rows of :meth:`all`), so a cluster's workers need
    only ``(d, seed)``; ``latin`` and ``random`` draw all points once and hold them.
    """

    def __init__(self, n: int, d: int, seed: int | None, sampler: str = "sobol"):
        if sampler not in ("sobol", "latin", "random"):
            raise SpecError(f"unknown sampler {sampler!r}", field="sampler", value=sampler,
                            fix="use sobol (scrambled Sobol' points), latin or random")
        self.n, self.d, self.seed, self.sampler = int(n), int(d), seed, sampler
        self._all: np.ndarray | None = None
        if sampler != "sobol":
            self.all()

    def _sobol(self):
        from scipy.stats import qmc

        return qmc.Sobol(d=self.d, scramble=True, seed=self.seed)

    def all(self) -> np.ndarray:
        """Every point, ``(n, d)`` (kept once drawn)."""
        if self._all is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if self.sampler == "sobol":
                    self._all = self._sobol().random(self.n)
                elif self.sampler == "random":
                    self._all = np.random.default_rng(self.seed).random((self.n, self.d))
                else:
                    from scipy.stats import qmc

                    self._all = qmc.LatinHypercube(d=self.d, seed=self.seed).random(self.n)
        return self._all

    def block(self, a: int, b: int) -> np.ndarray:
        """Points ``a .. b-1``."""
        if self._all is not None:
            return self._all[a:b]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = self._sobol()
            if a:
                s.fast_forward(a)
            return s.random(b - a)

    def __getstate__(self):
        d = dict(self.__dict__)
        if self.sampler == "sobol":
            d["_all"] = None                   # regenerated from the seed where needed
        return d


def eval_chunk(model, U: np.ndarray, reducer=None):
    y = model.evaluate(U)
    return reducer(y) if reducer is not None else y


def reduce_block(model, samples: UniformSamples, bounds: list[tuple[int, int]], reducer):
    """One task: evaluate chunks ``bounds`` of ``samples`` one after another into one accumulator
    (``reducer.empty()``, ``acc.add(scores)``); memory: one chunk's scores and the accumulator."""
    acc = reducer.empty()
    for a, b in bounds:
        acc.add(model.evaluate(samples.block(a, b)))
    return acc


def merge_pair(a, b):
    """Merge two accumulators (on a worker)."""
    return a.merge(b)


@contextlib.contextmanager
def client_for(workers: int | None, scheduler: str | None, client: Any):
    if client is not None:
        yield client
        return
    if scheduler is None and not workers:
        yield None
        return
    from distributed import Client

    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    with local_cluster(int(workers)) as cluster, Client(cluster) as c:
        yield c


#: glibc malloc settings of the local workers: arrays up to 256 MB come from the heap and freed memory
#: is kept for the next chunk (Dask's default trims at 64 kB, so every chunk's arrays were mapped and
#: page-faulted afresh: a third of the workers' CPU time went to the kernel)
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 1 << 30, "MALLOC_MMAP_THRESHOLD_": 1 << 28}


def local_cluster(workers: int, **kw):
    """A ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes (no dashboard),
    with :data:`WORKER_MALLOC` in the workers' environment."""
    import dask
    from distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}, **WORKER_MALLOC)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                            dashboard_address=":0", **kw)


def progress_bar(enabled: bool, total: int, what: str):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    p = Progress(TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    return p


def run_chunks(model, U: np.ndarray, *, chunk_size: int, reducer=None, workers=None, scheduler=None,
               client=None, progress: bool = False, what: str = "evaluating") -> list:
    """Evaluate ``U`` chunk by chunk (fixed boundaries), locally or on Dask; results in chunk order."""
    bounds = [(a, min(a + chunk_size, len(U))) for a in range(0, len(U), chunk_size)]
    results: list = [None] * len(bounds)
    with progress_bar(progress, len(U), what) as bar, client_for(workers, scheduler, client) as c:
        task = bar.add_task(what, total=len(U)) if bar is not None else None
        if c is None:
            for k, (a, b) in enumerate(bounds):
                results[k] = eval_chunk(model, U[a:b], reducer)
                if bar is not None:
                    bar.advance(task, b - a)
        else:
            from distributed import as_completed

            mf = c.scatter(model, broadcast=True)
            futs = {c.submit(eval_chunk, mf, U[a:b], reducer, pure=False): k for k, (a, b) in enumerate(bounds)}
            for fut in as_completed(list(futs)):
                k = futs[fut]
                results[k] = fut.result()
                if bar is not None:
                    bar.advance(task, bounds[k][1] - bounds[k][0])
    return results


def _blocks(bounds: list[tuple[int, int]], n_tasks: int) -> list[list[tuple[int, int]]]:
    """``bounds`` cut into ``n_tasks`` contiguous runs of (nearly) equal length."""
    n_tasks = max(1, min(n_tasks, len(bounds)))
    cuts = np.linspace(0, len(bounds), n_tasks + 1).round().astype(int)
    return [bounds[cuts[k]:cuts[k + 1]] for k in range(n_tasks)]


def reduce_chunks(model, samples: UniformSamples, *, chunk_size: int, reducer, workers=None, scheduler=None,
                  client=None, progress: bool = False, what: str = "evaluating", tasks_per_worker: int = 4):
    """Evaluate every sample chunk by chunk and fold the chunks into one accumulator.

    ``reducer.empty()`` makes an accumulator, ``acc.add(scores)`` counts a chunk's scores
    ``(chunk, n_units, n_out)``, ``acc.merge(other)`` adds another's counts. Counts are integers, so
    the result does not depend on where or in which order chunks are counted. On Dask the chunks are
    split into ``tasks_per_worker`` contiguous blocks per worker (load balance and progress; one task
    holds one chunk's scores at a time) and the accumulators are merged pairwise on the workers.
    """
    n = samples.n
    bounds = [(a, min(a + chunk_size, n)) for a in range(0, n, chunk_size)]
    with progress_bar(progress, n, what) as bar, client_for(workers, scheduler, client) as c:
        task = bar.add_task(what, total=n) if bar is not None else None
        if c is None:
            acc = reducer.empty()
            for a, b in bounds:
                acc.add(model.evaluate(samples.block(a, b)))
                if bar is not None:
                    bar.advance(task, b - a)
            return acc
        from distributed import as_completed

        n_workers = max(1, len(c.scheduler_info().get("workers", {})))
        mf, sf, rf = c.scatter([model, samples, reducer], broadcast=True)
        blocks = _blocks(bounds, n_workers * tasks_per_worker)
        futs = {c.submit(reduce_block, mf, sf, blk, rf, pure=False): blk for blk in blocks}
        for fut in as_completed(list(futs)):
            if bar is not None:
                bar.advance(task, sum(b - a for a, b in futs[fut]))
        level = list(futs)
        while len(level) > 1:
            level = [c.submit(merge_pair, level[k], level[k + 1], pure=False) if k + 1 < len(level) else level[k]
                     for k in range(0, len(level), 2)]
        return level[0].result()


def chunk_size_for(n_units: int, n_out: int, chunk_size: int | None) -> int:
    """Samples per chunk: given, or sized so that one chunk's scores take ~16 MB (256 .. 20,000; ASEM's
    51 units x 11 nodes: 3,565), which keeps a chunk's arrays in the allocator's reach and the
    per-chunk overhead small (the measured optimum of 2,000 - 7,000 samples per chunk)."""
    if chunk_size:
        return int(chunk_size)
    return int(max(256, min(20000, 2_000_000 // max(1, n_units * max(n_out, 1)))))
