"""Every web config fixture: each ``*.ok.yml`` loads, each ``*.bad.yml`` is refused with exactly
the lines its ``# expect:`` comments give, and no message ever shows a secret.

The fixtures are ours, written from exporter-toolkit's ``docs/web-configuration.md``, one per
key and case. They are loaded from a folder holding the test certificates (paths in them are
relative, as in a real ``web.yml``); ``<<file>>`` stands for that file's PEM text, indented
where the placeholder is (inline ``cert``, ``key``, ``client_ca``). In the expected lines,
``{dir}`` is that folder.
"""

from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel
from webserving import FIXTURES, PASSWORD_HASH, load_fixture, write_web_config

from exporter.webconfig import WebConfigError, load_web_config
from exporter.webconfig.model import WebConfigFile

OK = sorted(FIXTURES.glob("*.ok.yml"))
BAD = sorted(FIXTURES.glob("*.bad.yml"))


def expected_lines(path: Path, folder: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [
        line.removeprefix("# expect: ").replace("{dir}", str(folder))
        for line in text.splitlines()
        if line.startswith("# expect: ")
    ]


def test_there_is_a_fixture_for_every_key_and_case() -> None:
    assert len(OK) >= 25
    assert len(BAD) >= 50
    assert all(expected_lines(p, Path()) for p in BAD), "every bad fixture says what it expects"


@pytest.mark.parametrize("path", OK, ids=lambda p: p.name.removesuffix(".ok.yml"))
def test_ok_fixture_loads(path: Path, pki: Path) -> None:
    config = load_web_config(load_fixture(path.name, pki))
    assert config.source == pki / "web.yml"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name.removesuffix(".bad.yml"))
def test_bad_fixture_gives_its_expected_lines(path: Path, pki: Path) -> None:
    web_yml = load_fixture(path.name, pki)
    with pytest.raises(WebConfigError) as caught:
        load_web_config(web_yml)
    expected = [f"{web_yml.parent}/{line}" for line in expected_lines(path, pki)]
    assert caught.value.problems == expected


def test_what_is_honoured_in_part_is_said(pki: Path) -> None:
    curves = load_web_config(load_fixture("curves_several.ok.yml", pki))
    assert curves.notes == (
        "tls_server_config.curve_preferences: only CurveP384 is offered; Python's ssl sets one"
        " curve, so CurveP256, CurveP521, X25519 are not",
    )
    http2 = load_web_config(load_fixture("http2_true.ok.yml", pki))
    assert http2.notes == (
        "http_server_config.http2: HTTP/2 is not served; clients are answered over HTTP/1.1,"
        " which they fall back to through ALPN",
    )
    for quiet in ("http2_false.ok.yml", "curve_x25519.ok.yml", "tls_files.ok.yml"):
        assert load_web_config(load_fixture(quiet, pki)).notes == ()


def test_loaded_values(pki: Path) -> None:
    users = load_web_config(load_fixture("basic_auth.ok.yml", pki))
    assert users.users["prometheus"] == PASSWORD_HASH.encode()
    assert set(users.users) == {"prometheus", "alice", "bob"}
    assert users.tls is None
    headers = load_web_config(load_fixture("headers_blank.ok.yml", pki))
    assert headers.headers == {"X-Content-Type-Options": "nosniff"}
    unset = load_web_config(load_fixture("tls_unset_strings.ok.yml", pki))
    assert unset.tls is None
    tls = load_web_config(load_fixture("tls_and_users.ok.yml", pki))
    assert tls.cert_file == pki / "server.crt"
    assert tls.open_health
    off = load_web_config(load_fixture("rate_limit_off.ok.yml", pki))
    assert off.rate_limit is None
    limited = load_web_config(load_fixture("rate_limit.ok.yml", pki))
    assert limited.rate_limit is not None
    assert (limited.rate_limit.interval, limited.rate_limit.burst) == (3600.0, 2)


def test_no_message_shows_a_hash_a_password_or_a_key(pki: Path) -> None:
    secrets = {
        "user_not_bcrypt.bad.yml": "plain-password-9a8b7c",
        "user_bcrypt_cost.bad.yml": "C9zEJRkHgjXnHwb3bN5pie",
        "user_bcrypt_variant.bad.yml": "C9zEJRkHgjXnHwb3bN5pie",
        "inline_key_not_pem.bad.yml": "secret-4f3e2d",
        "user_number.bad.yml": "12345",
        "users_a_string.bad.yml": "C9zEJRkHgjXnHwb3bN5pie",
    }
    for name, secret in secrets.items():
        with pytest.raises(WebConfigError) as caught:
            load_web_config(load_fixture(name, pki))
        assert secret not in str(caught.value), name
    key_text = (pki / "server.key").read_text().splitlines()[1]
    with pytest.raises(WebConfigError) as caught:
        load_web_config(load_fixture("cert_and_cert_file.bad.yml", pki))
    assert key_text not in str(caught.value)


def test_a_file_that_is_not_utf8_is_one_line_naming_it(pki: Path) -> None:
    path = pki / "web.yml"
    path.write_bytes(b"basic_auth_users:\n  caf\xe9: x\n")
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert caught.value.problems == [f"{path}: the web config file is not UTF-8 text"]


def test_a_missing_web_config_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yml"
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    assert caught.value.problems == [f"{path}: web config file not found"]


def readme_section() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = text.index("## Web config: TLS and basic auth")
    return text[start : text.index("\n## ", start + 1)]


def test_the_readme_example_loads(pki: Path) -> None:
    example = readme_section().split("```yaml\n")[1].split("```")[0]
    example = example.replace("$2b$12$...", PASSWORD_HASH)
    config = load_web_config(write_web_config(pki, example))
    assert config.tls is not None
    assert config.users.keys() == {"prometheus"}


def test_the_readme_table_names_every_key() -> None:
    table = readme_section()
    models: list[type[BaseModel]] = [WebConfigFile]
    for model in models:
        for name, info in model.model_fields.items():
            assert f"`{name}" in table or f"{name}`" in table, name
            inner = info.annotation
            models += [
                arg
                for arg in (*get_args(inner), inner)
                if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in models
            ]
    assert len(models) == 4
