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

import contextlib
import difflib
import json
import math
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ._util.ranks import rank_desc
from .errors import DataError, NotFoundError, Problem, SpecError

__all__ = [
    "Factor", "Design", "Engine", "FunctionModel", "UncertaintyResult", "SensitivityResult",
    "load_factors", "shipped_factors", "uncertainty", "sensitivity", "sensitivity_function",
    "naive_evaluate", "coinr_example", "ishigami", "sobol_g",
]

STAGE_HEADS = ("denominate", "screen", "impute", "treat", "normalise", "aggregate")
HEADS = STAGE_HEADS + ("weights", "exclude")
_FACTOR_KEYS = ("address", "values", "range", "integer", "noise", "levels", "name")


# ============================================================================================
# factors
# ============================================================================================

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
        from ._util.yamlsafe import load_yaml_file

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
    from .stages import aggregate as agg
    from .stages import normalise as norm
    from .stages import treat as trt

    return {"denominate": set(),
            "screen": {"min_availability", "max_zero_share", "force_include", "force_exclude", "action", "after"},
            "impute": {"method", "group_by", "then", "panel_method", "max_time", "max_gap"},
            "treat": {"method"} | set(trt.SPEC_OPTIONS),
            "normalise": {"method", "indiv", "ref_unit"} | set(norm.OPTIONS),
            "aggregate": {"method", "by_level", "min_share"} | set(agg.OPTIONS)}


# ============================================================================================
# the design: factors compiled against a spec, mapping unit-hypercube samples to choices
# ============================================================================================

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
        from .spec.plan import base_weights

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


# ============================================================================================
# models: the engine over a spec, and plain functions
# ============================================================================================

