"""The web config applied, seen from real clients: Python's ``ssl`` handshaking with the
running exporter, and plain HTTP requests reading what comes back.

Each test starts the exporter with one of the fixtures of ``tests/fixtures/web`` (the same
files the loading tests check), so a fixture's comment says what its test proves.
"""

import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import structlog
from webserving import (
    PASSWORD,
    REFUSED,
    client_context,
    load_fixture,
    request,
    write_web_config,
)

from exporter.runtime import Exporter
from exporter.webconfig.names import CIPHER_SUITES, HEADERS

Start = Callable[[Path | None], Awaitable[Exporter]]
TLS12 = (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
TLS13 = (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)


async def serve(start: Start, pki: Path, fixture: str) -> int:
    exporter = await start(load_fixture(fixture, pki))
    assert exporter.port is not None
    return exporter.port


async def refused(port: int, context: ssl.SSLContext | None, path: str = "/-/healthy") -> None:
    with pytest.raises(REFUSED):
        await request(port, context, path)


# --- versions, cipher suites, curves, ALPN ---------------------------------------------------


async def test_default_versions_are_tls12_and_tls13(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "tls_files.ok.yml")
    assert (await request(port, client_context(pki))).version == "TLSv1.3"
    answer = await request(port, client_context(pki, versions=TLS12))
    assert (answer.status, answer.version) == (200, "TLSv1.2")


async def test_tls13_only_refuses_a_tls12_client(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "tls13_only.ok.yml")
    await refused(port, client_context(pki, versions=TLS12))
    answer = await request(port, client_context(pki))
    assert (answer.status, answer.version) == (200, "TLSv1.3")


async def test_tls12_with_two_suites_serves_only_those(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "tls12_two_suites.ok.yml")
    await refused(port, client_context(pki, versions=TLS13))
    await refused(port, client_context(pki, ciphers="ECDHE-RSA-CHACHA20-POLY1305"))
    await refused(port, client_context(pki, ciphers="ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"))
    answer = await request(port, client_context(pki))
    assert (answer.version, answer.cipher) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
    only_second = await request(port, client_context(pki, ciphers="ECDHE-RSA-AES128-GCM-SHA256"))
    assert only_second.cipher == "ECDHE-RSA-AES128-GCM-SHA256"


@pytest.mark.parametrize(
    ("fixture", "chosen"),
    [
        ("tls12_two_suites.ok.yml", "ECDHE-RSA-AES256-GCM-SHA384"),
        ("client_cipher_preference.ok.yml", "ECDHE-RSA-AES128-GCM-SHA256"),
    ],
)
async def test_prefer_server_cipher_suites_decides_whose_order_wins(
    start_exporter: Start, pki: Path, fixture: str, chosen: str
) -> None:
    port = await serve(start_exporter, pki, fixture)
    client = client_context(
        pki, versions=TLS12, ciphers="ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"
    )
    assert (await request(port, client)).cipher == chosen


@pytest.mark.parametrize(("go_name", "openssl_name"), sorted(CIPHER_SUITES.items()))
async def test_each_go_suite_is_the_openssl_suite_it_maps_to(
    start_exporter: Start, pki: Path, go_name: str, openssl_name: str
) -> None:
    server = "server-ec" if "ECDSA" in go_name else "server"
    web_yml = write_web_config(
        pki,
        f"tls_server_config:\n  cert_file: {server}.crt\n  key_file: {server}.key\n"
        f"  max_version: TLS12\n  cipher_suites: [{go_name}]\n",
    )
    exporter = await start_exporter(web_yml)
    assert exporter.port is not None
    answer = await request(exporter.port, client_context(pki, ciphers=openssl_name))
    assert (answer.version, answer.cipher) == ("TLSv1.2", openssl_name)
    others = ":".join(name for name in CIPHER_SUITES.values() if name != openssl_name)
    await refused(exporter.port, client_context(pki, ciphers=others))


async def test_a_single_curve_is_the_only_one(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "curve_x25519.ok.yml")
    await refused(port, client_context(pki, curve="prime256v1"))
    await refused(port, client_context(pki, curve="prime256v1", versions=TLS12))
    assert (await request(port, client_context(pki, curve="X25519"))).status == 200


async def test_of_several_curves_the_first_is_offered_and_the_rest_logged(
    start_exporter: Start, pki: Path
) -> None:
    with structlog.testing.capture_logs() as logs:
        port = await serve(start_exporter, pki, "curves_several.ok.yml")
    notes = [e["detail"] for e in logs if e["event"] == "web_config_partly_honoured"]
    assert notes == [
        "tls_server_config.curve_preferences: only CurveP384 is offered; Python's ssl sets one"
        " curve, so CurveP256, CurveP521, X25519 are not"
    ]
    assert (await request(port, client_context(pki, curve="secp384r1"))).status == 200
    await refused(port, client_context(pki, curve="prime256v1"))


@pytest.mark.parametrize("fixture", ["http2_true.ok.yml", "http2_false.ok.yml"])
async def test_http11_is_negotiated_even_when_a_client_offers_h2(
    start_exporter: Start, pki: Path, fixture: str
) -> None:
    with structlog.testing.capture_logs() as logs:
        port = await serve(start_exporter, pki, fixture)
    answer = await request(port, client_context(pki, alpn=["h2", "http/1.1"]))
    assert (answer.status, answer.alpn) == (200, "http/1.1")
    logged = [e for e in logs if e["event"] == "web_config_partly_honoured"]
    assert len(logged) == (1 if fixture == "http2_true.ok.yml" else 0)


async def test_inline_certificate_and_key_are_served(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "tls_inline.ok.yml")
    answer = await request(port, client_context(pki))
    assert answer.server_cert == ssl.PEM_cert_to_DER_cert((pki / "server.crt").read_text())


async def test_plain_http_is_refused_by_a_tls_server(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "tls_files.ok.yml")
    await refused(port, None)


# --- client certificates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "accepted", "refused_certs"),
    [
        ("tls_files.ok.yml", [None, "client", "self"], []),
        ("request_client_cert.ok.yml", [None, "client", "self"], []),
        ("require_any_client_cert.ok.yml", ["client", "self", "intruder"], [None]),
        ("require_client_cert_alias.ok.yml", ["client", "self"], [None]),
        ("verify_client_cert_if_given.ok.yml", [None, "client"], ["self"]),
        ("require_and_verify_client_cert.ok.yml", ["client", "intruder"], [None, "self"]),
        ("client_ca_inline.ok.yml", ["client"], [None, "self"]),
    ],
)
async def test_client_auth_type_has_gos_meaning(
    start_exporter: Start,
    pki: Path,
    fixture: str,
    accepted: list[str | None],
    refused_certs: list[str | None],
) -> None:
    port = await serve(start_exporter, pki, fixture)
    for cert in accepted:
        for versions in (TLS12, TLS13):
            answer = await request(port, client_context(pki, cert, versions=versions))
            assert answer.status == 200, (cert, versions)
    for cert in refused_certs:
        for versions in (TLS12, TLS13):
            await refused(port, client_context(pki, cert, versions=versions))


