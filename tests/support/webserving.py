"""Helpers of the web config tests: certificates made with openssl, the main config an exporter
serves with there, and a raw HTTPS client that reports what the handshake agreed on."""

import asyncio
import base64
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import bcrypt

from exporter.config import Config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web"
PASSWORD = "s3cret-pw"
"""The password of ``prometheus`` in the fixtures (bcrypt hash below)."""
PASSWORD_HASH = "$2b$04$C9zEJRkHgjXnHwb3bN5piecQpIQLGqYdHEszEzeZB4OL0ZsY/QTpi"

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def openssl(*args: str, cwd: Path) -> None:
    """Run the openssl command line (it is how the certificates of these tests are made)."""
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_key(folder: Path, name: str, kind: str = "ec") -> None:
    """``name.key``: an unencrypted P-256 or RSA 2048 key."""
    algorithm = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    if kind == "rsa":
        algorithm = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
    openssl("genpkey", *algorithm, "-out", f"{name}.key", cwd=folder)


def make_cert(folder: Path, name: str, sans: str, *, kind: str = "ec", ca: bool = True) -> None:
    """``name.crt`` for ``name.key`` with these SANs, signed by ``ca`` (or self-signed)."""
    make_key(folder, name, kind)
    (folder / f"{name}.ext").write_text(f"subjectAltName={sans}\n")
    if not ca:
        openssl(
            "req", "-x509", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}", "-days", "2",
            "-addext", f"subjectAltName={sans}", "-out", f"{name}.crt", cwd=folder,
        )  # fmt: skip
        return
    openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}", "-out", f"{name}.csr",
            cwd=folder)  # fmt: skip
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
        cwd=folder,
    )  # fmt: skip


def fixture_text(name: str) -> str:
    """The text of ``tests/fixtures/web/<name>``."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def write_web_config(folder: Path, text: str) -> Path:
    """``folder/web.yml`` with ``text`` (paths in it are relative to ``folder``)."""
    path = folder / "web.yml"
    path.write_text(text, encoding="utf-8")
    return path


_PLACEHOLDER = re.compile(r"^( *)<<([\w.-]+)>>$", re.MULTILINE)


def render(text: str, folder: Path) -> str:
    """The fixture's text with each ``<<file>>`` replaced by that file, at its indentation."""

    def pem(match: re.Match[str]) -> str:
        indent, name = match.groups()
        lines = (folder / name).read_text().strip().splitlines()
        return "\n".join(indent + line for line in lines)

    return _PLACEHOLDER.sub(pem, text)


def load_fixture(name: str, folder: Path) -> Path:
    """Write fixture ``name`` as ``folder/web.yml``, placeholders filled; returns its path."""
    return write_web_config(folder, render((FIXTURES / name).read_text(encoding="utf-8"), folder))


def main_config() -> Config:
    """A config whose API is a closed loopback port: the web side is what is tested here."""
    return Config.model_validate(
        {
            "pushwoosh": {"api_url": "http://127.0.0.1:9", "request_timeout": "1s"},
            "collection": {"interval": "1h"},
            "applications": [{"code": "ABCDE-12345"}],
        }
    )


@dataclass
class Answer:
    """One HTTP answer and what the TLS handshake agreed on."""

    status: int
    headers: dict[str, str]
    body: str
    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    server_cert: bytes | None = None
    raw_headers: list[tuple[str, str]] = field(default_factory=list)


def client_context(
    pki: Path,
    cert: str | None = None,
    *,
    versions: tuple[ssl.TLSVersion, ssl.TLSVersion] | None = None,
    ciphers: str | None = None,
    curve: str | None = None,
    alpn: Iterable[str] = (),
) -> ssl.SSLContext:
    """A client trusting the test CA, with client certificate ``cert`` and the given limits."""
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert is not None:
        context.load_cert_chain(pki / f"{cert}.crt", pki / f"{cert}.key")
    if versions is not None:
        context.minimum_version, context.maximum_version = versions
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if curve is not None:
        context.set_ecdh_curve(curve)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


async def request(
    port: int,
    context: ssl.SSLContext | None,
    path: str = "/-/healthy",
    *,
    method: str = "GET",
    auth: tuple[str, str] | None = None,
) -> Answer:
    """One HTTP/1.1 request on a new connection; a refused handshake raises (ssl.SSLError,
    ConnectionError or asyncio.IncompleteReadError)."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(
            "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1" if context else None
        ),
        10,
    )
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            lines.append(f"Authorization: Basic {token}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
        if not raw:
            raise asyncio.IncompleteReadError(raw, None)
        tls = writer.get_extra_info("ssl_object")
    finally:
        writer.close()
    head, _, body = raw.decode("latin-1").partition("\r\n\r\n")
    status_line, *header_lines = head.split("\r\n")
    pairs = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines)]
    return Answer(
        status=int(status_line.split()[1]),
        headers={k.lower(): v for k, v in pairs},
        body=body,
        version=tls.version() if tls else None,
        cipher=tls.cipher()[0] if tls else None,
        alpn=tls.selected_alpn_protocol() if tls else None,
        server_cert=tls.getpeercert(binary_form=True) if tls else None,
        raw_headers=pairs,
    )


REFUSED = (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError)
"""What a refused TLS connection looks like to the client."""


def bcrypt_hash(password: str) -> str:
    """A cheap (cost 4) bcrypt hash for tests."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
