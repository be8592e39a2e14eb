"""Whatever the text, parse_config either returns a Config or raises ConfigError, never else."""

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.config import Config, ConfigError, parse_config

KEYS = [
    "pushwoosh", "collection", "applications", "campaigns", "messages", "tags", "api_url",
    "api_token_file", "request_timeout", "interval", "lookback", "max_catchup", "code", "name",
    "app_stats", "subscribers", "events", "attributes", "operator", "value", "max_values",
    "platforms", "api_token",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["v1", "v2", "off", "10s", "4h", "0s", "ios", "ABCDE-12345", "", "yes"]),
    st.text(max_size=20),
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=5),
    ),
    max_leaves=25,
)
YAML_PIECES = st.sampled_from(
    [
        "applications:", "\n", "  - ", "code: ", "A", "{", "}", "[", "]", ": ", "&a ", "*a",
        "<<: ", "!!int ", "!!binary ", "'", '"', "#", "---", "\t", "? ", "- ", ",", "tags:",
        "name: x", "max_values: ", "0", "09", "1:30", "~", "|\n", ">\n", "%YAML 1.1\n", "!x ",
    ]
)  # fmt: skip


def check(text: str) -> None:
    """parse_config returns a Config, or raises ConfigError of one-line problems naming the file."""
    problems: list[str] = []
    try:
        result = parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        problems = exc.problems
        assert problems, "a ConfigError without problems"
    else:
        assert isinstance(result, Config)
    assert all(problem.startswith("fuzz.yaml") for problem in problems)
    assert all("\n" not in problem for problem in problems)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_gives_a_config_or_config_error(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(YAML_PIECES, max_size=30).map("".join))
def test_yaml_like_fragments_give_a_config_or_config_error(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None)
@given(DATA)
def test_any_yaml_data_gives_a_config_or_config_error(data: Any) -> None:
    check(yaml.safe_dump(data))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), DATA, max_size=6))
def test_any_mapping_of_known_keys_gives_a_config_or_config_error(data: dict[str, Any]) -> None:
    check(yaml.safe_dump(data))
