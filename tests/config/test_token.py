"""Where the API token comes from: api_token_file if configured, else PUSHWOOSH_API_TOKEN."""

from pathlib import Path

import pytest

from exporter.config import Config, ConfigError, load_token, parse_config

MISSING = (
    "no Pushwoosh API token: set the PUSHWOOSH_API_TOKEN environment variable"
    " or pushwoosh.api_token_file in the config"
)


def config_with_token_file(path: Path | None) -> Config:
    pushwoosh = f"pushwoosh: {{api_token_file: '{path}'}}\n" if path else ""
    return parse_config(pushwoosh + "tags: [{name: Country}]\n")


def test_token_from_the_environment() -> None:
    config = config_with_token_file(None)
    assert load_token(config, {"PUSHWOOSH_API_TOKEN": "env-token"}) == "env-token"


def test_token_from_the_environment_is_stripped() -> None:
    config = config_with_token_file(None)
    assert load_token(config, {"PUSHWOOSH_API_TOKEN": " env-token\n"}) == "env-token"


def test_token_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("file-token", encoding="utf-8")
    assert load_token(config_with_token_file(path), {}) == "file-token"


def test_trailing_newline_of_the_token_file_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("file-token\n", encoding="utf-8")
    assert load_token(config_with_token_file(path), {}) == "file-token"


def test_the_file_wins_over_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("file-token\n", encoding="utf-8")
    environ = {"PUSHWOOSH_API_TOKEN": "env-token"}
    assert load_token(config_with_token_file(path), environ) == "file-token"


@pytest.mark.parametrize("environ", [{}, {"PUSHWOOSH_API_TOKEN": ""}, {"PUSHWOOSH_API_TOKEN": " "}])
def test_no_token_at_all_is_one_line_naming_both_ways(environ: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_token(config_with_token_file(None), environ)
    assert caught.value.problems == [MISSING]
    assert str(caught.value) == MISSING


def test_an_empty_token_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_token(config_with_token_file(path), {"PUSHWOOSH_API_TOKEN": "env-token"})
    assert str(caught.value) == f"the API token file {path} is empty"


def test_a_missing_token_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(ConfigError) as caught:
        load_token(config_with_token_file(path), {"PUSHWOOSH_API_TOKEN": "env-token"})
    assert str(caught.value) == (
        f"cannot read the API token file {path} (pushwoosh.api_token_file):"
        " No such file or directory"
    )


def test_token_file_content_never_appears_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"SECRET\xff\xfe")
    with pytest.raises(ConfigError) as caught:
        load_token(config_with_token_file(path), {})
    assert "SECRET" not in str(caught.value)
    assert str(path) in str(caught.value)
