"""Fixtures of the web config tests: the certificates, and exporters serving on loopback."""

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from webserving import main_config, make_cert, make_key, openssl

from exporter.runtime import Exporter, ListenAddress


@pytest.fixture(scope="session")
def pki_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test CA; server certificates (RSA, a second RSA for rotation, ECDSA) for 127.0.0.1;
    client certificates with allowed and unlisted SANs; a self-signed client certificate."""
    d = tmp_path_factory.mktemp("pki")
    make_key(d, "ca")
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=test-ca", "-days", "2",
            "-out", "ca.crt", cwd=d)  # fmt: skip
    make_cert(d, "server", "IP:127.0.0.1,DNS:localhost", kind="rsa")
    make_cert(d, "server2", "IP:127.0.0.1,DNS:localhost", kind="rsa")
    make_cert(d, "server-ec", "IP:127.0.0.1,DNS:localhost")
    make_cert(d, "client", "DNS:prometheus.example,email:ops@example.org")
    make_cert(d, "client-uri", "URI:spiffe://example.org/prometheus,IP:::1")
    make_cert(d, "intruder", "DNS:intruder.example")
    make_cert(d, "self", "DNS:prometheus.example", ca=False)
    openssl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:pw", "-out",
            "encrypted.key", cwd=d)  # fmt: skip
    return d


@pytest.fixture
def pki(pki_source: Path, tmp_path: Path) -> Path:
    """A private copy of the certificates, where a test may write its web.yml and rotate files."""
    folder = tmp_path / "web"
    shutil.copytree(pki_source, folder)
    return folder


@pytest.fixture
async def start_exporter() -> AsyncIterator[Callable[[Path | None], Awaitable[Exporter]]]:
    """Start exporters on free loopback ports (stopped at the end of the test)."""
    started: list[Exporter] = []

    async def start(web_config: Path | None) -> Exporter:
        exporter = Exporter(
            lambda: (main_config(), "tok-web-0a1b2c"),
            listen=ListenAddress("127.0.0.1", 0),
            web_config_file=web_config,
        )
        started.append(exporter)
        await exporter.start()
        return exporter

    yield start
    for exporter in started:
        await exporter.stop()
