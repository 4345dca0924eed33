"""Index specs: the YAML description of an index, validated with pydantic.

A spec is a tree of nodes (index -> pillars -> sub-pillars -> indicators) of any depth, a weight per
node, a direction and optional goalposts per indicator, one method per stage (screen, impute, treat,
normalise, aggregate), the year and a ``year_window``. Every setting has an *address*
(``normalise.method``, ``aggregate.method``, ``weights.connectivity``, ``year``) so that a variant or an
uncertainty factor can change it.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import NotFoundError, Problem, SpecError
from ..stages import weight as _weight

STAGES = ("denominate", "screen", "impute", "treat", "normalise", "weights", "aggregate")

#: keys of ``weights`` that are settings of the weighting method rather than node codes
WEIGHT_SETTINGS = ("method", "level", "target", "objective", "cortype", "maxiter", "tol")
#: weights.method: the names the weight kernel owns (digimeter.stages.weight.METHODS; aliases there too)
WEIGHT_METHODS = tuple(_weight.METHODS)


class Node(BaseModel):
    """A point of the spec's tree: an aggregate (has ``children``) or an indicator (has ``indicator``)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1)
    name: str | None = None
    weight: float = Field(default=1.0, ge=0)
    indicator: str | None = None
    direction: Literal[1, -1] | None = None
    goalposts: tuple[float, float] | None = None
    target: float | None = None
    aggregate: str | None = None
    description: str | None = None
    source: str | None = None
    children: list["Node"] = Field(default_factory=list)

    @model_validator(mode="after")
    def _leaf_or_branch(self) -> "Node":
        if self.children and self.indicator:
            raise ValueError(f"node '{self.code}' has both children and an indicator; "
                             "an indicator node is a leaf, move the children to a pillar")
        if not self.children and not self.indicator:
            raise ValueError(f"node '{self.code}' has neither children nor an indicator; "
                             f"add `indicator: <code>` or `children: [...]`")
        if self.goalposts is not None and self.goalposts[0] == self.goalposts[1]:
            raise ValueError(f"node '{self.code}' has equal goalposts {list(self.goalposts)}; "
                             "give [lower, upper] with lower != upper")
        return self

    def walk(self, depth: int = 0, parent: str | None = None):
        yield self, depth, parent
        for c in self.children:
            yield from c.walk(depth + 1, self.code)


class UnitFilter(BaseModel):
    """Which units take part in the index."""

    model_config = ConfigDict(extra="forbid")

    kind: str | list[str] = "country"
    parent: str | None = None
    un_member: bool | None = None
    include: list[str] | None = None
    exclude: list[str] = Field(default_factory=list)