class Engine:
    """Evaluate many variants of an index at once.

    Parameters
    ----------
    spec : IndexSpec
    panel : Panel
        The raw data the nominal build started from.
    factors : list
        Factors (dicts, :class:`Factor`) or a :class:`Design`.
    unit_meta, directions : optional
        As :func:`digimeter.build.compute` takes them (``Index.params`` holds both).
    nodes : "aggregates" | "all" | list of codes
        Which nodes :meth:`evaluate` returns (indicator nodes give normalised values).
    """

    def __init__(self, spec, panel, factors, *, unit_meta: pd.DataFrame | None = None,
                 directions: dict[str, int] | None = None, history: pd.DataFrame | None = None,
                 fixed: dict[str, Any] | None = None, nodes: Any = "aggregates"):
        self.spec = spec
        self.panel = panel
        self.history = history
        self.fixed = fixed
        self.fast = True
        self.data_weights = spec.weight_method in ("pca", "optimised")
        self.design = factors if isinstance(factors, Design) else Design(factors, spec)
        self.unit_meta = unit_meta
        self.directions = directions
        self.meta = self.design.meta
        self.codes = self.meta.code.tolist()
        self.units = list(panel.values.index)
        self.ind_codes = [n.code for n in spec.indicator_nodes()]
        self.agg_codes = [c for c in self.codes if c not in set(self.ind_codes)]
        if isinstance(nodes, str) and nodes == "aggregates":
            self.out_nodes = list(self.agg_codes)
        elif isinstance(nodes, str) and nodes == "all":
            self.out_nodes = list(self.codes)
        else:
            nodes = [nodes] if isinstance(nodes, str) else list(nodes)
            bad = [c for c in nodes if c not in self.codes]
            if bad:
                raise SpecError(f"no node '{bad[0]}' in spec '{spec.name}'", field="nodes", value=bad[0],
                                fix=f"use one of: {', '.join(self.agg_codes)}")
            self.out_nodes = nodes
        self.n_compute = 0
        self._upstream: dict[tuple, Any] = {}
        self._plans: dict[tuple, list] = {}

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_upstream"], d["_plans"], d["_struct"] = {}, {}, None
        return d

    @classmethod
    def from_index(cls, index, factors, *, nodes: Any = "aggregates") -> "Engine":
        """An engine over the data and settings of a built index.

        Checks once that the engine's stage pipeline reproduces the index's normalised data; if the
        build has moved on in a way the engine does not mirror, every upstream choice is computed
        with :func:`digimeter.build.compute` itself (slower, same numbers).
        """
        p = index.params
        eng = cls(index.spec, index.panel, factors, unit_meta=p.get("unit_meta"), directions=p.get("directions"),
                  history=p.get("history"), fixed=p.get("fixed"), nodes=nodes)
        try:
            mine = eng._stages_fast(index.spec, p.get("fixed"))
            ref = index.stages["normalised"]
            eng.fast = (mine.shape == ref.shape and list(mine.index) == list(ref.index)
                        and np.array_equal(mine.to_numpy(dtype=float), ref.to_numpy(dtype=float), equal_nan=True))
        except Exception:  # noqa: BLE001 - any mismatch means: use compute
            eng.fast = False
        return eng

    # -- cached pieces -----------------------------------------------------------------------
    def _sub(self, key: tuple, heads: tuple[str, ...]) -> tuple:
        return tuple(key[j] for j, i in enumerate(self.design.keyed) if self.design.factors[i].head in heads)

    def _spec_for(self, key: tuple, heads: tuple[str, ...]):
        which = [i for i in self.design.keyed if self.design.factors[i].head in heads]
        changes = self.design.keyed_changes(key, which)
        if not changes:
            return self.spec, changes
        try:
            return self.spec.with_changes(changes), changes
        except SpecError as e:
            raise SpecError(f"the factor choice {changes} makes an invalid spec: {e.message}",
                            problems=e.problems) from e

    def _stages_fast(self, spec, fixed, cache_key: tuple | None = None) -> pd.DataFrame:
        """Denominate -> screen -> impute -> treat -> normalise, by the build's own public stages.

        :func:`digimeter.build.prepare` runs the stages up to treatment (cached per upstream choice)
        and :func:`digimeter.build.normalise_stage` the normalisation, so the order and the methods
        are those of :func:`digimeter.build.compute`, by construction.
        """
        from . import build as B

        tkey = ("treated",) + cache_key if cache_key is not None else None
        if tkey is not None and tkey in self._upstream:
            x_tr, dirs = self._upstream[tkey]
        else:
            p = B.prepare(spec, self.panel, unit_meta=self.unit_meta, directions=self.directions,
                          history=self.history, until="treated")
            x_tr, dirs = p.stages["treated"], p.direction_array
            if tkey is not None:
                self._upstream[tkey] = (x_tr, dirs)
                self.n_compute += 1
        normalised, _ = B.normalise_stage(spec, x_tr, dirs, (fixed or {}).get("normalise"))
        return normalised

    def _prepared(self, key: tuple) -> tuple[np.ndarray, np.ndarray]:
        """(normalised indicators for all panel units, base node weights) for the choices ``key``.

        Computed once per distinct upstream choice (screen, impute, treat, normalise ...) and reused;
        with data-driven weights (PCA, optimised) once per distinct choice of everything.
        """
        heads = tuple(h for h in STAGE_HEADS if h != "aggregate" or self.data_weights)
        sub = self._sub(key, heads)
        if sub not in self._upstream:
            spec, changes = self._spec_for(key, heads)
            fixed = self.fixed if spec.normalise == self.spec.normalise else None
            try:
                if self.fast and not self.data_weights:
                    from .spec.plan import base_weights

                    normalised = self._stages_fast(spec, fixed, self._sub(key, ("denominate", "screen", "impute", "treat")))
                    w = base_weights(spec, self.meta)
                else:
                    from .build import compute

                    ix = compute(spec, self.panel, unit_meta=self.unit_meta, directions=self.directions,
                                 history=self.history, fixed=fixed)
                    normalised, w = ix.stages["normalised"], ix.params["weights"].to_dict()
                    self.n_compute += 1
            except SpecError as e:
                if not changes:
                    raise
                raise SpecError(f"the factor choice {changes} fails: {e.message}", problems=e.problems) from e
            arr = normalised.reindex(index=self.units)[self.ind_codes].to_numpy(dtype=float)
            self._upstream[sub] = (arr, np.array([w[c] for c in self.codes], dtype=float))
        return self._upstream[sub]

    def _plan(self, key: tuple) -> tuple:
        """The aggregation steps of the variant spec (:func:`digimeter.spec.plan.aggregate_steps`, as the build)."""
        sub = self._sub(key, ("aggregate",))
        if sub not in self._plans:
            from .spec.plan import aggregate_steps

            spec, _ = self._spec_for(key, ("aggregate",))
            self._plans[sub] = aggregate_steps(spec, self.meta)
        return self._plans[sub]

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, U: np.ndarray) -> np.ndarray:
        """Scores ``(n_samples, n_units, n_out_nodes)`` for unit-hypercube samples ``U`` (n_samples, n_dims)."""
        U = np.atleast_2d(np.asarray(U, dtype=float))
        S = len(U)
        out = np.full((S, len(self.units), len(self.out_nodes)), np.nan)
        if S == 0:
            return out
        keys = self.design.keys(U)
        if keys.shape[1]:
            uniq, inv = np.unique(keys, axis=0, return_inverse=True)
            inv = inv.reshape(-1)
        else:
            uniq, inv = np.zeros((1, 0)), np.zeros(S, dtype=np.int64)
        from .stages import tree

        ind_pos = {c: j for j, c in enumerate(self.ind_codes)}
        for g, key in enumerate(uniq):
            rows = np.flatnonzero(inv == g)
            key_t = tuple(float(v) for v in key)
            x_ind, base = self._prepared(key_t)                   # (n_units, n_ind), (n_nodes,)
            Wg = self.design.weights(U[rows], base)               # (S_g, n_nodes)
            vals: dict[str, np.ndarray] = {c: x_ind[:, ind_pos[c]] for c in self.ind_codes}
            weights = {c: Wg[:, j] for j, c in enumerate(self.codes)}
            vals, _ = tree.evaluate(self._plan(key_t), vals, weights)
            for j, c in enumerate(self.out_nodes):
                out[rows, :, j] = vals[c]
        return out


