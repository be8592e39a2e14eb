"""The server's TLS: an ``ssl.SSLContext`` built from ``tls_server_config``, rebuilt when the
certificate files change, and handed to each new connection.

What Python's ``ssl`` can and cannot do shapes a few choices (README "TLS and basic auth"):

- Go's ``RequestClientCert`` and ``RequireAnyClientCert`` ask for a certificate without
  verifying it. Python's ``ssl`` verifies every certificate it asks for, so for those two
  policies the context's OpenSSL verify callback is replaced (through ctypes, on the
  ``SSL_CTX`` that CPython's context wraps) by one that accepts any chain; the sanity checks
  in :func:`_accept_any_certificate` refuse the policy at load where that is not possible.
- ``curve_preferences``: ``set_ecdh_curve`` takes one curve, so the first one is offered.
- TLS 1.3 cipher suites cannot be chosen (nor can they in Go).
- exporter-toolkit reads the certificate files at every handshake; :class:`LiveTLS` does the
  same cheaply: it compares the files' stat at each new connection and rebuilds on a change.
"""

import _ssl
import ctypes
import os
import ssl
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import structlog

from exporter.webconfig.model import TLSServerConfig
from exporter.webconfig.names import CIPHER_SUITES, CURVES

log = structlog.get_logger(__name__)

_VERSIONS: Final = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_UNVERIFIED_POLICIES: Final = frozenset({"RequestClientCert", "RequireAnyClientCert"})
_MODES: Final = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}

Loc = tuple[str, ...]


class TLSProblem(Exception):
    """A TLS setting cannot be applied: the key path (under tls_server_config) and why."""

    def __init__(self, loc: Loc, sentence: str) -> None:
        super().__init__(sentence)
        self.loc = loc
        self.sentence = sentence


@dataclass(frozen=True, slots=True)
class TLSSettings:
    """``tls_server_config`` with its file paths resolved against the web config's folder."""

    config: TLSServerConfig
    folder: Path

    def path(self, key: str) -> Path | None:
        """The resolved path of ``cert_file``, ``key_file`` or ``client_ca_file``, if set."""
        value = getattr(self.config, key)
        return None if value is None else self.folder / value

    def files(self) -> list[Path]:
        """Every file the context is built from, the ones to watch for changes."""
        keys = ("cert_file", "key_file", "client_ca_file")
        return [p for p in (self.path(k) for k in keys) if p is not None]

    def notes(self) -> list[str]:
        """Settings honoured only in part, to be logged where the config is loaded."""
        curves = self.config.curve_preferences or []
        if len(curves) > 1:
            return [
                f"tls_server_config.curve_preferences: only {curves[0]} is offered; Python's ssl"
                f" sets one curve, so {', '.join(curves[1:])} are not"
            ]
        return []


def build_context(settings: TLSSettings) -> ssl.SSLContext:
    """A server context applying every key of ``settings``; raises TLSProblem."""
    config = settings.config
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _VERSIONS[config.min_version]
    context.maximum_version = _VERSIONS[config.max_version]
    if config.cipher_suites:
        context.set_ciphers(":".join(CIPHER_SUITES[name] for name in config.cipher_suites))
    if not config.prefer_server_cipher_suites:
        context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if config.curve_preferences:
        context.set_ecdh_curve(CURVES[config.curve_preferences[0]])
    context.set_alpn_protocols(["http/1.1"])
    _load_certificate(context, settings)
    _load_client_cas(context, settings)
    context.verify_mode = _MODES[config.policy]
    if config.policy in _UNVERIFIED_POLICIES:
        _accept_any_certificate(context)
    return context


def _read(settings: TLSSettings, key: str) -> bytes:
    path = settings.path(key)
    inline = getattr(settings.config, key.removesuffix("_file"))
    if path is None:
        return str(inline).encode()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TLSProblem((key,), f"cannot read {path}: {exc.strerror or exc}") from None


def _where(settings: TLSSettings, key: str) -> str:
    path = settings.path(key)
    return str(path) if path is not None else f"the inline {key.removesuffix('_file')}"


def _load_certificate(context: ssl.SSLContext, settings: TLSSettings) -> None:
    cert, key = _read(settings, "cert_file"), _read(settings, "key_file")
    cert_at = ("cert_file",) if settings.config.cert_file else ("cert",)
    key_at = ("key_file",) if settings.config.key_file else ("key",)
    if b"-----BEGIN CERTIFICATE-----" not in cert:
        raise TLSProblem(cert_at, f"{_where(settings, 'cert_file')} holds no PEM certificate")
    if b"ENCRYPTED" in key:
        raise TLSProblem(
            key_at,
            f"{_where(settings, 'key_file')} is an encrypted key: give it unencrypted"
            " (exporter-toolkit takes no key password either)",
        )
    if b"PRIVATE KEY-----" not in key:
        raise TLSProblem(key_at, f"{_where(settings, 'key_file')} holds no PEM private key")
    with _as_file(cert) as cert_path, _as_file(key) as key_path:
        try:
            context.load_cert_chain(cert_path, key_path, password=_no_password)
        except ssl.SSLError as exc:
            if exc.reason == "KEY_VALUES_MISMATCH":
                raise TLSProblem(
                    key_at,
                    f"{_where(settings, 'key_file')} is not the key of the certificate in"
                    f" {_where(settings, 'cert_file')}",
                ) from None
            raise TLSProblem(
                cert_at,
                f"cannot load {_where(settings, 'cert_file')} with"
                f" {_where(settings, 'key_file')}: {exc.reason or exc}",
            ) from None


