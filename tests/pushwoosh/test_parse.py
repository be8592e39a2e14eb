"""The parsers read every documented result shape of docs/api.md, and nothing else."""

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.pushwoosh import parse
from exporter.pushwoosh.errors import MalformedResponse, PushwooshError
from exporter.pushwoosh.models import (
    Conversion,
    EventBucket,
    StatRow,
    StatTable,
    SubscribersPoint,
)

MINUTE_1 = datetime(2026, 11, 28, 10, 1, tzinfo=UTC)

APP_STATS = """
{"applications": {"formatter": "minutely", "rows": [{"count": 3, "action": "open", "datetime": "2026-11-28 10:01:00"}, {"count": 1, "action": "install", "datetime": "2026-11-28 10:01:00"}]},
 "devices":      {"formatter": "minutely", "rows": [{"count": 5, "action": "register", "datetime": "2026-11-28 10:01:00"}]},
 "messages":     {"formatter": "minutely", "rows": [{"count": 40, "action": "send", "datetime": "2026-11-28 10:01:00"}, {"count": 7, "action": "open", "datetime": "2026-11-28 10:01:00"}]}}
"""  # noqa: E501  (the document exactly as docs/api.md shows it)


def test_app_stats_reads_the_three_scopes_of_the_documented_example() -> None:
    stats = parse.parse_app_stats(json.loads(APP_STATS))
    assert stats.applications == StatTable(
        "minutely", (StatRow("open", MINUTE_1, 3), StatRow("install", MINUTE_1, 1))
    )
    assert stats.devices == StatTable("minutely", (StatRow("register", MINUTE_1, 5),))
    assert stats.messages.rows[0] == StatRow("send", MINUTE_1, 40)
    assert stats.messages.rows[1].count == 7


QUIET = {"formatter": "minutely", "rows": []}


def test_count_sent_as_a_string_is_read_as_a_number() -> None:
    document = {"applications": {"formatter": "minutely", "rows": [
        {"count": "3", "action": "open", "datetime": "2026-11-28 10:01:00"}]},
        "devices": QUIET, "messages": QUIET}  # fmt: skip
    assert parse.parse_app_stats(document).applications.rows[0].count == 3


def test_a_scope_without_activity_is_an_empty_table() -> None:
    stats = parse.parse_app_stats({"applications": QUIET, "devices": QUIET, "messages": QUIET})
    assert stats.devices == StatTable("minutely", ())
    assert stats.applications.rows == ()


def test_a_missing_scope_reads_as_no_rows_as_in_the_legacy_example() -> None:
    only_applications = {"applications": {"formatter": "minutely", "rows": [
        {"count": 2, "action": "open", "datetime": "2026-11-28 10:01:00"}]}}  # fmt: skip
    stats = parse.parse_app_stats(only_applications)
    assert stats.applications.rows == (StatRow("open", MINUTE_1, 2),)
    assert stats.devices.rows == ()
    assert stats.messages.rows == ()


@pytest.mark.parametrize("document", [{}, []])
def test_an_answer_with_nothing_to_report_has_no_rows(document: object) -> None:
    stats = parse.parse_app_stats(document)
    assert (stats.applications.rows, stats.devices.rows, stats.messages.rows) == ((), (), ())


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"applications": QUIET, "devices": QUIET, "messages": {"formatter": "minutely"}},
            r"messages\.rows is not a list",
        ),
        (
            {"unexpected": [1, 2, 3]},
            r"none of applications, devices, messages \(keys: unexpected\)",
        ),
    ],
)
def test_a_table_without_rows_or_an_answer_without_scopes_is_malformed(
    document: object, message: str
) -> None:
    with pytest.raises(MalformedResponse, match=message):
        parse.parse_app_stats(document)


@pytest.mark.parametrize("count", ["three", -1, 1.5, True, None, [], "", "1e3", "²", float("inf")])
def test_a_count_that_is_not_a_non_negative_integer_is_malformed(count: object) -> None:
    row = {"count": count, "action": "open", "datetime": "2026-11-28 10:01:00"}
    with pytest.raises(MalformedResponse, match=r"applications\.rows\[0\]\.count"):
        parse.parse_app_stats({"applications": {"formatter": "minutely", "rows": [row]}})


@pytest.mark.parametrize(
    "document",
    [
        "",
        {"applications": []},
        {"applications": {"formatter": 1, "rows": []}},
        {"applications": {"formatter": "minutely", "rows": {}}},
        {"devices": {"formatter": "minutely", "rows": [{"count": 1, "action": "register"}]}},
        {"devices": {"rows": [{"count": 1, "action": 2, "datetime": "2026-11-28 10:01:00"}]}},
        {"devices": {"rows": [{"count": 1, "action": "register", "datetime": "yesterday"}]}},
    ],
)
def test_app_stats_of_the_wrong_shape_is_malformed(document: object) -> None:
    with pytest.raises(MalformedResponse) as caught:
        parse.parse_app_stats(document)
    assert caught.value.method == "getAppStats"


def test_campaign_stats_rows_carry_the_platform_and_conversion_totals() -> None:
    document = {
        "formatter": "minutely",
        "rows": [
            {"count": 9, "action": "send", "datetime": "2026-11-28 10:01:00", "platformid": 3},
            {
                "count": "2",
                "action": "inboxopen",
                "datetime": "2026-11-28 10:02:00",
                "platformid": "1",
            },
        ],
        "conversion": {"send": 9, "delivery": "8", "open": 2, "events": []},
    }
    stats = parse.parse_campaign_stats(document)
    assert stats.table.rows == (
        StatRow("send", MINUTE_1, 9, platform=3),
        StatRow("inboxopen", datetime(2026, 11, 28, 10, 2, tzinfo=UTC), 2, platform=1),
    )
    assert stats.conversion == Conversion(send=9, delivery=8, open=2)


