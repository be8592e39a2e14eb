"""Which windows a poll reads: steady lookback, catch-up after downtime, 3-hour chunks."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from exporter.collection.collectors import bucket_start
from exporter.collection.windows import (
    HOUR,
    MAX_MINUTELY_SPAN,
    MINUTE,
    ReadPlan,
    Window,
    max_span,
    plan_reads,
)

NOW = 1_764_324_000 + 7 * MINUTE + 33  # 2025-11-28 10:07:33 UTC


def test_hours_of_a_half_hour_zone_start_at_half_past_utc() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: 10:07:33 UTC is 15:37:33 there
    plan = plan_reads(NOW, bucket=HOUR, lookback=15 * MINUTE, zone=kolkata)
    assert plan.window_start == NOW - 37 * MINUTE - 33  # 15:00 local, 09:30 UTC
    day = plan_reads(NOW, bucket=24 * HOUR, lookback=15 * MINUTE, zone=kolkata)
    assert day.window_start == NOW - 15 * HOUR - 37 * MINUTE - 33  # local midnight


def test_a_day_of_a_dst_change_starts_at_its_local_midnight() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    noon = datetime(2024, 10, 27, 12, tzinfo=UTC).timestamp()  # 13:00 CET, after the change
    day = plan_reads(noon, bucket=24 * HOUR, lookback=15 * MINUTE, zone=berlin)
    assert day.window_start == datetime(2024, 10, 26, 22, tzinfo=UTC).timestamp()  # 00:00 CEST
    hour = plan_reads(noon, bucket=HOUR, lookback=15 * MINUTE, zone=berlin)
    assert hour.window_start == datetime(2024, 10, 27, 11, tzinfo=UTC).timestamp()


def test_coarser_buckets_may_span_longer_windows() -> None:
    assert max_span(MINUTE) == MAX_MINUTELY_SPAN
    assert max_span(HOUR) == 24 * HOUR
    assert max_span(24 * HOUR) is None
    plan = plan_reads(
        NOW, bucket=HOUR, lookback=3 * HOUR, watermark=NOW - 5 * HOUR,
        max_catchup=6 * HOUR, max_span=max_span(HOUR),
    )  # fmt: skip
    assert len(plan.windows) == 1
    assert plan.read_from == NOW - 6 * HOUR - 7 * MINUTE - 33  # max_catchup bounds it


def test_steady_poll_reads_lookback_floored_to_the_minute() -> None:
    plan = plan_reads(NOW, bucket=MINUTE, lookback=15 * MINUTE, max_span=MAX_MINUTELY_SPAN)
    assert plan.windows == (Window(NOW - 15 * MINUTE - 33, NOW),)
    assert plan.window_start == NOW - 15 * MINUTE - 33


def test_event_window_starts_on_the_hour_so_the_current_hour_is_read_whole() -> None:
    plan = plan_reads(NOW, bucket=HOUR, lookback=15 * MINUTE)
    assert plan.windows == (Window(NOW - HOUR - 7 * MINUTE - 33, NOW),)  # from 09:00
    later = plan_reads(NOW + 10 * MINUTE, bucket=HOUR, lookback=15 * MINUTE)
    assert later.window_start == NOW - 7 * MINUTE - 33  # 10:17:33 reads from 10:00


def test_lookback_of_three_hours_stays_one_minutely_read() -> None:
    plan = plan_reads(NOW, bucket=MINUTE, lookback=3 * HOUR, max_span=MAX_MINUTELY_SPAN)
    assert len(plan.windows) == 1
    assert plan.end - plan.read_from < MAX_MINUTELY_SPAN


def test_recent_watermark_reads_a_little_more_than_the_window() -> None:
    plan = plan_reads(
        NOW,
        bucket=MINUTE,
        lookback=15 * MINUTE,
        watermark=NOW - 60,
        max_catchup=6 * HOUR,
        max_span=MAX_MINUTELY_SPAN,
    )
    assert plan.read_from == NOW - 16 * MINUTE - 33
    assert plan.window_start == NOW - 15 * MINUTE - 33


def test_long_downtime_is_read_back_to_max_catchup_in_three_hour_chunks() -> None:
    plan = plan_reads(
        NOW,
        bucket=MINUTE,
        lookback=15 * MINUTE,
        watermark=NOW - 10 * HOUR,
        max_catchup=6 * HOUR,
        max_span=MAX_MINUTELY_SPAN,
    )
    assert plan.read_from == NOW - 6 * HOUR - 33
    assert [w.end - w.start for w in plan.windows[:-1]] == [MAX_MINUTELY_SPAN - 1] * 2
    assert plan.windows[-1].end == NOW


@given(
    now=st.integers(10**9, 2 * 10**9),
    lookback=st.integers(1, 3 * HOUR),
    downtime=st.one_of(st.none(), st.integers(0, 48 * HOUR)),
    catchup_hours=st.integers(3, 24),
    bucket=st.sampled_from([MINUTE, HOUR]),
)
def test_windows_cover_the_range_without_gaps_or_overlap(
    now: int, lookback: int, downtime: int | None, catchup_hours: int, bucket: int
) -> None:
    plan: ReadPlan = plan_reads(
        now,
        bucket=bucket,
        lookback=lookback,
        watermark=None if downtime is None else now - downtime,
        max_catchup=catchup_hours * HOUR,
        max_span=MAX_MINUTELY_SPAN if bucket == MINUTE else None,
    )
    assert plan.read_from % bucket == 0
    assert plan.read_from <= plan.window_start <= now - lookback + bucket
    assert plan.window_start >= now - lookback - bucket
    assert plan.end == now
    assert plan.read_from >= now - max(catchup_hours * HOUR, lookback) - bucket
    for earlier, later in zip(plan.windows, plan.windows[1:], strict=False):
        assert later.start == earlier.end + 1
    if bucket == MINUTE:
        assert all(w.end - w.start < MAX_MINUTELY_SPAN for w in plan.windows)


def test_a_repeated_wall_time_is_read_in_the_window() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2024-10-27 02:30 happens twice in Berlin: 00:30 UTC (CEST), then 01:30 UTC (CET).
    label = datetime(2024, 10, 27, 2, 30, tzinfo=berlin)
    first = int(datetime(2024, 10, 27, 0, 30, tzinfo=UTC).timestamp())
    second = int(datetime(2024, 10, 27, 1, 30, tzinfo=UTC).timestamp())
    assert bucket_start(label, Window(first - 900, first + 900)) == first
    assert bucket_start(label, Window(second - 900, second + 900)) == second
    assert bucket_start(label, Window(first - 900, second + 900)) == first
    plain = datetime(2024, 10, 27, 12, 0, tzinfo=berlin)
    assert bucket_start(plain, Window(0, 1)) == int(plain.timestamp())
