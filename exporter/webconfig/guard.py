"""The web config applied to the HTTP server, replaceable while it serves.

:class:`WebGuard` is handed to the aiohttp application once: its middleware checks client
certificate SANs, the rate limit and basic auth, its response hook adds the configured
headers to every answer, and its TLS context wraps each new connection with the context in
force. ``replace`` swaps in a newly loaded web config (reload); connections already open
keep the TLS session they have.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import ssl
import time
from collections.abc import Callable

import bcrypt
from aiohttp import web
from aiohttp.typedefs import Handler

from exporter.webconfig.loader import RateLimit, WebConfig, WebConfigError
from exporter.webconfig.tls import LiveTLS, ServingContext

HEALTH_PATHS = ("/-/healthy", "/-/ready")
_UNKNOWN_USER_HASH = b"$2b$10$NFyfHhXavmTk5gudadECdOk/4basMyC0pw3zSQmGYp65bbZ3mWk72"
"""Checked against for a user that does not exist, so answers take as long as for one that
does and user names cannot be guessed from timing."""
_MAX_REMEMBERED = 1024
_SAN_KINDS = {"DNS": "dns", "IP Address": "ip", "email": "email", "URI": "uri"}


class TokenBucket:
    """``burst`` tokens, one back every ``interval`` seconds; a request takes one."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._tokens = float(limit.burst)
        self._at = clock()

    def take(self) -> bool:
        """Take a token if there is one."""
        now = self._clock()
        refilled = self._tokens + (now - self._at) / self._limit.interval
        self._tokens, self._at = min(float(self._limit.burst), refilled), now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class WebGuard:
    """The web config in force, applied per connection and per request."""

    def __init__(self, config: WebConfig) -> None:
        self._bcrypt_lock = asyncio.Lock()  # one bcrypt at a time: it is CPU-bound by design
        self._install(config)

    @property
    def config(self) -> WebConfig:
        """The web config in force."""
        return self._config

    def replace(self, config: WebConfig) -> None:
        """Apply a newly loaded web config; raises WebConfigError if it turns TLS on or off."""
        if (config.tls is None) != (self._config.tls is None):
            state = "on" if config.tls is not None else "off"
            raise WebConfigError(
                f"{config.source}: turning TLS {state} needs a restart (the listening socket"
                " keeps the protocol it started with); the previous web config stays in force"
            )
        self._install(config)

    def _install(self, config: WebConfig) -> None:
        self._config = config
        self._tls = (
            LiveTLS(config.tls, config.context)
            if config.tls is not None and config.context is not None
            else None
        )
        self._bucket = TokenBucket(config.rate_limit) if config.rate_limit else None
        self._verified: set[bytes] = set()  # digests of credentials bcrypt accepted

    def ssl_context(self) -> ssl.SSLContext | None:
        """The context to listen with: it wraps each connection with the one in force."""
        if self._tls is None:
            return None
        return ServingContext(self._current_context)

    def _current_context(self) -> ssl.SSLContext:
        assert self._tls is not None, "TLS is never turned on after start"
        return self._tls.current()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Client certificate SANs, then the rate limit, then the password, then the handler."""
        config = self._config
        if config.tls is not None and not _san_allowed(request, config):
            refused = web.Response(
                status=403,
                text="Forbidden: the client certificate carries none of the allowed SANs\n",
            )
            refused.force_close()  # as Go ends such a connection at the handshake
            return refused
        if self._bucket is not None and not self._bucket.take():
            raise web.HTTPTooManyRequests(text="Too Many Requests\n")
        if not config.users or (config.open_health and request.path in HEALTH_PATHS):
            return await handler(request)
        if await self._authorised(request.headers.get("Authorization", ""), config):
            return await handler(request)
        raise web.HTTPUnauthorized(
            headers={"WWW-Authenticate": 'Basic realm="pushwoosh-exporter"'},
            text="Unauthorized\n",
        )

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """aiohttp's on_response_prepare hook: the configured headers on every answer."""
        for name, value in self._config.headers.items():
            response.headers[name] = value

    async def _authorised(self, header: str, config: WebConfig) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        hashed = config.users.get(user)
        known = hashed is not None
        hashed = hashed or _UNKNOWN_USER_HASH
        digest = hashlib.sha256(b"\0".join((user.encode(), hashed, password.encode()))).digest()
        if known and any(hmac.compare_digest(digest, seen) for seen in self._verified):
            return True
        async with self._bcrypt_lock:
            try:
                ok = await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed)
            except ValueError:
                ok = False
        if ok and known:
            if len(self._verified) >= _MAX_REMEMBERED:
                self._verified.clear()
            self._verified.add(digest)
        return ok and known


def _san_allowed(request: web.Request, config: WebConfig) -> bool:
    """Whether the client certificate has an allowed SAN (always, without client_allowed_sans).

    Under RequireAnyClientCert the certificate is not verified, but Python still decodes it
    because the context asks for one."""
    assert config.tls is not None
    allowed = config.tls.config.client_allowed_sans
    if allowed is None:
        return True
    ssl_object = request.transport.get_extra_info("ssl_object") if request.transport else None
    certificate = ssl_object.getpeercert() if ssl_object is not None else None
    if not certificate:
        return False
    wanted = {_canonical(san) for san in allowed}
    for kind, value in certificate.get("subjectAltName", ()):
        if kind in _SAN_KINDS and _canonical(value) in wanted:
            return True
    return False


def _canonical(san: str) -> str:
    """IP addresses compare as addresses (``::1`` and ``0:0:0:0:0:0:0:1`` are the same)."""
    try:
        return str(ipaddress.ip_address(san))
    except ValueError:
        return san