class IndexSpec(BaseModel):
    """A validated index spec. Load with :func:`load_spec`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    title: str | None = None
    description: str | None = None
    source: str | None = None
    year: int = Field(ge=1900, le=2100)
    year_window: int = Field(default=0, ge=0, le=50)
    units: UnitFilter = Field(default_factory=UnitFilter)
    denominate: dict[str, Any] = Field(default_factory=dict)
    screen: dict[str, Any] = Field(default_factory=lambda: {"min_availability": 0.0})
    impute: dict[str, Any] = Field(default_factory=lambda: {"method": "none"})
    treat: dict[str, Any] = Field(default_factory=lambda: {"method": "none"})
    normalise: dict[str, Any] = Field(default_factory=lambda: {"method": "minmax", "range": [0, 100]})
    aggregate: dict[str, Any] = Field(default_factory=lambda: {"method": "arithmetic"})
    weights: dict[str, Any] = Field(default_factory=dict)
    published: dict[str, Any] | None = None
    tree: list[Node] = Field(min_length=1)

    @field_validator("impute", "treat", "normalise", "aggregate")
    @classmethod
    def _has_method(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "method" not in v:
            raise ValueError("a stage needs a `method` (e.g. `normalise: {method: minmax}`)")
        return v

    @model_validator(mode="after")
    def _check_tree(self) -> "IndexSpec":
        seen: dict[str, int] = {}
        for node, _, _ in self.walk():
            seen[node.code] = seen.get(node.code, 0) + 1
        dups = [c for c, n in seen.items() if n > 1]
        if dups:
            raise ValueError(f"node codes must be unique; repeated: {', '.join(dups)}")
        if self.name in seen:
            raise ValueError(f"the spec's name '{self.name}' is also a node code; rename one of them")
        unknown = [k for k in self.weights if k not in seen and k not in WEIGHT_SETTINGS]
        if unknown:
            raise ValueError(f"weights given for unknown nodes: {', '.join(unknown)}")
        for k, w in self.weights.items():
            if k in WEIGHT_SETTINGS and k not in seen:
                continue
            if isinstance(w, bool) or not isinstance(w, (int, float)):
                raise ValueError(f"weight of '{k}' must be a number, not {w!r}")
            if w < 0:
                raise ValueError(f"weight of '{k}' is negative ({w}); weights must be >= 0")
        wm = self.weights.get("method", "custom") if "method" not in seen else "custom"
        if isinstance(wm, str) and wm in _weight.ALIASES and "method" not in seen:
            self.weights["method"] = wm = _weight.ALIASES[wm]
        if wm not in WEIGHT_METHODS:
            raise ValueError(f"weights.method {wm!r} is not one of {', '.join(WEIGHT_METHODS)}")
        leaves = {n.code for n in self.indicator_nodes()}
        for k, v in self.denominate.items():
            if k == "scale" and k not in seen:
                continue
            if k not in leaves:
                raise ValueError(f"denominate names '{k}', which is not an indicator node")
            den = v.get("by") if isinstance(v, dict) else v
            if not isinstance(den, str) or not den:
                raise ValueError(f"denominate.{k} must name a denominator indicator "
                                 "(e.g. population) or be {by: population, scale: 1000}")
        return self

    # -- tree access -------------------------------------------------------------------------
    def walk(self):
        """Yield ``(node, depth, parent_code)`` for every node below the root, depth-first."""
        for n in self.tree:
            yield from n.walk(1, self.name)

    def nodes(self) -> dict[str, Node]:
        return {n.code: n for n, _, _ in self.walk()}

    def indicator_nodes(self) -> list[Node]:
        return [n for n, _, _ in self.walk() if n.indicator]

    def weight_of(self, code: str) -> float:
        """The node's relative weight: a numeric ``weights.<code>`` override, else the node's own."""
        w = self.weights.get(code)
        if w is None or isinstance(w, (str, dict, list, bool)):
            return float(self.nodes()[code].weight)
        return float(w)

    @property
    def weight_method(self) -> str:
        """``custom`` (node weights and overrides), ``equal``, ``pca`` or ``optimised``."""
        return str(self.weights.get("method", "custom")) if "method" not in self.nodes() else "custom"

    def denominators(self) -> dict[str, tuple[str, float]]:
        """``{indicator node: (denominator indicator, scale)}`` from the ``denominate`` stage."""
        d = dict(self.denominate)
        glob = d.pop("scale", 1.0) if "scale" not in self.nodes() else 1.0
        out = {}
        for k, v in d.items():
            if isinstance(v, dict):
                out[k] = (str(v["by"]), float(v.get("scale", glob)))
            else:
                out[k] = (str(v), float(glob))
        return out

    def meta(self) -> pd.DataFrame:
        """The tree as a table (see docs/CONTRACTS.md): one row per node, root included.

        Levels count up from the indicators (1) as in COINr; depth counts down from the root (0).
        """
        rows = [{"code": self.name, "name": self.title or self.name, "parent": None, "depth": 0,
                 "weight": 1.0, "direction": None, "kind": "aggregate", "indicator": None,
                 "goalpost_lo": float("nan"), "goalpost_hi": float("nan")}]
        numeric = {k: float(v) for k, v in self.weights.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool)}
        for n, depth, parent in self.walk():
            rows.append({"code": n.code, "name": n.name or n.code, "parent": parent, "depth": depth,
                         "weight": numeric.get(n.code, float(n.weight)), "direction": n.direction,
                         "kind": "indicator" if n.indicator else "aggregate", "indicator": n.indicator,
                         "goalpost_lo": n.goalposts[0] if n.goalposts else float("nan"),
                         "goalpost_hi": n.goalposts[1] if n.goalposts else float("nan")})
        df = pd.DataFrame(rows)
        kids: dict[str, list[str]] = {}
        for r in rows[1:]:
            kids.setdefault(r["parent"], []).append(r["code"])
        height: dict[str, int] = {}

        def h(code: str) -> int:
            if code not in height:
                ks = kids.get(code, [])
                height[code] = 1 if not ks else 1 + max(h(k) for k in ks)
            return height[code]

        df["level"] = [h(c) for c in df.code]
        return df[["code", "name", "parent", "level", "depth", "weight", "direction", "kind",
                   "indicator", "goalpost_lo", "goalpost_hi"]]

    # -- addresses -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def get(self, address: str) -> Any:
        """The value at an address such as ``normalise.method`` or ``weights.connectivity``."""
        head, _, rest = address.partition(".")
        if head == "weights" and rest and rest in WEIGHT_SETTINGS and rest not in self.nodes():
            return self.weights.get(rest)
        if head == "weights" and rest:
            if rest not in self.nodes():
                raise SpecError(f"no node '{rest}' in spec '{self.name}'", field=address,
                                fix=_suggest(rest, self.nodes()))
            return self.weight_of(rest)
        d: Any = self.to_dict()
        for part in address.split("."):
            if not isinstance(d, dict) or part not in d:
                return None
            d = d[part]
        return d

    def with_changes(self, changes: dict[str, Any] | None = None, **kw: Any) -> "IndexSpec":
        """A new spec with settings changed by address (``{"normalise.method": "zscore"}``).

        A whole stage can be replaced too (``{"normalise": {"method": "zscore"}}``).
        """
        changes = dict(changes or {}, **kw)
        d = copy.deepcopy(self.to_dict())
        for address, value in changes.items():
            parts = address.split(".")
            if parts[0] not in IndexSpec.model_fields:
                raise SpecError(f"unknown setting '{address}'", field=address,
                                fix=f"use one of: {', '.join(sorted(IndexSpec.model_fields))} "
                                    "(with .key for stage options, e.g. normalise.method)")
            if (parts[0] == "weights" and len(parts) == 2 and parts[1] not in self.nodes()
                    and parts[1] not in WEIGHT_SETTINGS):
                raise SpecError(f"no node '{parts[1]}' in spec '{self.name}'", field=address,
                                fix=_suggest(parts[1], self.nodes()))
            target = d
            for p in parts[:-1]:
                target = target.setdefault(p, {})
                if not isinstance(target, dict):
                    raise SpecError(f"cannot set '{address}': '{p}' is not a mapping", field=address)
            target[parts[-1]] = value
        return parse_spec(d, source=f"{self.name} (variant)")


def node_directions(spec: "IndexSpec", ind_meta: dict[str, dict]) -> dict[str, int]:
    """Each indicator node's direction: the node's ``direction``, else the indicator's
    ``higher_is_better`` in the store (``ind_meta[indicator]``: a store indicator row).

    An indicator created by a data update carries no direction (NULL): a spec that uses it must say
    which way is better, so no direction is ever assumed. Raises :class:`SpecError` naming the nodes.
    """
    out: dict[str, int] = {}
    unknown = []
    for n in spec.indicator_nodes():
        if n.direction is not None:
            out[n.code] = int(n.direction)
            continue
        hib = ind_meta[n.indicator].get("higher_is_better")
        if hib is None or hib is pd.NA or (isinstance(hib, float) and hib != hib):
            unknown.append(n)
            continue
        out[n.code] = 1 if bool(hib) else -1
    if unknown:
        raise SpecError(
            f"spec '{spec.name}': which way is better is not known for node(s) "
            f"{', '.join(f'{n.code} ({n.indicator})' for n in unknown)}: the indicator came from a data "
            "update without a direction", field="direction", value=[n.code for n in unknown],
            fix="add `direction: 1` (higher is better) or `direction: -1` to the node, or import an "
                "indicators file that gives higher_is_better")
    return out


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3)
    return f"did you mean {', '.join(close)}?" if close else f"choose one of: {', '.join(sorted(choices))}"


def _loc_to_path(loc: tuple, data: dict) -> str:
    """Turn pydantic's location into a readable path naming node codes: tree > connectivity > weight."""
    parts: list[str] = []
    cur: Any = data
    for item in loc:
        if isinstance(cur, list) and isinstance(item, int) and item < len(cur):
            cur = cur[item]
            code = cur.get("code") if isinstance(cur, dict) else None
            parts.append(f"node '{code}'" if code else f"[{item}]")
            continue
        if isinstance(cur, dict) and item in cur:
            cur = cur[item]
        else:
            cur = None
        if item not in ("tree", "children"):
            parts.append(str(item))
    return " > ".join(parts) if parts else "(spec)"