class FunctionModel:
    """A plain function of numeric factors, evaluated through the same design as an index.

    ``func(values)`` takes the decoded factor values ``(n_samples, n_factors)`` and returns
    ``(n_samples,)`` or ``(n_samples, n_outputs)``.
    """

    def __init__(self, func: Callable[[np.ndarray], np.ndarray], factors: Iterable[Any]):
        self.func = func
        self.design = factors if isinstance(factors, Design) else Design(factors, None)

    def evaluate(self, U: np.ndarray) -> np.ndarray:
        y = np.asarray(self.func(self.design.values(U)), dtype=float)
        return y.reshape(len(y), -1)


def naive_evaluate(index, factors, U: np.ndarray, *, nodes: Any = "aggregates") -> np.ndarray:
    """The reference: one full rebuild per sample (``Index.variant``), in a plain loop.

    Returns scores shaped like :meth:`Engine.evaluate` (units screened out are NaN).
    """
    eng = Engine.from_index(index, factors, nodes=nodes)
    U = np.atleast_2d(np.asarray(U, dtype=float))
    out = np.full((len(U), len(eng.units), len(eng.out_nodes)), np.nan)
    for s, u in enumerate(U):
        ix = index.variant(eng.design.changes(u))
        out[s] = ix.scores.reindex(index=eng.units)[eng.out_nodes].to_numpy(dtype=float)
    return out


# ============================================================================================
# running chunks locally or on Dask
# ============================================================================================

def _eval_chunk(model, U: np.ndarray, reducer=None):
    y = model.evaluate(U)
    return reducer(y) if reducer is not None else y


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None, client: Any):
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


