"""What a loaded config holds: defaults, durations as timedelta, names and the strict rules."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from exporter.config import Config, ConfigError, load_config, parse_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"


def test_defaults_are_those_of_the_spec() -> None:
    config = parse_config("applications: [{code: ABCDE-12345}]")
    assert config.pushwoosh.api_url == "https://api.pushwoosh.com"
    assert config.pushwoosh.api_token_file is None
    assert config.pushwoosh.request_timeout.total_seconds() == 10
    assert config.pushwoosh.max_concurrent_requests == 4
    assert config.pushwoosh.max_requests_per_minute == 600
    assert config.pushwoosh.results_timeout.total_seconds() == 120
    assert config.pushwoosh.timezone == "UTC"
    assert config.collection.interval.total_seconds() == 60
    assert config.collection.lookback.total_seconds() == 15 * 60
    assert config.collection.max_catchup.total_seconds() == 6 * 3600
    app = config.applications[0]
    assert (app.app_stats, app.subscribers, app.events, app.tags) == (True, "v1", [], [])
    assert app.display_name == "ABCDE-12345"


def test_every_key_fixture_is_read_as_written() -> None:
    config = load_config(FIXTURES / "ok" / "every_key.yaml")
    assert config.pushwoosh.api_url == "http://127.0.0.1:9878/"
    assert config.pushwoosh.api_token_file == Path("/run/secrets/pushwoosh-token")
    assert config.pushwoosh.request_timeout.total_seconds() == 2.5
    assert config.pushwoosh.results_timeout.total_seconds() == 90
    assert config.pushwoosh.timezone == "Europe/Berlin"
    assert config.pushwoosh.zone.utcoffset(datetime(2026, 7, 1)) == timedelta(hours=2)
    assert config.collection.interval.total_seconds() == 1
    assert config.collection.lookback == config.collection.max_catchup == timedelta(hours=3)
    ios, android = config.applications
    assert (ios.display_name, ios.app_stats, ios.subscribers) == ("shop-ios", False, "off")
    assert android.display_name == "FGHIJ-67890"
    assert android.subscribers == "v2"
    attributes = ios.events[0].attributes
    assert [(a.name, a.operator, a.filter_values) for a in attributes] == [
        ("plan", "NEQ", ("3",)),
        ("country", "EQ", ("de", "at")),
    ]
    assert [(t.name, t.max_values) for t in ios.tags] == [("Language", 1), ("City", 20)]
    assert [c.display_name for c in config.campaigns] == ["black-friday", "CAMP2-00000"]
    assert [m.platforms for m in config.messages] == [[1, 3, 99], [1, 3, 11], None]
    assert config.messages[2].code == "12345"
    assert [(t.name, t.max_values) for t in config.tags] == [("Language", 50)]


def test_merge_keys_copy_the_anchored_mapping() -> None:
    config = load_config(FIXTURES / "ok" / "anchors_and_merges.yaml")
    assert [(a.code, a.subscribers, a.app_stats) for a in config.applications] == [
        ("AAAAA-11111", "v2", False),
        ("BBBBB-22222", "v2", False),
    ]
    assert [c.display_name for c in config.campaigns] == ["shared-name", "shared-name"]


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "y", "n"])
def test_yaml_1_1_booleans_are_plain_strings(word: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(f"applications: [{{code: A, app_stats: {word}}}]", "c.yaml")
    assert str(caught.value) == (
        f"c.yaml:1: applications[0].app_stats: must be true or false (got '{word}')"
    )


@pytest.mark.parametrize("code", ["0123", "1:30", "0x1F", "1_000", "2024-01-01"])
def test_number_like_codes_that_yaml_1_1_would_convert_stay_strings(code: str) -> None:
    config = parse_config(f"campaigns: [{{code: {code}}}]")
    assert config.campaigns[0].code == code


def test_python_callers_may_pass_timedelta_or_duration_text() -> None:
    config = Config.model_validate(
        {
            "collection": {"interval": timedelta(seconds=5), "lookback": "10m"},
            "tags": [{"name": "Country"}],
        }
    )
    assert config.collection.interval.total_seconds() == 5
    assert config.collection.lookback.total_seconds() == 600


def test_config_is_immutable() -> None:
    config = parse_config("tags: [{name: Country}]")
    with pytest.raises(ValidationError):
        config.tags[0].max_values = 5


def test_equal_configs_compare_equal_so_a_reload_can_tell_what_changed() -> None:
    text = "collection: {interval: 60s}\ntags: [{name: Country}]"
    assert parse_config(text) == parse_config(text.replace("60s", "1m"))
    assert parse_config(text) != parse_config(text.replace("60s", "30s"))


def test_duplicate_platforms_are_an_error_even_when_one_is_a_name() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("messages:\n  - code: M\n    platforms: [3, android]\n", "c.yaml")
    assert (
        str(caught.value)
        == "c.yaml:3: messages[0].platforms[1]: duplicate platform 3 (first at line 3)"
    )


def test_same_tag_name_in_two_scopes_is_fine_but_not_twice_account_wide() -> None:
    parse_config("applications: [{code: A, tags: [{name: L}]}]\ntags: [{name: L}]")
    with pytest.raises(ConfigError) as caught:
        parse_config("tags:\n  - name: L\n  - name: L\n", "c.yaml")
    assert str(caught.value) == "c.yaml:3: tags[1].name: duplicate tag 'L' (first at line 2)"


def test_non_text_keys_are_reported_with_their_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("tags: [{name: a}]\n3: x\n", "c.yaml")
    assert str(caught.value) == "c.yaml:2: top level: key 3 must be text (quote it: '3')"


def test_a_value_with_a_bad_explicit_tag_is_a_yaml_error_with_its_place() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("tags:\n  - name: a\n    max_values: !!int 09\n", "c.yaml")
    assert str(caught.value) == "c.yaml:3:17: invalid YAML: cannot build the value tagged !!int"


def test_several_documents_are_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("tags: [{name: a}]\n---\ntags: [{name: b}]\n", "c.yaml")
    assert str(caught.value) == (
        "c.yaml:2:1: invalid YAML: expected a single document in the stream,"
        " but found another document"
    )
