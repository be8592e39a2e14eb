"""--web.config.file: TLS (with client certificates) and bcrypt basic auth, over real TLS."""

import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import bcrypt
import pytest
from aiohttp import web

from exporter.server import TargetRow, WebHooks, create_app
from exporter.webconfig import WebConfig, WebConfigError, basic_auth_middleware, load_web_config

PASSWORD = "s3cret-pw"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made here."""
    d = tmp_path_factory.mktemp("pki")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=d,
    )
    for name, extra in (
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "keyUsage=digitalSignature"),
    ):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=d,
        )
        (d / f"{name}.ext").write_text(extra + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.crt",
            cwd=d,
        )
    return d


def basic(auth: tuple[str, str] | None) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(*auth)} if auth else {}


def write_web_config(d: Path, body: str) -> Path:
    path = d / "web.yml"
    path.write_text(body)
    return path


async def _plain_body(accept: str | None, encoding: str | None) -> tuple[bytes, str, bool]:
    return b"pushwoosh_up 1\n", "text/plain; version=0.0.4", False


async def serve(config: WebConfig) -> tuple[web.AppRunner, int]:
    hooks = WebHooks(
        render=_plain_body,
        ready=lambda: True,
        targets=lambda: [TargetRow("app_stats", "A", True, None, None)],
        reload=_no_reload,
    )
    middlewares = [basic_auth_middleware(config)] if config.users else []
    runner = web.AppRunner(create_app(hooks, "/metrics", middlewares))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=config.ssl_context())
    await site.start()
    return runner, int(runner.addresses[0][1])


async def _no_reload() -> str | None:
    return None


def client_context(pki: Path, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if with_cert:
        context.load_cert_chain(pki / "client.crt", pki / "client.key")
    return context


@pytest.fixture
async def tls_auth(pki: Path) -> AsyncIterator[int]:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    path = write_web_config(
        pki,
        f"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\nunauthenticated_health_probes: true\n",
    )
    runner, port = await serve(load_web_config(path))
    yield port
    await runner.cleanup()


async def test_tls_with_right_and_wrong_passwords(tls_auth: int, pki: Path) -> None:
    url = f"https://127.0.0.1:{tls_auth}"
    context = client_context(pki, with_cert=False)
    async with aiohttp.ClientSession() as session:
        good = ("prometheus", PASSWORD)
        for _ in range(2):  # the second answer comes from the cache of verified credentials
            async with session.get(f"{url}/metrics", ssl=context, headers=basic(good)) as r:
                assert r.status == 200
                assert await r.text() == "pushwoosh_up 1\n"
        for auth in (
            ("prometheus", "wrong"),
            ("x", PASSWORD),
            None,
        ):
            async with session.get(f"{url}/metrics", ssl=context, headers=basic(auth)) as r:
                assert r.status == 401
                assert r.headers["WWW-Authenticate"].startswith("Basic")
        async with session.get(f"{url}/-/healthy", ssl=context) as r:
            assert r.status == 200
        async with session.get(f"{url}/", ssl=context) as r:
            assert r.status == 401


async def test_plain_http_is_refused_by_a_tls_server(tls_auth: int) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(f"http://127.0.0.1:{tls_auth}/-/healthy") as r:
                await r.read()


async def test_health_needs_credentials_unless_the_config_opens_it(pki: Path) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    path = write_web_config(pki, f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    runner, port = await serve(load_web_config(path))
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/-/healthy") as r,
        ):
            assert r.status == 401
    finally:
        await runner.cleanup()


async def test_client_certificates_are_required_when_configured(pki: Path) -> None:
    path = write_web_config(
        pki,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n",
    )
    runner, port = await serve(load_web_config(path))
    url = f"https://127.0.0.1:{port}/-/healthy"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url, ssl=client_context(pki, with_cert=True)) as r:
                assert r.status == 200
            with pytest.raises(aiohttp.ClientError):
                async with session.get(url, ssl=client_context(pki, with_cert=False)) as r:
                    await r.read()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("tls_server_config:\n  cert_file: server.crt\n", "needs both cert_file and key_file"),
        (
            "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n",
            "cannot load TLS files",
        ),
        ("basic_auth_user: {}\n", "unknown key 'basic_auth_user'"),
        (
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_auth_type: Sometimes\n",
            "client_auth_type must be one of",
        ),
        ("- a\n", "must be a mapping"),
    ],
)
def test_bad_web_configs_name_the_problem(pki: Path, body: str, message: str) -> None:
    with pytest.raises(WebConfigError, match=message):
        load_web_config(write_web_config(pki, body))
