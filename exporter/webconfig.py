"""``--web.config.file``: TLS and basic auth in the Prometheus exporter-toolkit format.

```yaml
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt                       # optional
  client_auth_type: RequireAndVerifyClientCert # NoClientCert (default), VerifyClientCertIfGiven
basic_auth_users:
  prometheus: $2b$12$...                       # bcrypt hash
```
Paths are relative to the web config file. Every endpoint requires the credentials when
users are configured, except ``/-/healthy`` and ``/-/ready`` when
``unauthenticated_health_probes: true`` is set (an extension of ours, for kubelet probes).
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

CLIENT_AUTH_TYPES = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
HEALTH_PATHS = ("/-/healthy", "/-/ready")


class WebConfigError(Exception):
    """The web config file is unusable; the message names the file and the cause."""


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A parsed web config."""

    cert_file: Path | None = None
    key_file: Path | None = None
    client_ca_file: Path | None = None
    client_auth_type: str = "NoClientCert"
    users: Mapping[str, bytes] = field(default_factory=dict)
    open_health: bool = False

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server TLS context, or None for plain HTTP."""
        if self.cert_file is None or self.key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
            if self.client_ca_file is not None:
                context.load_verify_locations(self.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise WebConfigError(f"cannot load TLS files: {exc}") from None
        context.verify_mode = CLIENT_AUTH_TYPES[self.client_auth_type]
        return context


def load_web_config(path: Path) -> WebConfig:
    """Read and check the web config file; raises WebConfigError."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise WebConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise WebConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise WebConfigError(f"{path}: must be a mapping")
    allowed = {
        "tls_server_config",
        "basic_auth_users",
        "http_server_config",
        "unauthenticated_health_probes",
    }
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise WebConfigError(f"{path}: unknown key {unknown[0]!r}")
    tls = _mapping(data.get("tls_server_config"), path, "tls_server_config")
    users = _mapping(data.get("basic_auth_users"), path, "basic_auth_users")
    base = path.parent

    def file(key: str) -> Path | None:
        value = tls.get(key)
        return None if value in (None, "") else base / str(value)

    auth_type = str(tls.get("client_auth_type") or "NoClientCert")
    if auth_type not in CLIENT_AUTH_TYPES:
        raise WebConfigError(
            f"{path}: tls_server_config.client_auth_type must be one of "
            f"{', '.join(CLIENT_AUTH_TYPES)} (got {auth_type!r})"
        )
    config = WebConfig(
        cert_file=file("cert_file"),
        key_file=file("key_file"),
        client_ca_file=file("client_ca_file"),
        client_auth_type=auth_type,
        users={str(name): str(hashed).encode() for name, hashed in users.items()},
        open_health=data.get("unauthenticated_health_probes") is True,
    )
    if tls and (config.cert_file is None or config.key_file is None):
        raise WebConfigError(f"{path}: tls_server_config needs both cert_file and key_file")
    try:
        config.ssl_context()  # fail now, with the file named, rather than at the first request
    except WebConfigError as exc:
        raise WebConfigError(f"{path}: {exc}") from None
    return config


def _mapping(value: Any, path: Path, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebConfigError(f"{path}: {key} must be a mapping")
    return value


def basic_auth_middleware(config: WebConfig) -> Middleware:
    """An aiohttp middleware asking for the configured users' passwords."""
    verified: set[bytes] = set()  # digests of credentials already checked: bcrypt is slow

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if config.open_health and request.path in HEALTH_PATHS:
            return await handler(request)
        if await _authorised(request.headers.get("Authorization", ""), config, verified):
            return await handler(request)
        raise web.HTTPUnauthorized(
            headers={"WWW-Authenticate": 'Basic realm="pushwoosh-exporter"'},
            text="Unauthorized\n",
        )

    return middleware


async def _authorised(header: str, config: WebConfig, verified: set[bytes]) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    hashed = config.users.get(user)
    if hashed is None:
        return False
    digest = hashlib.sha256(hashed + b"\0" + password.encode()).digest()
    if any(hmac.compare_digest(digest, known) for known in verified):
        return True
    try:
        ok = await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed)
    except ValueError:
        return False
    if ok:
        verified.add(digest)
    return ok