def test_message_stats_without_platform_or_conversion() -> None:
    document = {"formatter": "daily", "rows": [
        {"datetime": "2026-11-28", "action": "delivery", "count": 12}]}  # fmt: skip
    stats = parse.parse_message_stats("getMsgStats", document)
    assert stats.table == StatTable(
        "daily", (StatRow("delivery", datetime(2026, 11, 28, tzinfo=UTC), 12),)
    )
    assert stats.conversion == Conversion()


def test_message_stats_of_the_wrong_shape_names_the_method() -> None:
    with pytest.raises(MalformedResponse, match="getMsgPlatformsStats"):
        parse.parse_message_stats("getMsgPlatformsStats", {"rows": [{"platformid": "ios"}]})


def test_event_statistics_reads_the_hourly_buckets() -> None:
    document = json.loads(
        '[{"date": "2026-11-28 09:00", "count": 12}, {"date": "2026-11-28 10:00", "count": 2}]'
    )
    assert parse.parse_event_buckets(document) == (
        EventBucket(datetime(2026, 11, 28, 9, tzinfo=UTC), 12),
        EventBucket(datetime(2026, 11, 28, 10, tzinfo=UTC), 2),
    )


@pytest.mark.parametrize(
    "document", [{"date": "2026-11-28 09:00", "count": 1}, [{"count": 1}], [3]]
)
def test_event_statistics_of_the_wrong_shape_is_malformed(document: object) -> None:
    with pytest.raises(MalformedResponse, match="getEventStatistics"):
        parse.parse_event_buckets(document)


def test_request_id_of_a_scheduled_method() -> None:
    response = {"request_id": "c93a202f439235f9adaaa06d651548ab"}
    assert parse.parse_request_id("getAppStats", response) == "c93a202f439235f9adaaa06d651548ab"
    with pytest.raises(MalformedResponse, match="request_id"):
        parse.parse_request_id("getAppStats", {"request_id": 5})


def test_tag_stats_answers_with_the_file_url() -> None:
    url = parse.parse_tag_url({"url": "https://example.test/files/abc.csv"})
    assert url == "https://example.test/files/abc.csv"
    with pytest.raises(MalformedResponse):
        parse.parse_tag_url({"file": "abc.csv"})


def test_subscribers_by_upper_case_device_type_become_label_values() -> None:
    document = json.loads(
        '{"devices_types": {"IOS": 1200, "ANDROID": 3400, "CHROME": 80, "SAFARI": 12,'
        ' "FIREFOX": 0, "HUAWEI": "5", "OSX": 1, "MACOS": 2}}'
    )
    counts = parse.parse_subscriber_counts(document).by_platform
    assert counts == {
        "ios": 1200,
        "android": 3400,
        "chrome": 80,
        "safari": 12,
        "firefox": 0,
        "huawei": 5,
        "macos": 3,
    }


def test_subscribers_statistics_v2_reads_the_points() -> None:
    document = json.loads(
        '{"application_code": "ABCDE-12345", "interval": "hour", "points": [{"timestamp":'
        ' "2026-11-28 09:00:00", "total": 4692, "platforms": {"ios": 1200, "android": 3400}}]}'
    )
    stats = parse.parse_subscribers_statistics(document)
    assert stats.application_code == "ABCDE-12345"
    assert stats.interval == "hour"
    assert stats.points == (
        SubscribersPoint(
            datetime(2026, 11, 28, 9, tzinfo=UTC), 4692, {"ios": 1200, "android": 3400}
        ),
    )


@pytest.mark.parametrize(
    "document",
    [
        {"application_code": "A", "interval": "hour"},
        {"application_code": "A", "interval": "hour", "points": [{"total": 1}]},
        {"application_code": 1, "interval": "hour", "points": []},
        {"code": 404, "message": "Application not found"},
    ],
)
def test_subscribers_statistics_of_the_wrong_shape_is_malformed(document: object) -> None:
    with pytest.raises(MalformedResponse, match="getSubscribersStatistics"):
        parse.parse_subscribers_statistics(document)


KEYS = [
    "applications",
    "devices",
    "messages",
    "formatter",
    "rows",
    "count",
    "action",
    "datetime",
    "platformid",
    "conversion",
    "send",
    "date",
    "url",
    "request_id",
    "devices_types",
    "IOS",
    "application_code",
    "interval",
    "points",
    "timestamp",
    "total",
    "platforms",
]
"""Keys of the documented shapes, so generated documents get deep into the parsers."""

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)

PARSERS = [
    parse.parse_app_stats,
    parse.parse_campaign_stats,
    lambda value: parse.parse_message_stats("getMsgStats", value),
    parse.parse_event_buckets,
    parse.parse_tag_url,
    parse.parse_subscriber_counts,
    parse.parse_subscribers_statistics,
    lambda value: parse.parse_request_id("getAppStats", value),
]


@settings(max_examples=300, deadline=None)
@given(value=JSON)
def test_parsers_on_arbitrary_json_raise_only_pushwoosh_errors(value: object) -> None:
    for parser in PARSERS:
        with contextlib.suppress(PushwooshError):
            parser(value)
