"""Index specs: validation names the culprit and the fix; addresses; the shipped specs."""

import pytest

from digimeter.errors import NotFoundError, SpecError
from digimeter.spec import load_spec, parse_spec, shipped_specs


def base(**kw):
    d = {"name": "t", "year": 2024, "tree": [{"code": "a", "indicator": "internet_users_pct"}]}
    d.update(kw)
    return d


def test_shipped_specs_load_and_have_trees():
    names = shipped_specs()
    assert {"egdi", "digital-nation"} <= set(names)
    dn = load_spec("digital-nation")
    meta = dn.meta()
    assert meta.loc[meta.code == "digital-nation", "level"].item() == 3
    assert set(meta.code[meta.depth == 1]) == {"connectivity", "infrastructure", "government", "skills", "economy"}
    assert (meta[meta.kind == "indicator"].goalpost_hi > meta[meta.kind == "indicator"].goalpost_lo).all()
    egdi = load_spec("egdi")
    assert [n.indicator for n in egdi.indicator_nodes()] == ["osi", "tii", "hci"]


@pytest.mark.parametrize("data, culprit, fix", [
    (base(tree=[{"code": "a", "indicator": "x", "wieght": 2}]), "node 'a' > wieght", "weight"),
    (base(tree=[{"code": "p", "children": [{"code": "a", "indicator": "x", "weight": -1}]}]), "node 'a' > weight", None),
    (base(tree=[{"code": "a"}]), "node 'a'", "indicator"),
    (base(tree=[{"code": "a", "indicator": "x"}, {"code": "a", "indicator": "y"}]), "unique", None),
    (base(weights={"nope": 2}), "nope", None),
    (base(normalise={"range": [0, 1]}), "normalise", "method"),
    (base(year="soon"), "year", None),
    (base(tree=[{"code": "a", "indicator": "x", "goalposts": [1, 1]}]), "goalposts", None),
])
def test_invalid_specs_name_the_culprit(data, culprit, fix):
    with pytest.raises(SpecError) as e:
        parse_spec(data, source="my.yaml")
    text = str(e.value)
    assert "my.yaml" in text and culprit in text
    if fix:
        assert fix in text


def test_addresses_get_and_change():
    s = load_spec("digital-nation")
    assert s.get("normalise.method") == "goalposts"
    assert s.get("weights.connectivity") == 1.0
    v = s.with_changes({"normalise.method": "minmax", "weights.skills": 2.0, "treat.winmax": 3})
    assert v.get("normalise.method") == "minmax" and v.weight_of("skills") == 2.0
    assert v.treat["winmax"] == 3
    assert s.get("normalise.method") == "goalposts"  # the original is unchanged
    with pytest.raises(SpecError, match="connectivty"):
        s.with_changes({"weights.connectivty": 2})
    with pytest.raises(SpecError, match="unknown setting"):
        s.with_changes({"normalize.method": "minmax"})


def test_unknown_spec_name_and_bad_yaml(tmp_path):
    with pytest.raises(NotFoundError, match="digital-nation"):
        load_spec("no-such-spec")
    p = tmp_path / "bad.yaml"
    p.write_text("name: t\nyear: 2024\ntree:\n  - code: a\n   indicator: x\n")
    with pytest.raises(SpecError, match="bad.yaml"):
        load_spec(p)


def test_build_names_unknown_indicator(tmp_path):
    from digimeter.build import build
    from digimeter.store import Store

    spec = parse_spec(base(tree=[{"code": "p", "children": [{"code": "a", "indicator": "internet_user_pct"}]}]))
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(SpecError) as e:
        build(spec, s)
    assert "internet_user_pct" in str(e.value) and "'p'" in str(e.value) and "internet_users_pct" in str(e.value)


def test_build_names_indicator_without_data_in_window(tmp_path):
    from digimeter.build import build
    from digimeter.store import Store

    spec = parse_spec(base(year=2011, tree=[{"code": "e", "indicator": "egdi"}, {"code": "i", "indicator": "internet_users_pct"}]))
    with Store(tmp_path / "s.duckdb") as s, pytest.raises(SpecError) as e:
        build(spec, s)
    assert "e" in str(e.value) and "year_window" in str(e.value)