def _load_client_cas(context: ssl.SSLContext, settings: TLSSettings) -> None:
    config = settings.config
    if config.client_ca_file is None and config.client_ca is None:
        if config.policy in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
            context.load_default_certs(ssl.Purpose.CLIENT_AUTH)  # Go: the system roots
        return
    at = ("client_ca_file",) if config.client_ca_file else ("client_ca",)
    data = _read(settings, "client_ca_file")
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TLSProblem(at, f"{_where(settings, 'client_ca_file')} holds no PEM certificate")
    try:
        context.load_verify_locations(cadata=data.decode("ascii", errors="replace"))
    except ssl.SSLError as exc:
        raise TLSProblem(
            at, f"cannot load {_where(settings, 'client_ca_file')}: {exc.reason or exc}"
        ) from None


def _no_password() -> str:
    # Without a callback OpenSSL would prompt on the terminal for an encrypted key.
    raise ValueError("encrypted keys are not supported")


@contextmanager
def _as_file(data: bytes) -> Iterator[str]:
    """A path OpenSSL can read ``data`` from: a memory file where there is one (keys never
    reach a disk), else a private temporary file removed at once."""
    if hasattr(os, "memfd_create") and Path("/proc/self/fd").is_dir():
        fd = os.memfd_create("pushwoosh-exporter-tls", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pem"
        path.touch(mode=0o600)
        path.write_bytes(data)
        yield str(path)


# --- a client certificate asked for but not verified (Go's Request/RequireAnyClientCert) ---

_VERIFY_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


def _accept(preverify_ok: int, store: int | None) -> int:
    return 1  # any certificate the client sends is accepted; its SANs may still be checked


_accept_chain: Any = _VERIFY_CALLBACK(_accept)  # referenced for the process' lifetime


def _openssl() -> Any:
    """libssl's functions as loaded by CPython's own _ssl module, or None."""
    if sys.implementation.name != "cpython":
        return None
    try:
        lib = ctypes.CDLL(_ssl.__file__)
        get_mode, get_options = lib.SSL_CTX_get_verify_mode, lib.SSL_CTX_get_options
        set_verify = lib.SSL_CTX_set_verify
    except (OSError, AttributeError):
        return None
    get_mode.argtypes, get_mode.restype = [ctypes.c_void_p], ctypes.c_int
    get_options.argtypes, get_options.restype = [ctypes.c_void_p], ctypes.c_uint64
    set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, _VERIFY_CALLBACK]
    set_verify.restype = None
    return lib


_LIB: Final = _openssl()


def _accept_any_certificate(context: ssl.SSLContext) -> None:
    """Keep the context's verify mode but accept any client chain; raises TLSProblem where
    this Python's ssl does not wrap the SSL_CTX the way checked here."""
    refusal = TLSProblem(
        ("client_auth_type",),
        "this Python's ssl module cannot ask for a client certificate without verifying it:"
        " use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file",
    )
    if _LIB is None:
        raise refusal
    # CPython's context object starts with its SSL_CTX pointer right after the object header.
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    expected_mode = {ssl.CERT_OPTIONAL: 1, ssl.CERT_REQUIRED: 3}[context.verify_mode]
    if (
        not pointer
        or _LIB.SSL_CTX_get_verify_mode(pointer) != expected_mode
        or _LIB.SSL_CTX_get_options(pointer) != int(context.options)
    ):
        raise refusal
    _LIB.SSL_CTX_set_verify(pointer, expected_mode, _accept_chain)


class LiveTLS:
    """The context in force for new connections; rebuilt when the certificate files change.

    A rebuild that fails (a certificate written before its key, a file half-written) is
    logged once and the previous context keeps serving until the files are right again.
    """

    def __init__(self, settings: TLSSettings, context: ssl.SSLContext) -> None:
        self.settings = settings
        self._context = context
        self._stamp = self._files_stamp()
        self._failed_stamp: tuple[Any, ...] | None = None

    def current(self) -> ssl.SSLContext:
        """The context for a new connection, from the files as they are now."""
        stamp = self._files_stamp()
        if stamp == self._stamp or stamp == self._failed_stamp:
            return self._context
        try:
            context = build_context(self.settings)
        except TLSProblem as exc:
            self._failed_stamp = stamp
            log.error("tls_files_unusable", error=exc.sentence, serving="previous certificate")
            return self._context
        self._context, self._stamp, self._failed_stamp = context, stamp, None
        log.info("tls_files_reloaded", files=[str(p) for p in self.settings.files()])
        return context

    def _files_stamp(self) -> tuple[Any, ...]:
        stamps: list[Any] = []
        for path in self.settings.files():
            try:
                st = path.stat()
            except OSError as exc:
                stamps.append(exc.errno)
            else:
                stamps.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        return tuple(stamps)


class ServingContext(ssl.SSLContext):
    """The one context the listening socket is given: each connection it wraps is wrapped by
    the context in force at that moment (asyncio wraps every connection with ``wrap_bio``)."""

    _source: Callable[[], ssl.SSLContext]

    def __new__(cls, source: Callable[[], ssl.SSLContext]) -> "ServingContext":
        """A context delegating to ``source()``, called once per new connection."""
        self = super().__new__(cls, ssl.PROTOCOL_TLS_SERVER)
        self._source = source
        return self

    def __init__(self, source: Callable[[], ssl.SSLContext]) -> None:
        pass  # all set in __new__: SSLContext's own __init__ takes no source

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        """Wrap a new connection with the context in force."""
        return self._source().wrap_bio(*args, **kwargs)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        """Wrap a new socket with the context in force."""
        return self._source().wrap_socket(*args, **kwargs)
