"""The probe's output line: SPEC's fields in order, logfmt-quoted, one line whatever the text."""

from exporter.probe import ProbeResult
from exporter.store import TargetKey

KEY = TargetKey("app_stats", "ABCDE-12345")


def test_a_success_line_names_methods_calls_series_and_newest_bucket() -> None:
    result = ProbeResult(KEY, ("getAppStats",), 2, series=6, newest=1_764_323_940)
    assert result.line() == (
        "collector=app_stats target=ABCDE-12345 method=getAppStats calls=2 result=ok "
        "series=6 newest=2025-11-28T09:59:00Z"
    )


def test_a_failure_line_quotes_the_message_and_shows_the_body_on_one_line() -> None:
    result = ProbeResult(
        KEY,
        ("getAppStats",),
        1,
        reason="malformed",
        error="getAppStats: body is not JSON (30 bytes)",
        path="body",
        body='<html>\n"bad" = \\ </html>',
    )
    assert result.line() == (
        "collector=app_stats target=ABCDE-12345 method=getAppStats calls=1 result=malformed "
        'error="getAppStats: body is not JSON (30 bytes)" path=body '
        'body="<html>\\n\\"bad\\" = \\\\ </html>" series=0 newest=-'
    )


def test_a_bucket_from_the_future_asks_for_the_timezone() -> None:
    result = ProbeResult(KEY, ("getAppStats",), 2, series=6, newest=1_764_327_600, ahead=3600.0)
    assert result.line().endswith(
        'note="newest bucket starts 1.0h in the future: set pushwoosh.timezone to the zone '
        'the account reports in"'
    )
    assert "note=" not in ProbeResult(KEY, (), 1, ahead=100.0).line()
