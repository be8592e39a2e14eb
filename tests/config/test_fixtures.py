"""Every config fixture: the ok ones load, each bad one produces exactly its ``.expected`` text.

The ``.expected`` files are written by hand: they are what a user fixing the file should read.
Fixtures are parsed under the name ``config.yaml``, the way the messages appear in practice.
"""

from pathlib import Path

import pytest

from exporter.config import ConfigError, load_config, parse_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"
REPO = Path(__file__).resolve().parents[2]
OK = sorted((FIXTURES / "ok").glob("*.yaml"))
BAD = sorted((FIXTURES / "bad").glob("*.yaml"))


def test_there_are_fixtures() -> None:
    assert len(OK) >= 5
    assert len(BAD) >= 15


@pytest.mark.parametrize("path", [*OK, REPO / "config.example.yaml"], ids=lambda p: p.name)
def test_ok_fixture_loads(path: Path) -> None:
    config = load_config(path)
    targets = config.applications, config.campaigns, config.messages, config.tags
    assert any(targets)


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_fixture_gives_its_expected_message(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(path.read_text(encoding="utf-8"), "config.yaml")
    assert str(caught.value) == expected
    assert caught.value.problems == expected.split("\n")


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_load_config_names_the_file_in_every_line(path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert all(line.startswith(f"{path}:") for line in caught.value.problems)


def test_the_token_put_in_the_config_is_never_echoed() -> None:
    text = (FIXTURES / "bad" / "api_token_in_config.yaml").read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert "VERY-SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "api_token: TOPSECRET\ntags: [{name: a}]\n",
        "tags: [{name: a, token: TOPSECRET}]\n",
        "applications: [{code: A, extra: {nested: TOPSECRET}}]\n",
        "collection: {inteval: TOPSECRET}\ntags: [{name: a}]\n",
    ],
)
def test_values_of_unknown_keys_are_never_echoed(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert "unknown key" in str(caught.value)
    assert "TOPSECRET" not in str(caught.value)


def test_missing_config_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [f"{path}: config file not found"]


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith(f"{tmp_path}: cannot read the config file: ")


def test_a_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("tags: [{name: Größe}]\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [f"{path}: the config file is not UTF-8 text"]
