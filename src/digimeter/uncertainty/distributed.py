"""Running chunks of samples locally or as tasks on a Dask cluster (``distributed``).

The chunk boundaries are the same either way, so one seed gives the same numbers locally or on a
cluster. The model is scattered to the workers once (broadcast), never pickled per task.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

__all__ = ["run_chunks", "chunk_size_for", "client_for", "eval_chunk", "progress_bar"]


def eval_chunk(model, U: np.ndarray, reducer=None):
    y = model.evaluate(U)
    return reducer(y) if reducer is not None else y


@contextlib.contextmanager
def client_for(workers: int | None, scheduler: str | None, client: Any):
    if client is not None:
        yield client
        return
    if scheduler is None and not workers:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    with LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as c:
        yield c


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


def chunk_size_for(n_units: int, n_out: int, chunk_size: int | None) -> int:
    if chunk_size:
        return int(chunk_size)
    return int(max(256, min(20000, 4_000_000 // max(1, n_units * max(n_out, 1)))))