@pytest.mark.parametrize(
    ("fixture", "allowed", "forbidden"),
    [
        ("client_allowed_sans.ok.yml", ["client", "client-uri"], ["intruder"]),
        ("client_allowed_sans_any_cert.ok.yml", ["client", "self"], ["intruder", "client-uri"]),
    ],
)
async def test_client_allowed_sans_are_checked(
    start_exporter: Start, pki: Path, fixture: str, allowed: list[str], forbidden: list[str]
) -> None:
    port = await serve(start_exporter, pki, fixture)
    for cert in allowed:
        assert (await request(port, client_context(pki, cert))).status == 200, cert
    for cert in forbidden:
        answer = await request(port, client_context(pki, cert))
        assert answer.status == 403, cert
        assert answer.headers["connection"] == "close"
    await refused(port, client_context(pki))


@pytest.mark.parametrize("san", ["ops@example.org", "::1", "0:0:0:0:0:0:0:1"])
async def test_email_and_ip_sans_match(start_exporter: Start, pki: Path, san: str) -> None:
    web_yml = write_web_config(
        pki,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n"
        f"  client_allowed_sans: ['{san}']\n",
    )
    exporter = await start_exporter(web_yml)
    assert exporter.port is not None
    holder = "client" if "@" in san else "client-uri"
    other = "client-uri" if holder == "client" else "client"
    assert (await request(exporter.port, client_context(pki, holder))).status == 200
    assert (await request(exporter.port, client_context(pki, other))).status == 403


# --- headers, basic auth, rate limit ---------------------------------------------------------


async def test_headers_are_on_every_answer(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "headers.ok.yml")
    expected = {
        "Content-Security-Policy": "default-src 'self'",
        "X-Frame-Options": "deny",
        "X-Content-Type-Options": "nosniff",
        "X-XSS-Protection": "1; mode=block",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }
    assert set(expected) == set(HEADERS)
    for method, path, status in [
        ("GET", "/-/healthy", 200),
        ("GET", "/metrics", 200),
        ("GET", "/", 200),
        ("GET", "/nowhere", 404),
        ("GET", "/-/reload", 405),
    ]:
        answer = await request(port, None, path, method=method)
        assert answer.status == status, path
        sent = {k: v for k, v in answer.raw_headers if k in expected}
        assert sent == expected, path


async def test_blank_headers_are_not_sent(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "headers_blank.ok.yml")
    answer = await request(port, None)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "x-frame-options" not in answer.headers
    assert "content-security-policy" not in answer.headers


async def test_basic_auth_over_tls(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "tls_and_users.ok.yml")
    context = client_context(pki)
    for _ in range(2):  # the second answer comes from the cache of verified credentials
        good = await request(port, context, "/metrics", auth=("prometheus", PASSWORD))
        assert good.status == 200
        assert "pushwoosh_up" in good.body
    for auth in [("prometheus", "wrong"), ("nobody", PASSWORD), None]:
        answer = await request(port, context, "/metrics", auth=auth)
        assert answer.status == 401, auth
        assert answer.headers["www-authenticate"].startswith("Basic")
    assert (await request(port, context, "/-/healthy")).status == 200
    assert (await request(port, context, "/-/ready")).status in (200, 503)
    assert (await request(port, context, "/")).status == 401


async def test_every_user_spelling_of_bcrypt_logs_in(start_exporter: Start, pki: Path) -> None:
    port = await serve(start_exporter, pki, "basic_auth.ok.yml")
    for user in ("prometheus", "alice", "bob"):  # $2b$, $2a$ and $2y$ hashes of one password
        assert (await request(port, None, auth=(user, PASSWORD))).status == 200, user
    assert (await request(port, None)).status == 401


async def test_rate_limit_answers_429_once_the_burst_is_spent(
    start_exporter: Start, pki: Path
) -> None:
    port = await serve(start_exporter, pki, "rate_limit.ok.yml")
    statuses = [(await request(port, None)).status for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
