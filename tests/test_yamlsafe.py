"""The one YAML loader: aliases and deep nesting are refused with the file and line; specs, scenarios,
factors and ``--set`` values all go through it."""

from __future__ import annotations

import time

import pytest

from digimeter._util.yamlsafe import MAX_DEPTH, UnsafeYamlError, load_yaml
from digimeter.errors import DigimeterError, SpecError


def alias_bomb(levels: int = 7) -> str:
    lines = ["  l0: &l0 [a]"] + ["  l%d: &l%d [%s]" % (i, i, ",".join(["*l%d" % (i - 1)] * 10))
                                 for i in range(1, levels + 1)]
    return "name: b\nyear: 2024\ntree: [{code: osi, indicator: osi}]\npublished:\n" + "\n".join(lines) + "\n"


def test_alias_bomb_refused_fast_with_line():
    t0 = time.perf_counter()
    with pytest.raises(UnsafeYamlError) as e:
        load_yaml(alias_bomb(), source="b.yaml")
    assert time.perf_counter() - t0 < 0.5
    p = e.value.problems[0]
    assert p.file == "b.yaml" and p.row == 6 and p.value == "*l0"
    assert "aliases" in str(e.value) and str(e.value).startswith("b.yaml, row 6:")


def test_deep_nesting_refused():
    with pytest.raises(UnsafeYamlError) as e:
        load_yaml("[" * 60000 + "]" * 60000, source="d.yaml")
    assert f"more than {MAX_DEPTH} levels" in str(e.value) and e.value.problems[0].file == "d.yaml"
    ok = "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1)
    v = load_yaml(ok)
    for _ in range(MAX_DEPTH - 2):
        v = v[0]
    assert v == [1]


def test_syntax_and_value_errors_name_the_line():
    with pytest.raises(SpecError) as e:
        load_yaml("a: 1\nb: [1, 2\n", source="s.yaml")
    assert e.value.problems[0].row == 3 and "not valid YAML" in str(e.value)
    with pytest.raises(SpecError, match="cannot be read"):
        load_yaml("x: 1" + "0" * 5000, source="s.yaml")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_yaml("name: caf\u00e9".encode("latin-1"), source="s.yaml")
    assert load_yaml("a: {b: [1, 2.5, yes]}") == {"a": {"b": [1, 2.5, True]}}


def test_every_user_yaml_goes_through_it(tmp_path):
    from digimeter.spec import load_spec
    from digimeter.targets import load_scenario
    from digimeter.uncertainty import load_factors

    bomb = tmp_path / "b.yaml"
    bomb.write_text(alias_bomb())
    for load in (load_spec, load_scenario, load_factors):
        with pytest.raises(UnsafeYamlError) as e:
            load(bomb)
        assert e.value.problems[0].file == str(bomb) and e.value.problems[0].row == 6
    with pytest.raises(SpecError, match="folder"):
        load_spec(tmp_path)
    assert load_spec("egdi").name == "egdi"     # shipped files still load


def test_set_values(digimeter_home):
    from typer.testing import CliRunner

    from digimeter.cli import app, parse_sets

    assert parse_sets(["normalise.range=[1, 100]", "aggregate.method=geometric"]) == {
        "normalise.range": [1, 100], "aggregate.method": "geometric"}
    with pytest.raises(DigimeterError, match="aliases"):
        parse_sets(["x=[&a 1, *a]"])
    r = CliRunner().invoke(app, ["build", "egdi", "--set", "x=" + "[" * 200 + "]" * 200])
    assert r.exit_code == 1 and "levels deep" in r.output and "Traceback" not in r.output


def test_a_text_read_again_is_parsed_once_and_given_as_a_fresh_copy():
    """A spec read by several sections is parsed once; each reader gets its own data (changing it changes
    no later read), and a bad text is refused every time it is read."""
    from digimeter._util import yamlsafe

    text = "name: x\nnodes:\n  - {id: a, weight: 1}\n"
    first = yamlsafe.load_yaml(text, source="a.yaml")
    first["nodes"][0]["weight"] = 99
    first["name"] = "changed"
    again = yamlsafe.load_yaml(text, source="a.yaml")
    assert again == {"name": "x", "nodes": [{"id": "a", "weight": 1}]}
    for _ in range(2):
        with pytest.raises(yamlsafe.UnsafeYamlError):
            yamlsafe.load_yaml("a: &x [1]\nb: *x\n", source="bad.yaml")
