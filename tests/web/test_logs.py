"""Structured logs: logfmt or JSON, and secrets redacted from every field and traceback."""

import json
import logging

import pytest
import structlog

from exporter.logsetup import REDACTOR, configure_logging

SECRET = "tok-LOGS-5e4d3c2b1a"


@pytest.fixture(autouse=True)
def _restore_structlog() -> object:
    yield
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def test_secrets_are_redacted_in_fields_exceptions_and_stdlib_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    REDACTOR.add([SECRET])
    configure_logging("debug", "logfmt")
    log = structlog.get_logger("test")
    log.info("request_body", body={"request": {"auth": SECRET}})
    try:
        raise RuntimeError(f"boom with {SECRET}")
    except RuntimeError:
        log.exception("crashed")
    logging.getLogger("aiohttp.client").warning("stdlib record carrying %s", SECRET)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("<redacted>") >= 3
    assert "event=request_body" in err
    assert "RuntimeError" in err


def test_json_format_is_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    structlog.get_logger("test").warning("poll_failed", target="ABCDE-12345", reason="auth")
    structlog.get_logger("test").debug("hidden")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert (event["event"], event["level"], event["reason"]) == ("poll_failed", "warning", "auth")
