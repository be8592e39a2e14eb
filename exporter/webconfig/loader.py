"""Reading ``--web.config.file``: strict YAML, the models of :mod:`.model`, the TLS files.

Errors read like the main config's, one line per problem: ``web.yml:7:
tls_server_config.min_version: TLS 1.0 and 1.1 are not offered: ...``. A missing certificate
file, a key that does not match, a file that is not UTF-8: each is one line naming the file.
Password hashes and inline private keys never appear in a message.
"""

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from exporter.config import ConfigError, parse_yaml, read_text_file, validate_document
from exporter.config.messages import format_path, show_value
from exporter.webconfig.model import WebConfigFile
from exporter.webconfig.tls import TLSProblem, TLSSettings, build_context


class WebConfigError(ConfigError):
    """The web config cannot be used; ``str()`` is one line per problem, naming the file.

    A :class:`ConfigError`, so the paths that refuse a bad config at start and at reload
    refuse a bad web config the same way."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``rate_limit``: ``burst`` requests at once, one more every ``interval`` seconds."""

    interval: float
    burst: int


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A loaded web config: what the HTTP server applies. ``WebConfig()`` is none at all."""

    source: Path | None = None
    tls: TLSSettings | None = None
    context: ssl.SSLContext | None = None
    """The TLS context built from the files at load (None without TLS)."""
    users: Mapping[str, bytes] = field(default_factory=dict)
    """User name -> bcrypt hash."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Headers sent on every answer (blank ones left out: "unset if blank")."""
    open_health: bool = False
    rate_limit: RateLimit | None = None
    notes: tuple[str, ...] = ()
    """Settings honoured only in part, to be logged wherever the config is loaded."""

    @property
    def cert_file(self) -> Path | None:
        """The server certificate file, if TLS comes from files."""
        return None if self.tls is None else self.tls.path("cert_file")


def load_web_config(path: Path) -> WebConfig:
    """Read and check the web config at ``path``, loading its TLS files; raises WebConfigError."""
    try:
        text = read_text_file(path, "web config file")
    except ConfigError as exc:
        raise WebConfigError(exc.problems) from None
    return parse_web_config(text, path)


def parse_web_config(text: str, path: Path) -> WebConfig:
    """Check a web config's text; ``path`` names it in messages and anchors relative files."""
    source = str(path)
    try:
        document = parse_yaml(text, source)
        if document.data is None:
            return WebConfig(source=path)
        if not isinstance(document.data, dict):
            raise ConfigError(
                f"{source}:{document.line_of(())}: the web config must be a mapping with keys"
                " such as tls_server_config and basic_auth_users"
                f" (got {show_value(document.data)})"
            )
        model = validate_document(document, WebConfigFile, source)
    except ConfigError as exc:
        raise WebConfigError(exc.problems) from None
    tls = context = None
    notes: list[str] = []
    if model.tls_server_config is not None and model.tls_server_config.enabled:
        tls = TLSSettings(model.tls_server_config, path.parent)
        try:
            context = build_context(tls)
        except TLSProblem as exc:
            loc = ("tls_server_config", *exc.loc)
            line = document.line_of(loc)
            raise WebConfigError(f"{source}:{line}: {format_path(loc)}: {exc.sentence}") from None
        notes += tls.notes()
    http = model.http_server_config
    if http is not None and "http2" in http.model_fields_set and http.http2 and tls is not None:
        notes.append(
            "http_server_config.http2: HTTP/2 is not served; clients are answered over"
            " HTTP/1.1, which they fall back to through ALPN"
        )
    limit = model.rate_limit
    return WebConfig(
        source=path,
        tls=tls,
        context=context,
        users=dict(model.basic_auth_users or {}),
        headers={k: v for k, v in ((http and http.headers) or {}).items() if v},
        open_health=model.unauthenticated_health_probes,
        rate_limit=RateLimit(limit.interval, limit.burst) if limit and limit.interval else None,
        notes=tuple(notes),
    )
