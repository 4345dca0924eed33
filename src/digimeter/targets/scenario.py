"""The scenario schema: targets and scenarios (YAML, validated with pydantic), their loading and the
shipped scenarios (``data/scenarios``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import NotFoundError, Problem, SpecError

__all__ = ["RankScore", "RankScoreRef", "UnitGroup", "Target", "Scenario", "parse_scenario", "shipped_scenarios",
           "load_scenario"]


class RankScore(BaseModel):
    """A threshold defined as the score of the ``rank``-th best unit of ``spec`` (in ``year``,
    default the spec's own year, i.e. the latest edition)."""

    model_config = ConfigDict(extra="forbid")
    spec: str
    rank: int = Field(ge=1)
    node: str | None = None
    year: int | None = None


class RankScoreRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank_score: RankScore


class UnitGroup(BaseModel):
    """Every unit of a kind under a parent (``{parent: KAZ, kind: region}``)."""

    model_config = ConfigDict(extra="forbid")
    parent: str
    kind: str = "region"


class Target(BaseModel):
    """One target: ``<measure of unit(s)> <comparator> <threshold>`` by ``deadline``.

    ``met`` says when it counts as met: ``hold`` (default) judges the state in the deadline year (a
    target met today that slips back by then is not met); ``reach`` counts it met if it is met in any
    year up to the deadline (a one-off milestone, e.g. "launch the service by 2027").
    """

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    name: str | None = None
    kind: Literal["indicator", "score", "rank"] = "indicator"
    indicator: str | None = None
    spec: str | None = None
    node: str | None = None
    unit: str | None = None
    units: UnitGroup | None = None
    comparator: Literal[">=", "<=", ">", "<"] = ">="
    threshold: Union[float, RankScoreRef]
    deadline: int = Field(ge=2000, le=2100)
    #: what "met" means: ``hold`` (the state in the deadline year) or ``reach`` (in any year up to the
    #: deadline, for one-off milestones)
    met: Literal["hold", "reach"] = "hold"
    source: str = Field(min_length=1)
    rationale: str = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self):
        if self.kind == "indicator":
            if not self.indicator:
                raise ValueError("an indicator target needs `indicator:` (e.g. internet_users_pct)")
            if self.spec:
                raise ValueError("`spec:` is for score and rank targets; drop it or set kind: score")
            if isinstance(self.threshold, RankScoreRef):
                raise ValueError("a rank_score threshold needs kind: score")
        else:
            if not self.spec:
                raise ValueError(f"a {self.kind} target needs `spec:` (e.g. egdi)")
            if self.indicator:
                raise ValueError(f"a {self.kind} target takes `spec:` (+ `node:`), not `indicator:`")
        if self.kind == "rank":
            if isinstance(self.threshold, RankScoreRef) or float(self.threshold) != int(self.threshold) \
                    or self.threshold < 1:
                raise ValueError("a rank threshold is a whole number >= 1 (e.g. 25 for the top 25)")
            if self.comparator not in ("<=", "<"):
                raise ValueError("a rank target reads 'rank <= k' (1 = best); use comparator: '<='")
        if (self.unit is None) == (self.units is None):
            raise ValueError("give exactly one of `unit:` (e.g. KAZ) or `units: {parent: KAZ, kind: region}`")
        if self.units is not None and self.kind != "indicator":
            raise ValueError("group targets (`units:`) are only supported for indicators")
        return self


class Scenario(BaseModel):
    """A named set of targets."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    title: str | None = None
    description: str | None = None
    promise: str | None = None
    baseline_year: int | None = None
    targets: list[Target] = Field(min_length=1)

    @field_validator("targets")
    @classmethod
    def _unique(cls, v):
        ids = [t.id for t in v]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"target ids must be unique; repeated: {', '.join(dup)}")
        return v

    @property
    def deadline(self) -> int:
        return max(t.deadline for t in self.targets)


def _where(loc: tuple, data: Any) -> tuple[str, str | None]:
    """Readable location (``target 'internet_use', field 'deadline'``) from a pydantic loc."""
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        tid = None
        if isinstance(data, dict) and isinstance(data.get("targets"), list) and loc[1] < len(data["targets"]):
            t = data["targets"][loc[1]]
            tid = t.get("id") if isinstance(t, dict) else None
        rest = [str(x) for x in loc[2:] if not str(x).startswith(("float", "RankScoreRef"))]
        who = f"target '{tid}'" if tid else f"targets[{loc[1]}]"
        return who, ".".join(rest) or None
    return "scenario", ".".join(str(x) for x in loc) or None


def parse_scenario(data: Any, *, source: str = "<scenario>") -> Scenario:
    """Validate a scenario mapping; raise :class:`SpecError` naming each culprit target and field."""
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a scenario is a mapping with `name:` and `targets:`", file=source,
                        fix="see src/digimeter/data/scenarios/fully-digital-kz.yaml")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems, seen = [], set()
        for e in exc.errors():
            who, fld = _where(tuple(e["loc"]), data)
            msg = e["msg"].removeprefix("Value error, ")
            fix = None
            if e["type"] == "extra_forbidden":
                import difflib
                word = str(e["loc"][-1])
                allowed = Target.model_fields if who.startswith("target") else Scenario.model_fields
                close = difflib.get_close_matches(word, list(allowed), n=2)
                msg = f"unknown field '{word}'"
                fix = f"did you mean {', '.join(close)}?" if close else f"allowed: {', '.join(allowed)}"
            elif e["type"] == "missing":
                fix = f"add `{e['loc'][-1]}:`"
            elif e["type"] == "literal_error":
                fix = msg
            key = (who, fld, msg)
            if key in seen:
                continue
            seen.add(key)
            # a threshold failing both alternatives gives two errors; keep one clear message
            if fld and fld.startswith("threshold") and "threshold" in {k[1] for k in seen if k[0] == who and k != key}:
                continue
            text = f"{who}, field '{fld}': {msg}" if fld else f"{who}: {msg}"
            if fld and fld.startswith("threshold"):
                text = (f"{who}, field 'threshold': expected a number or "
                        "{rank_score: {spec: egdi, rank: 25}}")
                fld = "threshold"
            problems.append(Problem(text, file=source, field=f"{who}.{fld}" if fld else who,
                                    value=e.get("input") if not isinstance(e.get("input"), (dict, list)) else None,
                                    fix=fix))
        raise SpecError(f"{source}: invalid scenario ({len(problems)} problem(s))", problems=problems) from None


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios bundled with digimeter, by name."""
    folder = Path(str(resources.files("digimeter") / "data" / "scenarios"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def load_scenario(name_or_path: str | Path | Scenario) -> Scenario:
    """Load a shipped scenario by name (``fully-digital-kz``) or a YAML file by path."""
    if isinstance(name_or_path, Scenario):
        return name_or_path
    shipped = shipped_scenarios()
    p = shipped.get(str(name_or_path), Path(name_or_path))
    if not p.exists():
        raise NotFoundError(f"no scenario named '{name_or_path}' and no such file", value=str(name_or_path),
                            fix=f"use a shipped scenario ({', '.join(shipped)}) or a path to a YAML file")
    from .._util.yamlsafe import load_yaml_file

    data = load_yaml_file(p)   # no aliases, bounded depth; errors name the file and line
    return parse_scenario(data, source=str(p))
