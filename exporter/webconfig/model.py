"""The web config file as strict models: exporter-toolkit's format, key by key.

Every key of exporter-toolkit's ``web-configuration.md`` is here, plus our
``unauthenticated_health_probes``. A value is either checked to mean what it means for the Go
exporters, or refused with a sentence saying why; nothing is read and then ignored. Errors are
pydantic custom errors whose message is the sentence: kind ``rule``, or ``secret`` where the
value must never be echoed (password hashes, inline private keys).
"""

import re
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, PlainValidator, field_validator, model_validator
from pydantic_core import PydanticCustomError

from exporter.webconfig.names import (
    CIPHER_SUITES,
    CLIENT_AUTH_TYPES,
    CURVES,
    HEADERS,
    INSECURE_SUITES,
    SAN_CHECKING_AUTH,
    TLS13_SUITES,
    TLS_VERSIONS,
    UNSUPPORTED_VERSIONS,
)

_BCRYPT = re.compile(r"\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}")
_GO_DURATION = re.compile(r"[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+")
_GO_PART = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNITS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)


def _rule(message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError("rule", message, ctx or None)


def _optional_text(value: Any) -> str | None:
    """A string, where empty (or null) means unset, as exporter-toolkit reads its strings."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _rule("must be a string")
    return value


def _pem(value: Any) -> str | None:
    text = _optional_text(value)
    if text is not None and "-----BEGIN" not in text:
        raise _rule("must be PEM text (-----BEGIN ...), written inline, e.g. with key: |")
    return text


def _secret_pem(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "-----BEGIN" not in value or "PRIVATE KEY-----" not in value:
        raise PydanticCustomError(
            "secret", "must be a PEM private key written inline (-----BEGIN ... PRIVATE KEY-----)"
        )
    return value


def _bcrypt_hash(value: Any) -> bytes:
    match = _BCRYPT.fullmatch(value) if isinstance(value, str) else None
    if match is None or not 4 <= int(match.group(1)) <= 31:
        raise PydanticCustomError(
            "secret",
            "must be a bcrypt hash ($2a$, $2b$ or $2y$, cost 04 to 31), as made by"
            " htpasswd -nBC 10 \"\" | tr -d ':\\n'; the password itself is never written here",
        )
    return str(value).encode()


def _client_auth(value: Any) -> str:
    if value is None or value == "":
        return ""  # unset: NoClientCert, but not a sign that TLS is wanted
    if value == "RequireClientCert":  # exporter-toolkit's old name, still accepted there
        return "RequireAnyClientCert"
    if value not in CLIENT_AUTH_TYPES:
        raise _rule("must be one of " + ", ".join(CLIENT_AUTH_TYPES))
    return str(value)


def _tls_version(value: Any) -> str:
    if value in UNSUPPORTED_VERSIONS:
        raise _rule(
            "TLS 1.0 and 1.1 are not offered: this exporter's OpenSSL refuses them unless its"
            " security level is lowered for every connection; use TLS12 or TLS13"
        )
    if value not in TLS_VERSIONS:
        raise _rule("must be TLS12 or TLS13 (exporter-toolkit's names)")
    return str(value)


def _go_duration(value: Any) -> float:
    """Go's ``time.ParseDuration`` text (``1s``, ``500ms``, ``1m30s``) -> seconds; 0 alone too."""
    if value == 0 and not isinstance(value, bool):
        return 0.0
    if isinstance(value, str) and value in ("0", "+0", "-0"):
        return 0.0
    if not isinstance(value, str) or not _GO_DURATION.fullmatch(value):
        raise _rule(
            "must be a Go duration such as 1s, 500ms or 1m30s (a bare number would be"
            " nanoseconds in Go)"
        )
    seconds = sum(float(n) * _GO_UNITS[unit] for n, unit in _GO_PART.findall(value))
    return -seconds if value.startswith("-") else seconds


OptionalText = Annotated[str | None, PlainValidator(_optional_text)]
Pem = Annotated[str | None, PlainValidator(_pem)]
SecretPem = Annotated[str | None, PlainValidator(_secret_pem)]
BcryptHash = Annotated[bytes, PlainValidator(_bcrypt_hash)]
GoDuration = Annotated[float, PlainValidator(_go_duration)]
ClientAuthType = Annotated[str, PlainValidator(_client_auth)]
TLSVersion = Annotated[str, PlainValidator(_tls_version)]


class TLSServerConfig(BaseModel):
    """``tls_server_config``: the server certificate, client certificates, versions, suites."""

    model_config = _STRICT

    cert: Pem = None
    """The server certificate (chain) as inline PEM, instead of cert_file."""
    key: SecretPem = None
    """The server's private key as inline PEM, instead of key_file."""
    client_ca: Pem = None
    """CA certificates for client certificates as inline PEM, instead of client_ca_file."""
    cert_file: OptionalText = None
    """The server certificate file, relative to the web config file."""
    key_file: OptionalText = None
    """The server's private key file, relative to the web config file."""
    client_ca_file: OptionalText = None
    """CA certificates that client certificates are verified against."""
    client_auth_type: ClientAuthType = ""
    """Go's client certificate policy; unset or empty means NoClientCert, as in Go."""
    client_allowed_sans: list[str] | None = None
    """Client certificates must carry one of these DNS, IP, e-mail or URI SANs."""
    min_version: TLSVersion = "TLS12"
    """The oldest TLS version accepted."""
    max_version: TLSVersion = "TLS13"
    """The newest TLS version accepted."""
    cipher_suites: list[str] | None = None
    """TLS <= 1.2 cipher suites by Go's names, in the server's order of preference."""
    prefer_server_cipher_suites: bool = True
    """Pick the cipher by the server's order (true) or the client's (false)."""
    curve_preferences: list[str] | None = None
    """ECDHE curves by Go's names; only the first is offered (see README)."""

    @property
    def policy(self) -> str:
        """The client certificate policy in force (Go's name)."""
        return self.client_auth_type or "NoClientCert"

    @property
    def enabled(self) -> bool:
        """Whether TLS is asked for (exporter-toolkit's test: a certificate, key, CA or policy)."""
        return (
            any(
                (
                    self.cert,
                    self.key,
                    self.client_ca,
                    self.cert_file,
                    self.key_file,
                    self.client_ca_file,
                )
            )
            or "client_auth_type" in self._given()
        )

    def _given(self) -> list[str]:
        """The keys written with a value (an empty string or null is unset, as in Go)."""
        return sorted(k for k in self.model_fields_set if getattr(self, k) not in (None, ""))

    @field_validator("cipher_suites")
    @classmethod
    def _known_suites(cls, value: list[str] | None) -> list[str] | None:
        for index, name in enumerate(value or []):
            if name in CIPHER_SUITES:
                continue
            if name in TLS13_SUITES:
                message = (
                    "{name} is a TLS 1.3 suite, and TLS 1.3 suites cannot be chosen (Go and"
                    " OpenSSL always offer all three): remove it"
                )
            elif name in INSECURE_SUITES:
                message = (
                    "{name} is one of Go's insecure cipher suites, which exporter-toolkit refuses"
                    " too; use e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
                )
            else:
                message = "unknown cipher suite {name}: use Go's names, e.g. " + ", ".join(
                    list(CIPHER_SUITES)[6:8]
                )
            raise _rule(message, name=repr(name), at=(index,))
        return value

    @field_validator("curve_preferences")
    @classmethod
    def _known_curves(cls, value: list[str] | None) -> list[str] | None:
        for index, name in enumerate(value or []):
            if name not in CURVES:
                raise _rule(
                    "unknown curve {name}: use one of " + ", ".join(CURVES),
                    name=repr(name),
                    at=(index,),
                )
        return value

    @field_validator("client_allowed_sans")
    @classmethod
    def _some_sans(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not [san for san in value if san]:
            raise _rule(
                "must list at least one SAN: an empty list would refuse every client", at=()
            )
        return value

    @model_validator(mode="after")
    def _coherent(self) -> "TLSServerConfig":
        for inline, file in (("cert", "cert_file"), ("key", "key_file")):
            if getattr(self, inline) and getattr(self, file):
                raise _rule(f"set {file} or {inline}, not both", at=(inline,))
        if self.client_ca and self.client_ca_file:
            raise _rule("set client_ca_file or client_ca, not both", at=("client_ca",))
        if not self.enabled:
            if self._given():
                raise _rule(
                    "TLS needs cert_file (or cert) and key_file (or key); without them the"
                    " exporter would serve plain HTTP and ignore {key}",
                    key=self._given()[0],
                    at=(),
                )
            return self
        if not (self.cert or self.cert_file):
            raise _rule("cert_file (or cert) is missing: TLS needs the server certificate", at=())
        if not (self.key or self.key_file):
            raise _rule("key_file (or key) is missing: TLS needs the server's private key", at=())
        if (self.client_ca or self.client_ca_file) and self.policy == "NoClientCert":
            raise _rule(
                "a client CA is set but client_auth_type is NoClientCert, so no client"
                " certificate would be asked for: set client_auth_type (e.g."
                " RequireAndVerifyClientCert)",
                at=("client_ca" if self.client_ca else "client_ca_file",),
            )
        if self.client_allowed_sans is not None and self.policy not in SAN_CHECKING_AUTH:
            raise _rule(
                "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert:"
                " with other policies a client may send no certificate, leaving no SAN to check",
                at=("client_allowed_sans",),
            )
        if TLS_VERSIONS.index(self.max_version) < TLS_VERSIONS.index(self.min_version):
            raise _rule("must not be older than min_version", at=("max_version",))
        if self.cipher_suites and self.min_version == "TLS13":
            raise _rule(
                "applies only to TLS 1.2, which min_version TLS13 turns off: remove it or lower"
                " min_version",
                at=("cipher_suites",),
            )
        return self


class HTTPServerConfig(BaseModel):
    """``http_server_config``: HTTP/2 and the extra response headers."""

    model_config = _STRICT

    http2: bool = True
    """HTTP/2 over TLS; we serve HTTP/1.1 only, so true is logged as not honoured."""
    headers: dict[str, str] | None = None
    """Headers sent on every answer, among the five exporter-toolkit allows."""

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, text in (value or {}).items():
            if name not in HEADERS:
                close = [known for known in HEADERS if known.lower() == name.lower()]
                hint = f" (names are case-sensitive: {close[0]})" if close else ""
                raise _rule(
                    "this header cannot be set{hint}: exporter-toolkit allows only "
                    + ", ".join(HEADERS),
                    hint=hint,
                    at=(name,),
                )
            if "\n" in text or "\r" in text:
                raise _rule("must be a single line", at=(name,))
            allowed = HEADERS[name]
            if text and allowed and text not in allowed:
                raise _rule(
                    "must be " + " or ".join(repr(a) for a in allowed) + " (got {value})",
                    value=repr(text),
                    at=(name,),
                )
        return value


class RateLimitConfig(BaseModel):
    """``rate_limit``: a token bucket over all requests; 429 once it is empty."""

    model_config = _STRICT

    interval: GoDuration = 0.0
    """Time for one token to come back; 0 turns the limit off."""
    burst: int = 0
    """Tokens in the bucket (requests allowed at once)."""

    @model_validator(mode="after")
    def _coherent(self) -> "RateLimitConfig":
        if self.interval < 0:
            raise _rule("must not be negative (0 turns the limit off)", at=("interval",))
        if self.interval > 0 and self.burst < 1:
            raise _rule(
                "must be at least 1 when interval is set: with {burst} every request would be"
                " refused",
                burst=self.burst,
                at=("burst",),
            )
        return self


class WebConfigFile(BaseModel):
    """The whole web config file."""

    model_config = _STRICT

    tls_server_config: TLSServerConfig | None = None
    """TLS for the exporter's endpoints; plain HTTP without it."""
    http_server_config: HTTPServerConfig | None = None
    """HTTP-level settings."""
    rate_limit: RateLimitConfig | None = None
    """A limit on requests per interval."""
    basic_auth_users: dict[str, BcryptHash] | None = None
    """User name -> bcrypt hash of the password; every endpoint asks for them."""
    unauthenticated_health_probes: bool = False
    """Ours: /-/healthy and /-/ready answer without a password (kubelet probes carry none)."""

    @field_validator("basic_auth_users", mode="before")
    @classmethod
    def _a_mapping(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, dict):  # never echo what may be a hash
            raise PydanticCustomError("secret", "must be a mapping of user names to bcrypt hashes")
        return value

    @field_validator("basic_auth_users")
    @classmethod
    def _usable_names(cls, value: dict[str, bytes] | None) -> dict[str, bytes] | None:
        for name in value or {}:
            if ":" in name:
                raise _rule(
                    "a user name cannot contain ':' (basic auth splits name and password there)",
                    at=(name,),
                )
        return value
