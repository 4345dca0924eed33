"""The factor schema: one uncertain choice at an address of the spec (:class:`Factor`), factor YAML
(:func:`load_factors`, the shipped files), and the :class:`Design` that compiles factors against a spec
and maps unit-hypercube samples to spec changes and weights."""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ..errors import NotFoundError, Problem, SpecError

__all__ = ["Factor", "Design", "STAGE_HEADS", "HEADS", "load_factors", "shipped_factors", "tree_table"]

STAGE_HEADS = ("denominate", "screen", "impute", "treat", "normalise", "aggregate")
HEADS = STAGE_HEADS + ("weights", "exclude")
_FACTOR_KEYS = ("address", "values", "range", "integer", "noise", "levels", "name")


@dataclass(frozen=True)
class Factor:
    """One uncertain choice at an address of the spec.

    Exactly one of ``values`` (discrete alternatives, chosen with equal probability), ``range``
    (continuous uniform; ``integer=True`` draws whole numbers ``lo..hi``) or ``noise`` (only with the
    address ``weights``: every weight of a node at one of ``levels`` is multiplied by
    ``1 + U(-1, 1) * noise``, independently, as COINr's ``get_noisy_weights``) is given.

    Addresses: ``<stage>`` (a whole stage dict), ``<stage>.<option>`` (screen, impute, treat,
    normalise, aggregate), ``weights.<node>`` (a node's weight), ``weights`` (noise), ``exclude``
    (values are node codes, or ``null`` for none, or lists of codes: the node's weight becomes 0, so it
    drops out and its siblings are re-weighted, as COINr's ``remove_elements``).
    """

    address: str
    values: tuple | None = None
    range: tuple[float, float] | None = None
    integer: bool = False
    noise: float | None = None
    levels: tuple[int, ...] | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.address

    @property
    def kind(self) -> str:
        if self.noise is not None:
            return "noise"
        return "discrete" if self.values is not None else "continuous"

    @property
    def head(self) -> str:
        return self.address.split(".", 1)[0]

    @property
    def is_weight(self) -> bool:
        """Evaluated along the sample axis (weights, noise, exclusion) rather than by grouping."""
        return self.head in ("weights", "exclude")

    @classmethod
    def from_dict(cls, d: Any, *, where: str = "factors") -> "Factor":
        """A factor from its YAML/JSON form; raises :class:`SpecError` naming the culprit."""
        if isinstance(d, Factor):
            return d
        if not isinstance(d, dict):
            raise SpecError(f"{where}: a factor must be a mapping like "
                            "{address: aggregate.method, values: [arithmetic, geometric]}",
                            field=where, value=d)
        unknown = [k for k in d if k not in _FACTOR_KEYS]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), _FACTOR_KEYS, n=1)
            raise SpecError(f"{where}: unknown key '{unknown[0]}'", field=where, value=unknown[0],
                            fix=f"did you mean {close[0]}?" if close else f"use {', '.join(_FACTOR_KEYS)}")
        address = d.get("address")
        if not isinstance(address, str) or not address:
            raise SpecError(f"{where}: a factor needs an `address` (e.g. aggregate.method)", field=where,
                            fix="add `address: <stage>.<option>`, `weights`, `weights.<node>` or `exclude`")
        given = [k for k in ("values", "range", "noise") if d.get(k) is not None]
        if len(given) != 1:
            raise SpecError(f"factor '{address}': give exactly one of values, range or noise "
                            f"(got {', '.join(given) or 'none'})", field=address,
                            fix="values: [a, b, ...] for discrete choices, range: [lo, hi] for a "
                                "continuous one, noise: 0.25 (with address: weights) for noisy weights")
        values = rng = noise = levels = None
        if d.get("values") is not None:
            if not isinstance(d["values"], (list, tuple)) or len(d["values"]) == 0:
                raise SpecError(f"factor '{address}': values must be a non-empty list", field=address,
                                value=d["values"])
            values = tuple(_freeze(v) for v in d["values"])
        if d.get("range") is not None:
            try:
                lo, hi = (float(v) for v in d["range"])
            except (TypeError, ValueError):
                raise SpecError(f"factor '{address}': range must be [lo, hi]", field=address,
                                value=d["range"]) from None
            if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
                raise SpecError(f"factor '{address}': range must be finite with lo <= hi", field=address,
                                value=d["range"])
            rng = (lo, hi)
        if d.get("noise") is not None:
            if address != "weights":
                raise SpecError(f"factor '{address}': noise applies to the address `weights` only",
                                field=address, fix="use {address: weights, noise: 0.25, levels: [2, 3]}")
            try:
                noise = float(d["noise"])
            except (TypeError, ValueError):
                raise SpecError("factor 'weights': noise must be a number in (0, 1]", field=address,
                                value=d["noise"]) from None
            if not 0 < noise <= 1:
                raise SpecError("factor 'weights': noise must be in (0, 1] so weights stay >= 0",
                                field=address, value=noise)
            if d.get("levels") is not None:
                lv = d["levels"] if isinstance(d["levels"], (list, tuple)) else [d["levels"]]
                levels = tuple(int(v) for v in lv)
        elif d.get("levels") is not None:
            raise SpecError(f"factor '{address}': levels go with noise on weights", field=address)
        return cls(address=address, values=values, range=rng, integer=bool(d.get("integer", False)),
                   noise=noise, levels=levels, name=d.get("name"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"address": self.address}
        if self.name:
            out["name"] = self.name
        if self.values is not None:
            out["values"] = [_thaw(v) for v in self.values]
        if self.range is not None:
            out["range"] = list(self.range)
            if self.integer:
                out["integer"] = True
        if self.noise is not None:
            out["noise"] = self.noise
            if self.levels is not None:
                out["levels"] = list(self.levels)
        return out


class _Frozen(tuple):
    """A hashable stand-in for a dict or list value of a factor (kept as tuples of items)."""


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return _Frozen(("dict", tuple((k, _freeze(x)) for k, x in v.items())))
    if isinstance(v, list):
        return _Frozen(("list", tuple(_freeze(x) for x in v)))
    return v


def _thaw(v: Any) -> Any:
    if isinstance(v, _Frozen):
        kind, items = v
        if kind == "dict":
            return {k: _thaw(x) for k, x in items}
        return [_thaw(x) for x in items]
    if isinstance(v, tuple):
        return [_thaw(x) for x in v]
    return v


def shipped_factors() -> dict[str, Path]:
    """The example factor files bundled with digimeter, by name (``egdi-default`` ...)."""
    folder = Path(str(resources.files("digimeter") / "data" / "factors"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_factors(source: Any) -> list[Factor]:
    """Factors from a YAML file (path or shipped name), a list of dicts/Factors or ``{factors: [...]}``."""
    where = "factors"
    if isinstance(source, (str, Path)) and not (isinstance(source, str) and "\n" in source):
        shipped = shipped_factors()
        p = shipped.get(str(source), Path(source))
        if not p.exists():
            raise NotFoundError(f"no factor file '{source}'", value=str(source),
                                fix=f"give a path to a YAML file or a shipped one ({', '.join(shipped)})")
        where = str(p)
        from .._util.yamlsafe import load_yaml_file

        source = load_yaml_file(p)   # no aliases, bounded depth; errors name the file and line
    if isinstance(source, dict):
        if "factors" not in source:
            raise SpecError(f"{where}: expected a `factors:` list", file=where,
                            fix="write `factors:` followed by `- {address: ..., values: [...]}` items")
        source = source["factors"]
    if not isinstance(source, (list, tuple)) or not source:
        raise SpecError(f"{where}: no factors given", file=where,
                        fix="list at least one factor, e.g. {address: aggregate.method, values: [arithmetic, geometric]}")
    out = [Factor.from_dict(d, where=f"{where}[{i}]") for i, d in enumerate(source)]
    labels = [f.label for f in out]
    dups = sorted({x for x in labels if labels.count(x) > 1})
    if dups:
        raise SpecError(f"{where}: repeated factor(s) {', '.join(dups)}", field=dups[0],
                        fix="give each factor a distinct address or a `name:`")
    return out


def tree_table(spec) -> pd.DataFrame:
    """The columns of ``spec.meta()`` the engine needs (code, parent, level, depth, weight, kind), fast.

    Same values as :meth:`IndexSpec.meta` (a test checks it), computed without pandas filtering so that
    many variants can be prepared quickly.
    """
    rows = [(spec.name, None, 0, 1.0, "aggregate")]
    kids: dict[str, list[str]] = {spec.name: []}
    for n, depth, parent in spec.walk():
        rows.append((n.code, parent, depth, spec.weight_of(n.code), "indicator" if n.indicator else "aggregate"))
        kids.setdefault(parent, []).append(n.code)
        kids.setdefault(n.code, [])
    height: dict[str, int] = {}

    def h(code: str) -> int:
        if code not in height:
            height[code] = 1 if not kids[code] else 1 + max(h(k) for k in kids[code])
        return height[code]

    df = pd.DataFrame(rows, columns=["code", "parent", "depth", "weight", "kind"])
    df["level"] = [h(c) for c in df.code]
    return df[["code", "parent", "level", "depth", "weight", "kind"]]


def _option_names() -> dict[str, set[str]]:
    from ..stages import aggregate as agg
    from ..stages import normalise as norm
    from ..stages import treat as trt

    return {"denominate": set(),
            "screen": {"min_availability", "max_zero_share", "force_include", "force_exclude", "action", "after"},
            "impute": {"method", "group_by", "then", "panel_method", "max_time", "max_gap"},
            "treat": {"method"} | set(trt.SPEC_OPTIONS),
            "normalise": {"method", "indiv", "ref_unit"} | set(norm.OPTIONS),
            "aggregate": {"method", "by_level", "min_share"} | set(agg.OPTIONS)}



class Design:
    """Factors compiled against a spec (or, with ``spec=None``, plain numeric factors of a function).

    Each factor occupies one dimension of the unit hypercube, except noise on weights, which takes one
    dimension per perturbed node (all in one SALib *group*, so Sobol'/Morris treat it as one factor).
    """

    def __init__(self, factors: Iterable[Any], spec: Any = None):
        if isinstance(factors, (str, Path)):
            factors = load_factors(factors)
        self.factors = [Factor.from_dict(f, where=f"factors[{i}]") for i, f in enumerate(factors)]
        if not self.factors:
            raise SpecError("no factors given", field="factors",
                            fix="give at least one factor, e.g. {address: aggregate.method, values: [arithmetic, geometric]}")
        self.spec = spec
        self.meta = tree_table(spec) if spec is not None else None
        self.codes = self.meta.code.tolist() if spec is not None else []
        self.dims: list[tuple[int, str | None]] = []   # (factor index, node code or None)
        self.noise_nodes: dict[int, list[str]] = {}
        if spec is not None:
            self._validate()
        for i, f in enumerate(self.factors):
            if f.kind == "noise":
                for c in self.noise_nodes[i]:
                    self.dims.append((i, c))
            else:
                self.dims.append((i, None))
        self.keyed = [i for i, f in enumerate(self.factors) if not f.is_weight]
        self.upstream = [i for i in self.keyed if self.factors[i].head != "aggregate"]

    # -- validation ---------------------------------------------------------------------------
    def _validate(self) -> None:
        spec, meta = self.spec, self.meta
        problems: list[Problem] = []
        opts = _option_names()
        nodes = [c for c in self.codes if c != spec.name]
        for i, f in enumerate(self.factors):
            head, _, rest = f.address.partition(".")
            if head not in HEADS:
                close = difflib.get_close_matches(head, HEADS, n=1)
                problems.append(Problem(f"unknown factor address '{f.address}'", field=f.address,
                                        fix=(f"did you mean {close[0]}?" if close else "")
                                        + f" addresses start with {', '.join(HEADS)}"))
                continue
            if head == "weights":
                if f.kind == "noise":
                    lv_all = sorted(set(meta.level[meta.code != spec.name]))
                    levels = list(f.levels) if f.levels is not None else lv_all
                    bad = [lv for lv in levels if lv not in lv_all]
                    if bad:
                        problems.append(Problem(f"factor 'weights': no level {bad[0]} below the root of "
                                                f"spec '{spec.name}'", field="weights.levels", value=bad,
                                                fix=f"use levels among {lv_all} (1 = indicators)"))
                        continue
                    self.noise_nodes[i] = meta.code[(meta.code != spec.name) & meta.level.isin(levels)].tolist()
                elif not rest or rest not in nodes:
                    close = difflib.get_close_matches(rest, nodes, n=3)
                    problems.append(Problem(f"factor '{f.address}': no node '{rest}' in spec '{spec.name}'",
                                            field=f.address, value=rest,
                                            fix=f"did you mean {', '.join(close)}?" if close else
                                            "use weights.<node code> or {address: weights, noise: ...}"))
                else:
                    vals = f.values if f.values is not None else f.range
                    if any(not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0 for v in vals):
                        problems.append(Problem(f"factor '{f.address}': weights must be numbers >= 0",
                                                field=f.address, value=[_thaw(v) for v in vals]))
                continue
            if head == "exclude":
                if rest or f.values is None:
                    problems.append(Problem(f"factor '{f.address}': use `address: exclude` with "
                                            "`values: [null, <node>, ...]`", field=f.address))
                    continue
                for v in f.values:
                    for c in ([] if v is None else _thaw(v) if isinstance(v, _Frozen) else [v]):
                        if c not in nodes:
                            close = difflib.get_close_matches(str(c), nodes, n=3)
                            problems.append(Problem(f"factor 'exclude': no node '{c}' in spec '{spec.name}'",
                                                    field="exclude", value=c,
                                                    fix=f"did you mean {', '.join(close)}?" if close else
                                                    "give node codes (indicators or pillars) or null"))
                continue
            # a stage, or a stage option
            if rest:
                key = rest.split(".", 1)[0]
                if head != "denominate" and key not in opts[head]:
                    close = difflib.get_close_matches(key, sorted(opts[head]), n=3)
                    problems.append(Problem(f"unknown factor address '{f.address}': '{key}' is not an "
                                            f"option of {head}", field=f.address, value=key,
                                            fix=f"did you mean {head}.{close[0]}?" if close else
                                            f"use one of: {', '.join(sorted(opts[head]))}"))
                    continue
            elif f.values is None or any(not isinstance(v, _Frozen) or v[0] != "dict" for v in f.values):
                problems.append(Problem(f"factor '{head}': a whole stage takes values that are stage "
                                        "mappings", field=head,
                                        fix=f"e.g. values: [{{method: minmax}}, {{method: zscore}}], or use {head}.method"))
                continue
            alts = f.values if f.values is not None else [f.range[0], f.range[1]]
            for v in alts:
                try:
                    spec.with_changes({f.address: _thaw(v)})
                except SpecError as e:
                    problems.append(Problem(f"factor '{f.address}': value {_thaw(v)!r} makes an invalid "
                                            f"spec: {e.message}", field=f.address, value=_thaw(v)))
        if problems:
            raise SpecError(f"factors do not fit spec '{spec.name}' ({len(problems)} problem(s))",
                            problems=problems)

    # -- SALib problem ----------------------------------------------------------------------
    @property
    def n_dims(self) -> int:
        return len(self.dims)

    def dim_names(self) -> list[str]:
        return [self.factors[i].label if c is None else f"{self.factors[i].label}[{c}]" for i, c in self.dims]

    def problem(self) -> dict[str, Any]:
        """A SALib problem over the unit hypercube, grouped by factor."""
        p: dict[str, Any] = {"num_vars": self.n_dims, "names": self.dim_names(),
                             "bounds": [[0.0, 1.0]] * self.n_dims}
        if any(c is not None for _, c in self.dims):
            p["groups"] = [self.factors[i].label for i, _ in self.dims]
        return p

    # -- decoding --------------------------------------------------------------------------
    def _col(self, i: int) -> int:
        return next(j for j, (k, _) in enumerate(self.dims) if k == i)

    def choice(self, i: int, u: np.ndarray) -> np.ndarray:
        """Index (discrete) or value (continuous) of factor ``i`` for uniform draws ``u``."""
        f = self.factors[i]
        u = np.asarray(u, dtype=float)
        if f.values is not None:
            k = len(f.values)
            return np.clip(np.floor(u * k), 0, k - 1).astype(np.int64)
        lo, hi = f.range
        if f.integer:
            lo_i, hi_i = math.ceil(lo), math.floor(hi)
            return np.clip(np.floor(lo_i + u * (hi_i - lo_i + 1)), lo_i, hi_i)
        return lo + u * (hi - lo)

    def value(self, i: int, c: Any) -> Any:
        f = self.factors[i]
        if f.values is not None:
            return _thaw(f.values[int(c)])
        return int(c) if f.integer else float(c)

    def values(self, U: np.ndarray) -> np.ndarray:
        """Numeric factor values ``(n_samples, n_factors)`` (for function models; no weight noise)."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        cols = []
        for i, f in enumerate(self.factors):
            if f.kind == "noise":
                raise SpecError("noise on weights needs a spec", field="weights")
            c = self.choice(i, U[:, self._col(i)])
            cols.append(np.array([self.value(i, x) for x in c], dtype=float) if f.values is not None else c)
        return np.column_stack(cols)

    def keys(self, U: np.ndarray) -> np.ndarray:
        """The discrete choices (non-weight factors) of each sample, ``(n_samples, n_keyed)``."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        if not self.keyed:
            return np.zeros((len(U), 0))
        return np.column_stack([self.choice(i, U[:, self._col(i)]).astype(float) for i in self.keyed])

    def keyed_changes(self, key: Sequence[float], which: Sequence[int] | None = None) -> dict[str, Any]:
        which = self.keyed if which is None else which
        pos = {i: j for j, i in enumerate(self.keyed)}
        return {self.factors[i].address: self.value(i, key[pos[i]]) for i in which}

    def base_weights(self) -> np.ndarray:
        """The spec's own weights of every node (meta order), as the build resolves them."""
        from ..spec.plan import base_weights

        w = base_weights(self.spec, self.meta)
        return np.array([w[c] for c in self.codes], dtype=float)

    def weights(self, U: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
        """The weight of every node (meta order) in each sample, ``(n_samples, n_nodes)``.

        ``base`` are the weights before the factors act (default :meth:`base_weights`).
        """
        U = np.atleast_2d(np.asarray(U, dtype=float))
        base = self.base_weights() if base is None else np.asarray(base, dtype=float)
        W = np.tile(base, (len(U), 1))
        pos = {c: j for j, c in enumerate(self.codes)}
        excl = []
        for i, f in enumerate(self.factors):
            if f.head == "weights" and f.kind != "noise":
                c = self.choice(i, U[:, self._col(i)])
                W[:, pos[f.address.split(".", 1)[1]]] = (np.array([self.value(i, x) for x in c], dtype=float)
                                                          if f.values is not None else c)
            elif f.head == "exclude":
                excl.append(i)
        for d, (i, c) in enumerate(self.dims):
            if c is not None:
                W[:, pos[c]] *= 1.0 + (2.0 * U[:, d] - 1.0) * self.factors[i].noise
        for i in excl:
            ch = self.choice(i, U[:, self._col(i)])
            for k, v in enumerate(self.factors[i].values):
                v = _thaw(v)
                drop = [] if v is None else (v if isinstance(v, list) else [v])
                for code in drop:
                    W[ch == k, pos[code]] = 0.0
        return W

    def changes(self, u: Sequence[float]) -> dict[str, Any]:
        """The spec changes (address -> value) one sample stands for; a naive rebuild applies these."""
        u = np.asarray(u, dtype=float)[None, :]
        out = self.keyed_changes(self.keys(u)[0])
        base = self.base_weights()
        W = self.weights(u, base)[0]
        for j, c in enumerate(self.codes):
            if c != self.spec.name and W[j] != base[j]:
                out[f"weights.{c}"] = float(W[j])
        return out

    def table(self, U: np.ndarray) -> pd.DataFrame:
        """One row per sample: the value of each factor (weight multipliers per node for noise)."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        cols: dict[str, Any] = {}
        for d, (i, c) in enumerate(self.dims):
            f = self.factors[i]
            if c is not None:
                cols[f"{f.label}[{c}]"] = 1.0 + (2.0 * U[:, d] - 1.0) * f.noise
            else:
                ch = self.choice(i, U[:, d])
                if f.values is not None:
                    names = [v if isinstance(v, (int, float, str)) or v is None else json.dumps(v)
                             for v in (_thaw(x) for x in f.values)]
                    cols[f.label] = [names[int(k)] for k in ch]
                else:
                    cols[f.label] = ch
        return pd.DataFrame(cols)
