"""Fetching from publishers: timeouts, retries with exponential backoff, a raw-response cache.

Every connector fetches through a :class:`Fetcher`. Its transport is injectable (an
``httpx.MockTransport`` or any ``httpx.BaseTransport``), so tests replay recorded responses and
nothing in the test suite touches the network. Raw response bodies are kept under
``$DIGIMETER_HOME/cache/<publisher>/`` with a small JSON sidecar (URL, status, retrieval time,
SHA-256), so an update can be re-run offline (``offline=True``) from what was fetched before.

A connector turns what it fetched into a :class:`Batch`: tidy rows ``unit, indicator, year,
value`` (+ ``note``), one origin record, and the metadata of any indicator or unit the store
does not know yet. :func:`digimeter.sources.update.apply_batches` writes batches atomically.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import httpx
import pandas as pd

from ..errors import SourceError

USER_AGENT = "digimeter (https://github.com/digimeter; statistics refresh)"
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class Response:
    """One fetched (or cached) response body."""

    url: str
    content: bytes
    status: int
    retrieved: str  # ISO 8601, UTC
    from_cache: bool = False
    content_type: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def text(self) -> str:
        return self.content.decode("utf-8-sig")

    def json(self) -> Any:
        try:
            return json.loads(self.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            head = self.content[:80].decode("utf-8", errors="replace")
            raise SourceError(f"{self.url}: the response is not valid JSON ({e}); it starts with {head!r} "
                              f"({len(self.content)} bytes) — truncated or an error page",
                              field="body", value=head,
                              fix="retry later; if it persists the publisher changed its API") from e


@dataclass
class Batch:
    """What one connector call produced, ready for the store.

    ``observations`` has columns unit, indicator, year, value, note (digimeter codes).
    ``origin`` is one row of the store's ``origins`` table. ``indicators`` / ``units`` hold
    metadata for codes that may be new to the store (existing codes are never overwritten).
    ``covers`` lists the indicator codes the request asked for completely (used to detect
    dropped series); ``skipped`` collects human-readable notes about rows left out.
    """

    source: str
    observations: pd.DataFrame
    origin: dict
    indicators: pd.DataFrame | None = None
    units: pd.DataFrame | None = None
    covers: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def origin_id(self) -> str:
        return self.origin["origin_id"]


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def default_cache_dir() -> Path:
    from ..store import default_home

    return default_home() / "cache"


class Fetcher:
    """HTTP GET with timeouts, retries (exponential backoff) and a raw-response cache.

    Parameters
    ----------
    transport : httpx.BaseTransport, optional
        Replaces the network (``httpx.MockTransport(handler)`` in tests).
    cache_dir : Path, optional
        Where raw bodies are kept (default ``$DIGIMETER_HOME/cache``); ``False`` disables caching.
    timeout : float
        Seconds for connect and read.
    retries : int
        Further attempts after the first on timeouts, connection errors and HTTP 408/429/5xx.
    backoff : float
        First wait in seconds; doubled after each failed attempt (0.5, 1, 2, ...).
    offline : bool
        Serve only from the cache; a miss raises :class:`SourceError` naming the URL.
    sleep : callable
        Used for the backoff waits (tests pass a no-op).
    """

    def __init__(self, transport: httpx.BaseTransport | None = None, *, cache_dir: Path | None | bool = None,
                 timeout: float = 30.0, retries: int = 3, backoff: float = 0.5, offline: bool = False,
                 sleep: Callable[[float], None] = time.sleep):
        self.transport = transport
        self.cache_dir = None if cache_dir is False else Path(cache_dir) if cache_dir else default_cache_dir()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.offline = offline
        self.sleep = sleep
        self.requests = 0  # network attempts made (for tests and progress)
        self._client: httpx.Client | None = None

    # -- cache ------------------------------------------------------------------------------
    def _cache_paths(self, publisher: str, url: str) -> tuple[Path, Path] | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(url.encode()).hexdigest()[:24]
        d = self.cache_dir / publisher
        return d / f"{key}.body", d / f"{key}.json"

    def _from_cache(self, publisher: str, url: str) -> Response | None:
        paths = self._cache_paths(publisher, url)
        if paths is None or not paths[0].exists() or not paths[1].exists():
            return None
        meta = json.loads(paths[1].read_text(encoding="utf-8"))
        content = paths[0].read_bytes()
        if hashlib.sha256(content).hexdigest() != meta.get("sha256"):
            return None  # a damaged cache entry is ignored, never trusted
        return Response(url=url, content=content, status=meta.get("status", 200), retrieved=meta["retrieved"],
                        from_cache=True, content_type=meta.get("content_type"))

    def _to_cache(self, publisher: str, r: Response) -> None:
        paths = self._cache_paths(publisher, r.url)
        if paths is None:
            return
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        tmp = paths[0].with_suffix(".part")
        tmp.write_bytes(r.content)
        tmp.replace(paths[0])  # atomic: a killed process never leaves half a body under the real name
        paths[1].write_text(json.dumps({"url": r.url, "status": r.status, "retrieved": r.retrieved,
                                        "sha256": r.sha256, "content_type": r.content_type}), encoding="utf-8")

    # -- network ----------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(transport=self.transport, timeout=self.timeout, follow_redirects=True,
                                        headers={"User-Agent": USER_AGENT})
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def get(self, url: str, params: dict | None = None, *, publisher: str = "misc", use_cache: bool | None = None) -> Response:
        """GET ``url`` (with ``params``), retrying transient failures; cache the body.

        ``use_cache``: ``None`` (default) fetches from the network and refreshes the cache (or reads the
        cache when the fetcher is offline); ``True`` prefers a cached body when there is one.
        """
        full = str(httpx.URL(url, params=params)) if params else url
        if self.offline or use_cache:
            hit = self._from_cache(publisher, full)
            if hit is not None:
                return hit
            if self.offline:
                raise SourceError(f"offline and no cached response for {full}", field="url", value=full,
                                  fix="run the update once while online, or drop --offline")
        last: str = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            self.requests += 1
            try:
                resp = self.client.get(full)
            except httpx.TimeoutException as e:
                last = f"timed out after {self.timeout:g} s ({type(e).__name__})"
                continue
            except httpx.TransportError as e:
                last = f"network error: {e}"
                continue
            if resp.status_code in RETRY_STATUS:
                last = f"HTTP {resp.status_code} {resp.reason_phrase}"
                continue
            if resp.status_code >= 400:
                head = resp.content[:200].decode("utf-8", errors="replace")
                raise SourceError(f"{full}: HTTP {resp.status_code} {resp.reason_phrase}", field="url", value=head,
                                  fix="check the code/parameters (a 404 usually means an unknown dataset or indicator)")
            r = Response(url=full, content=resp.content, status=resp.status_code, retrieved=now_iso(),
                         content_type=resp.headers.get("content-type"))
            self._to_cache(publisher, r)
            return r
        raise SourceError(f"{full}: gave up after {self.retries + 1} attempts; last: {last}", field="url", value=full,
                          fix="check the connection or retry later (cached responses: --offline)")
