"""Structured logs (logfmt or JSON) on stderr, with secrets redacted from every event.

Both structlog events and the standard library's records (aiohttp, asyncio) go through the
same processors, so the redaction covers everything the process logs.
"""

import logging
import sys
from collections.abc import Iterable

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "<redacted>"


class Redactor:
    """A structlog processor replacing every known secret in every value with a marker."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, secrets: Iterable[str]) -> None:
        """Start redacting ``secrets`` (empty strings are ignored)."""
        self._secrets.update(s for s in secrets if s)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def __call__(self, logger: WrappedLogger, name: str, event: EventDict) -> EventDict:
        if not self._secrets:
            return event
        for key, value in list(event.items()):
            if isinstance(value, str):
                event[key] = self.redact(value)
            elif not isinstance(value, int | float | bool | type(None)):
                text = str(value)
                if self.redact(text) != text:
                    event[key] = self.redact(text)
        return event


REDACTOR = Redactor()
"""The process-wide redactor; the CLI adds the API token to it once loaded."""


def configure_logging(level: str = "info", fmt: str = "logfmt") -> None:
    """Send structlog and standard-library logs to stderr at ``level`` in ``fmt``."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        structlog.processors.format_exc_info,
        REDACTOR,
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.processors.LogfmtRenderer(
            key_order=["ts", "level", "event"], drop_missing=True
        )
    )
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
