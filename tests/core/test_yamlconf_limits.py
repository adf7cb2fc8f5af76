"""No value from a configuration file may switch off a limit, and no file may tie up the machine.

``.nan`` compares false with every bound, so an unguarded ``minimum``/``maximum`` check lets it
through (a nan ``retry.abandoned`` re-dials an abandoned debtor within the hour, not after the
legal 72 h). Alias bombs and deep nesting are refused while the YAML is composed, before anything
is expanded, with the usual one-line error naming the file and line.
"""

from __future__ import annotations

import pytest

from dialer.core.errors import ConfigError
from dialer.core.yamlconf import MAX_YAML_CHARS, Section, load_yaml, load_yaml_text

NON_FINITE = [".nan", ".NaN", ".inf", "-.inf", "+.inf"]


def billion_laughs(levels: int = 9) -> str:
    """Ten aliases per level: 10**levels values from about 40 bytes a level."""
    lines = ["l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_yaml_text(text, "c.yaml")
    return str(info.value)


def section(text: str) -> Section:
    return Section(load_yaml_text(text, "c.yaml"), "c.yaml")


@pytest.mark.parametrize("value", NON_FINITE)
def test_a_non_finite_number_is_refused_by_a_range_checked_number(value: str) -> None:
    sec = section(f"pacing:\n  ratio: {value}\n").section("pacing")
    with pytest.raises(ConfigError) as info:
        sec.number("ratio", minimum=1, maximum=10)
    assert str(info.value).startswith("c.yaml, line 2: pacing.ratio: must be a number, not float")


@pytest.mark.parametrize("value", NON_FINITE)
def test_a_non_finite_number_is_refused_as_a_duration(value: str) -> None:
    sec = section(f"abandoned: {value}\n")
    with pytest.raises(ConfigError) as info:
        sec.duration("abandoned", minimum=72 * 3600, maximum=30 * 86400)
    assert str(info.value).startswith("c.yaml, line 1: abandoned: must be a duration such as 30s")


@pytest.mark.parametrize("value", ["1.0e+999", '"' + "9" * 400 + 's"'])
def test_a_number_too_large_for_a_float_is_not_an_infinite_duration(value: str) -> None:
    sec = section(f"abandoned: {value}\n")
    with pytest.raises(ConfigError) as info:
        sec.duration("abandoned", minimum=0)
    assert "abandoned: must be a duration" in str(info.value)


@pytest.mark.parametrize("value", [".nan", "-.inf"])
def test_a_non_finite_amount_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        section(f"min: {value}\n").decimal("min")
    assert "min: must be an amount like 250.00" in str(info.value)


def test_a_billion_laughs_is_refused_before_it_is_expanded() -> None:
    message = refused("name: nov\n" + billion_laughs())
    assert message.startswith("c.yaml, line ") and "refused: more than 100,000 values" in message
    assert "\n" not in message
    # Ordinary anchors, aliases and merge keys, as people use them to share settings, still load.
    data = load_yaml_text("base: &b {x: 1, y: [1, 2]}\nother:\n  <<: *b\n  z: 3\nlist: [*b, *b]\n", "c.yaml")
    assert data["other"] == {"x": 1, "y": [1, 2], "z": 3} and data["list"] == [data["base"]] * 2


def test_a_self_referring_alias_is_refused() -> None:
    assert "refers to the collection that contains it" in refused("a: &a [1, *a]\n")


@pytest.mark.parametrize("text", [
    "a: " + "[" * 50_000 + "]" * 50_000,
    "a: " + "{b: " * 5_000 + "1" + "}" * 5_000,
    "a:\n" + "".join(" " * i + "- \n" for i in range(1, 400)),
])
def test_deep_nesting_is_refused_without_a_recursion_error(text: str) -> None:
    message = refused(text)
    assert message.startswith("c.yaml, line ") and "nested more than 100 levels deep" in message


def test_aliases_that_nest_deeper_than_the_limit_are_refused() -> None:
    deep = "[" * 60 + "1" + "]" * 60
    message = refused(f"a: &a {deep}\nb: {'[' * 60}*a{']' * 60}\n")
    assert "c.yaml, line 2: refused: nested more than 100 levels deep once aliases" in message


def test_a_5000_digit_integer_is_refused_with_its_line() -> None:
    message = refused("name: nov\nseed: " + "7" * 5000 + "\n")
    assert message.startswith("c.yaml, line 2: refused: a number of 5,000 characters is too long")


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "big.yaml"  # type: ignore[operator]
    path.write_text("# " + "x" * MAX_YAML_CHARS + "\nname: nov\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    size = MAX_YAML_CHARS + 13
    assert str(info.value) == f"{path}: too large: {size:,} characters, at most {MAX_YAML_CHARS:,}"