def _progress(enabled: bool, total: int, what: str):
    if not enabled:
        return contextlib.nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    p = Progress(TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TextColumn("samples"),
                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
    return p


def _run(model, U: np.ndarray, *, chunk_size: int, reducer=None, workers=None, scheduler=None,
         client=None, progress: bool = False, what: str = "evaluating") -> list:
    """Evaluate ``U`` chunk by chunk (fixed boundaries), locally or on Dask; results in chunk order."""
    bounds = [(a, min(a + chunk_size, len(U))) for a in range(0, len(U), chunk_size)]
    results: list = [None] * len(bounds)
    with _progress(progress, len(U), what) as bar, _client(workers, scheduler, client) as c:
        task = bar.add_task(what, total=len(U)) if bar is not None else None
        if c is None:
            for k, (a, b) in enumerate(bounds):
                results[k] = _eval_chunk(model, U[a:b], reducer)
                if bar is not None:
                    bar.advance(task, b - a)
        else:
            from distributed import as_completed

            mf = c.scatter(model, broadcast=True)
            futs = {c.submit(_eval_chunk, mf, U[a:b], reducer, pure=False): k for k, (a, b) in enumerate(bounds)}
            for fut in as_completed(list(futs)):
                k = futs[fut]
                results[k] = fut.result()
                if bar is not None:
                    bar.advance(task, bounds[k][1] - bounds[k][0])
    return results


def _chunk_size(n_units: int, n_out: int, chunk_size: int | None) -> int:
    if chunk_size:
        return int(chunk_size)
    return int(max(256, min(20000, 4_000_000 // max(1, n_units * max(n_out, 1)))))


# ============================================================================================
# uncertainty analysis
# ============================================================================================

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
    cs = _chunk_size(len(units), len(out_nodes), chunk_size)
    if exact is None:
        exact = n * len(units) * len(out_nodes) * 8 < 400e6
    if exact:
        parts = _run(eng, U, chunk_size=cs, workers=workers, scheduler=scheduler, client=client,
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
        parts = _run(eng, U, chunk_size=cs, reducer=_Hist(nom_ranks, edges), workers=workers,
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


# ============================================================================================
# sensitivity analysis
# ============================================================================================

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
        return _sobol_indices(Y, labels, names, seed, num_resamples, conf_level)
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


def _sobol_indices(Y: np.ndarray, labels: list[str], names: list[str], seed, num_resamples: int,
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
    parts = _run(model, X, chunk_size=max(1, len(X)), workers=workers, scheduler=scheduler, client=client)
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
    cs = _chunk_size(len(eng.units), 1, chunk_size)
    parts = _run(eng, X, chunk_size=cs, workers=workers, scheduler=scheduler, client=client,
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


# ============================================================================================
# analytic test functions (known Sobol' indices)
# ============================================================================================

def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami function ``sin x1 + a sin^2 x2 + b x3^4 sin x1`` on ``[-pi, pi]^3``.

    Analytic indices (a=7, b=0.1): S1 = (0.3139, 0.4424, 0), ST = (0.5576, 0.4424, 0.2437).
    Reference: Ishigami, T. & Homma, T. (1990), https://doi.org/10.1109/ISUMA.1990.151285
    """
    x = np.asarray(x, dtype=float)
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> pd.DataFrame:
    """Analytic first- and total-order indices of :func:`ishigami`."""
    v1 = 0.5 * (1 + b * np.pi ** 4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = b ** 2 * np.pi ** 8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return pd.DataFrame({"S1": [v1 / v, v2 / v, 0.0], "ST": [(v1 + v13) / v, v2 / v, v13 / v]},
                        index=["x1", "x2", "x3"])


def sobol_g(x: np.ndarray, a: Sequence[float] = (0, 1, 4.5, 9, 99, 99, 99, 99)) -> np.ndarray:
    """Sobol' G function ``prod (|4 x_i - 2| + a_i) / (1 + a_i)`` on ``[0, 1]^d``.

    Reference: Saltelli, A. & Sobol', I. M. (1995), https://doi.org/10.1016/0951-8320(95)00099-2
    """
    x = np.asarray(x, dtype=float)
    a = np.asarray(a, dtype=float)
    return np.prod((np.abs(4 * x - 2) + a) / (1 + a), axis=1)


def sobol_g_indices(a: Sequence[float] = (0, 1, 4.5, 9, 99, 99, 99, 99)) -> pd.DataFrame:
    """Analytic first- and total-order indices of :func:`sobol_g`."""
    a = np.asarray(a, dtype=float)
    vi = 1.0 / (3 * (1 + a) ** 2)
    v = np.prod(1 + vi) - 1
    st = vi * np.array([np.prod(np.delete(1 + vi, i)) for i in range(len(a))]) / v
    return pd.DataFrame({"S1": vi / v, "ST": st}, index=[f"x{i + 1}" for i in range(len(a))])


# ============================================================================================
# COINr's ASEM example as a spec + panel (parity tests, benchmarks)
# ============================================================================================

def coinr_example(folder: str | Path, *, repeat: int = 1):
    """COINr's ASEM example (``input_iData.csv``, ``input_iMeta.csv``) as ``(spec, panel, unit_meta)``.

    The panel holds the *denominated* indicators (COINr's first step); the spec imputes by the
    ``EurAsia_group`` mean, treats outliers (winmax 5), min-max normalises to [0, 100] and aggregates with
    arithmetic means, as ``build_example_coin()``. ``repeat`` stacks the units that many times
    (``AUT_2`` ...) for scale tests.
    """
    from .panel import Panel
    from .spec import parse_spec

    folder = Path(folder)
    data = pd.read_csv(folder / "input_iData.csv")
    im = pd.read_csv(folder / "input_iMeta.csv")
    ind = im[im.Type == "Indicator"]
    aggm = im[im.Type == "Aggregate"]
    root = aggm[aggm.Level == aggm.Level.max()].iCode.iloc[0]

    def node(code):
        r = im[im.iCode == code].iloc[0]
        if r.Type == "Indicator":
            return {"code": code, "name": r.iName, "indicator": code, "weight": float(r.Weight),
                    "direction": int(r.Direction)}
        return {"code": code, "name": r.iName, "weight": float(r.Weight),
                "children": [node(c) for c in im.iCode[im.Parent == code]]}

    spec = parse_spec({"name": root, "title": "ASEM Sustainable Connectivity (COINr example)", "year": 2018,
                       "impute": {"method": "mean_group", "group_by": "EurAsia_group"},
                       "treat": {"method": "coinr", "winmax": 5},
                       "normalise": {"method": "minmax", "range": [0, 100]},
                       "aggregate": {"method": "arithmetic"},
                       "tree": [node(c) for c in im.iCode[im.Parent == root]]}, source="coinr-asem")
    x = data.set_index("uCode")[ind.iCode.tolist()].astype(float)
    for _, r in ind.dropna(subset=["Denominator"]).iterrows():
        x[r.iCode] = x[r.iCode] / data.set_index("uCode")[r.Denominator]
    groups = data.set_index("uCode")[["uName", "EurAsia_group", "GDP_group"]].rename(columns={"uName": "name"})
    if repeat > 1:
        x = pd.concat([x.set_axis([f"{u}_{k}" if k else u for u in x.index]) for k in range(repeat)])
        groups = pd.concat([groups.set_axis([f"{u}_{k}" if k else u for u in groups.index]) for k in range(repeat)])
    x.index.name = "unit"
    x.columns.name = "indicator"
    years = pd.DataFrame(2018, index=x.index, columns=x.columns).where(x.notna())
    panel = Panel(values=x, years=years, origins=pd.DataFrame(index=x.index, columns=x.columns), year=2018,
                  window=0)
    return spec, panel, groups