def parse_spec(data: Any, *, source: str = "<spec>") -> IndexSpec:
    """Validate a spec given as a dict; raise :class:`SpecError` naming every culprit."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a spec must be a YAML mapping with name, year and tree",
                        file=source, fix="see src/digimeter/data/specs/egdi.yaml for an example")
    try:
        return IndexSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            path = _loc_to_path(tuple(e["loc"]), data)
            msg = e["msg"].removeprefix("Value error, ")
            fix = None
            if e["type"] == "extra_forbidden":
                allowed = (Node.model_fields if "node" in path else IndexSpec.model_fields)
                fix = _suggest(str(e["loc"][-1]), allowed)
                msg = f"unknown field '{e['loc'][-1]}'"
            elif e["type"] == "missing":
                fix = f"add `{e['loc'][-1]}:`"
            problems.append(Problem(msg, file=source, field=path,
                                    value=e.get("input") if e["type"] != "missing" and not isinstance(e.get("input"), (dict, list)) else None,
                                    fix=fix))
        raise SpecError(f"{source}: invalid spec ({len(problems)} problem(s))", problems=problems) from None


def shipped_specs() -> dict[str, Path]:
    """The specs bundled with digimeter, by name."""
    folder = Path(str(resources.files("digimeter") / "data" / "specs"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_spec(name_or_path: str | Path) -> IndexSpec:
    """Load a shipped spec by name (``egdi``, ``digital-nation``) or a YAML file by path."""
    if isinstance(name_or_path, IndexSpec):
        return name_or_path
    p = Path(name_or_path)
    shipped = shipped_specs()
    if str(name_or_path) in shipped:
        p = shipped[str(name_or_path)]
    elif not p.exists():
        raise NotFoundError(f"no spec named '{name_or_path}' and no such file",
                            value=str(name_or_path),
                            fix=f"use a shipped spec ({', '.join(shipped)}) or a path to a YAML file")
    from .._util.yamlsafe import load_yaml_file

    data = load_yaml_file(p)   # no aliases, bounded depth; errors name the file and line
    return parse_spec(data, source=str(p))
