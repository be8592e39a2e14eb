"""The counting rules of docs/counting.md, driven bucket by bucket."""

import json
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.families import MESSAGES_OPENED, MESSAGES_SENT, SUBSCRIBERS
from exporter.store import BucketCount, Observation, Series, Store, TargetKey

KEY = TargetKey("app_stats", "ABCDE-12345")
SENT = MESSAGES_SENT.series(app="ABCDE-12345", app_name="shop")
OPENS = MESSAGES_OPENED.series(app="ABCDE-12345", app_name="shop")
MINUTE = 60


def poll(store: Store, window_start: int, window_end: int, counts: dict[int, int]) -> None:
    """Apply one successful poll that saw ``counts`` (bucket start -> count) for SENT."""
    buckets = tuple(BucketCount(SENT, start, n) for start, n in counts.items())
    store.apply(
        Observation(KEY, window_start, window_end, buckets=buckets, declared=(SENT, OPENS)),
        started=window_end,
        finished=window_end + 1,
    )


def counter(store: Store, series: Series = SENT) -> float | None:
    view = store.snapshot().targets[KEY]
    return dict(view.counters).get(series)


def fresh() -> Store:
    store = Store()
    store.set_targets([KEY])
    return store


@dataclass(frozen=True)
class Step:
    window_start: int
    counts: dict[int, int] | None  # None: the poll failed
    expected: float | None


CASES = {
    "first_poll_is_the_baseline": [Step(0, {0: 5, 60: 7}, 0)],
    "new_bucket_adds_its_whole_count": [Step(0, {0: 5}, 0), Step(0, {0: 5, 60: 3}, 3)],
    "growing_bucket_adds_only_the_difference": [
        Step(0, {0: 5}, 0),
        Step(0, {0: 9}, 4),
        Step(0, {0: 12}, 7),
    ],
    "shrinking_bucket_never_lowers_the_counter": [
        Step(0, {0: 5, 60: 4}, 0),
        Step(0, {0: 5, 60: 9}, 5),
        Step(0, {0: 5, 60: 2}, 5),
        Step(0, {0: 5, 60: 9}, 5),
        Step(0, {0: 5, 60: 10}, 6),
    ],
    "bucket_leaving_the_window_is_forgotten_and_not_counted_again": [
        Step(0, {0: 5, 60: 1}, 0),
        Step(60, {0: 50, 60: 2}, 1),
        Step(120, {60: 20, 120: 3}, 4),
    ],
    "failed_poll_changes_nothing_and_the_next_catches_up": [
        Step(0, {0: 1}, 0),
        Step(0, None, 0),
        Step(0, None, 0),
        Step(0, {0: 4, 60: 2}, 5),
    ],
    "failures_before_the_first_success_leave_no_series": [
        Step(0, None, None),
        Step(0, {0: 3}, 0),
        Step(0, {0: 4}, 1),
    ],
    "late_bucket_between_known_ones_adds_its_count": [
        Step(0, {0: 5, 120: 2}, 0),
        Step(0, {0: 5, 60: 3, 120: 2}, 3),
        Step(0, {0: 5, 60: 4, 120: 2}, 4),
    ],
    "buckets_in_any_order_count_the_same": [
        Step(0, {120: 2, 0: 5}, 0),
        Step(0, {120: 3, 60: 3, 0: 6}, 5),
        Step(60, {180: 1, 60: 4, 120: 3, 0: 9}, 7),
    ],
    "absent_bucket_keeps_its_last_count": [
        Step(0, {0: 3, 60: 2}, 0),
        Step(0, {60: 2}, 0),
        Step(0, {0: 5, 60: 2}, 2),
    ],
}


@pytest.mark.parametrize("steps", CASES.values(), ids=CASES.keys())
def test_bucket_sequences_give_exact_counters(steps: list[Step]) -> None:
    store = fresh()
    for i, step in enumerate(steps):
        end = step.window_start + 15 * MINUTE + i
        if step.counts is None:
            store.record_failure(KEY, "boom", started=end, finished=end + 1)
        else:
            poll(store, step.window_start, end, step.counts)
        assert counter(store) == step.expected, f"after step {i}"


def test_declared_series_exist_at_zero_from_the_first_success() -> None:
    store = fresh()
    poll(store, 0, 900, {})
    assert counter(store, OPENS) == 0.0
    assert counter(store, SENT) == 0.0


def test_revisions_are_counted_by_direction() -> None:
    store = fresh()
    poll(store, 0, 900, {0: 5})
    poll(store, 0, 901, {0: 7})
    poll(store, 0, 902, {0: 6})
    assert dict(store.snapshot().revisions) == {"up": 1, "down": 1}


def test_status_follows_success_and_failure() -> None:
    store = fresh()
    assert not store.snapshot().ready
    store.record_failure(KEY, "auth: Account not found", started=10.0, finished=10.5)
    status = store.snapshot().targets[KEY].status
    assert store.snapshot().ready
    assert (status.up, status.last_error, status.last_success) == (
        False,
        "auth: Account not found",
        None,
    )
    poll(store, 0, 900, {0: 1})
    status = store.snapshot().targets[KEY].status
    assert status.up
    assert status.last_error is None
    assert (status.last_success, status.last_duration) == (901, 1)


def test_totals_set_the_counter_and_never_lower_it() -> None:
    store = fresh()
    for total, expected in [(10, 10.0), (15, 15.0), (12, 15.0), (20, 20.0)]:
        store.apply(Observation(KEY, 0, 0, totals=((SENT, total),)), started=0.0, finished=0.0)
        assert counter(store) == expected


def test_gauges_are_replaced_by_each_success_and_kept_on_failure() -> None:
    ios = SUBSCRIBERS.series(app="A", app_name="a", platform="ios")
    android = SUBSCRIBERS.series(app="A", app_name="a", platform="android")
    store = fresh()
    store.apply(
        Observation(KEY, 0, 0, gauges=((ios, 5.0), (android, 7.0))), started=0.0, finished=0.0
    )
    store.record_failure(KEY, "timeout", started=1.0, finished=2.0)
    assert dict(store.snapshot().targets[KEY].gauges) == {ios: 5.0, android: 7.0}
    store.apply(Observation(KEY, 0, 0, gauges=((ios, 6.0),)), started=3.0, finished=3.0)
    assert dict(store.snapshot().targets[KEY].gauges) == {ios: 6.0}


def test_snapshot_is_cached_until_a_change() -> None:
    store = fresh()
    first = store.snapshot()
    assert store.snapshot() is first
    poll(store, 0, 900, {0: 1})
    assert store.snapshot() is not first
    assert store.snapshot().version > first.version


def test_removed_targets_disappear_and_kept_ones_continue() -> None:
    other = TargetKey("events", "ABCDE-12345/Login")
    store = fresh()
    poll(store, 0, 900, {0: 1})
    poll(store, 0, 901, {0: 4})
    store.set_targets([KEY, other])
    assert counter(store) == 3.0
    assert not store.snapshot().targets[other].status.attempted
    store.set_targets([other])
    assert KEY not in store.snapshot().targets


def test_state_round_trips_through_json() -> None:
    store = fresh()
    poll(store, 0, 900, {0: 1, 60: 2})
    poll(store, 0, 901, {0: 4, 60: 2})
    restored = fresh()
    assert restored.load_state(json.loads(json.dumps(store.dump_state()))) == 1
    assert counter(restored) == 3.0
    assert restored.watermark(KEY) == 901
    poll(restored, 0, 960, {0: 4, 60: 5, 120: 1})
    assert counter(restored) == 7.0


def state_with_buckets(counts: list[list[int]], counters: bool = True) -> dict[str, object]:
    labels = [list(pair) for pair in SENT.labels]
    return {
        "version": 1,
        "targets": [
            {
                "collector": KEY.collector,
                "target": KEY.target,
                "watermark": 900,
                "horizon": 0,
                "counters": [{"metric": SENT.metric, "labels": labels, "value": 3.0}]
                if counters
                else [],
                "buckets": [{"metric": SENT.metric, "labels": labels, "counts": counts}],
            }
        ],
    }


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"version": 99, "targets": []},
        {"version": 1, "targets": [{"collector": "x"}]},
        [],
        state_with_buckets([[2**63, 1]]),  # a start no machine integer holds
        state_with_buckets([[0, -(2**64)]]),
        state_with_buckets([[0, 2**63]]),  # no count the API reports is stored that large
    ],
)
def test_bad_state_documents_are_refused(document: object) -> None:
    with pytest.raises(ValueError, match="state"):
        fresh().load_state(document)  # type: ignore[arg-type]


# --- the property: growth equals the events that arrived in buckets inside the window ---

LOOKBACK = 5 * MINUTE

events_strategy = st.lists(
    st.tuples(st.integers(0, 40), st.integers(0, 600)),  # (bucket minute, arrival delay s)
    max_size=60,
)
polls_strategy = st.lists(
    st.tuples(st.integers(1, 200), st.booleans()),  # (seconds since last poll, succeeded)
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(events=events_strategy, polls=polls_strategy)
def test_counter_growth_equals_events_recorded_inside_the_window(
    events: list[tuple[int, int]], polls: list[tuple[int, bool]]
) -> None:
    arrivals = [(minute * MINUTE, minute * MINUTE + delay) for minute, delay in events]
    store = fresh()
    now = 0
    successes: list[tuple[int, int]] = []  # (poll time, window start)
    for gap, ok in polls:
        now += gap
        if not ok:
            store.record_failure(KEY, "x", started=now, finished=now)
            continue
        window_start = max(0, now - LOOKBACK) // MINUTE * MINUTE
        counts: dict[int, int] = {}
        for bucket, arrived in arrivals:
            if arrived <= now and window_start <= bucket <= now:
                counts[bucket] = counts.get(bucket, 0) + 1
        poll(store, window_start, now, counts)
        successes.append((now, window_start))
    if not successes:
        assert KEY not in {k for k, v in store.snapshot().targets.items() if v.counters}
        return
    baseline_time = successes[0][0]
    expected = 0
    for bucket, arrived in arrivals:
        if arrived <= baseline_time:
            continue
        first_after = next(((t, w) for t, w in successes if t >= arrived), None)
        if first_after is not None and bucket >= first_after[1]:
            expected += 1
    assert counter(store) == expected


def test_a_state_file_with_buckets_but_no_counter_still_counts() -> None:
    store = fresh()
    store.load_state(state_with_buckets([[0, 2]], counters=False))
    poll(store, 0, 960, {0: 5})
    assert counter(store) == 3.0


def test_an_absurd_count_is_counted_once_not_at_every_poll() -> None:
    store = fresh()
    poll(store, 0, 900, {0: 5})
    poll(store, 0, 901, {0: 2**64})
    first = counter(store)
    assert first == float(2**63 - 1 - 5)
    poll(store, 0, 902, {0: 2**64})
    poll(store, 0, 903, {0: 2**64 + 7})
    assert counter(store) == first
    assert store.snapshot().revisions["up"] == 1


HOUR = 3600


def poll_width(
    store: Store, window_start: int, window_end: int, counts: dict[int, int], width: int
) -> None:
    """One successful poll whose answer came in buckets ``width`` seconds wide."""
    buckets = tuple(BucketCount(SENT, start, n) for start, n in counts.items())
    store.apply(
        Observation(KEY, window_start, window_end, buckets=buckets, bucket_width=width),
        started=window_end,
        finished=window_end + 1,
    )


def test_hourly_buckets_from_the_first_poll_count_exactly() -> None:
    store = fresh()
    poll_width(store, 10 * HOUR, 10 * HOUR + 45 * MINUTE, {10 * HOUR: 100}, HOUR)
    poll_width(store, 10 * HOUR, 10 * HOUR + 46 * MINUTE, {10 * HOUR: 103}, HOUR)
    poll_width(store, 10 * HOUR, 11 * HOUR + 1 * MINUTE, {10 * HOUR: 110, 11 * HOUR: 5}, HOUR)
    assert counter(store) == 3 + 7 + 5
    assert store.bucket_width(KEY) == HOUR


def test_a_width_change_takes_buckets_older_than_the_last_read_as_baseline() -> None:
    store = fresh()
    start = 10 * HOUR + 30 * MINUTE
    poll_width(store, start, start + 15 * MINUTE, {start: 4, start + MINUTE: 6}, MINUTE)
    poll_width(store, start, start + 16 * MINUTE, {start: 4, start + MINUTE: 9}, MINUTE)
    assert counter(store) == 3
    # The 10:00 hour holds the minutes counted above: its count so far adds nothing...
    poll_width(store, 10 * HOUR, start + 17 * MINUTE, {10 * HOUR: 250}, HOUR)
    assert counter(store) == 3
    # ...and from then on it counts like any hourly bucket.
    poll_width(store, 10 * HOUR, start + 18 * MINUTE, {10 * HOUR: 252}, HOUR)
    poll_width(store, 10 * HOUR, 11 * HOUR + 2 * MINUTE, {10 * HOUR: 260, 11 * HOUR: 7}, HOUR)
    assert counter(store) == 3 + 2 + 8 + 7


def test_a_width_change_counts_a_bucket_that_starts_after_the_last_read() -> None:
    store = fresh()
    before = 10 * HOUR + 59 * MINUTE
    poll_width(store, before - 15 * MINUTE, before, {before - MINUTE: 2}, MINUTE)
    poll_width(store, 11 * HOUR, 11 * HOUR + 30, {11 * HOUR: 6}, HOUR)
    assert counter(store) == 6


def test_the_bucket_width_survives_a_restart_with_the_state_file() -> None:
    store = fresh()
    poll_width(store, 10 * HOUR, 10 * HOUR + 45 * MINUTE, {10 * HOUR: 100}, HOUR)
    restored = fresh()
    restored.load_state(json.loads(json.dumps(store.dump_state())))
    assert restored.bucket_width(KEY) == HOUR
    poll_width(restored, 10 * HOUR, 10 * HOUR + 50 * MINUTE, {10 * HOUR: 104}, HOUR)
    assert counter(restored) == 4


def test_a_state_file_without_a_bucket_width_still_loads() -> None:
    store = fresh()
    poll(store, 0, 60, {0: 5})
    document = store.dump_state()
    for target in document["targets"]:
        del target["bucket_width"]
    restored = fresh()
    assert restored.load_state(document) == 1
    assert restored.bucket_width(KEY) is None
    poll(restored, 0, 120, {0: 5, 60: 2})
    assert counter(restored) == 2


def test_saved_targets_not_known_yet_wait_for_discovery_then_continue() -> None:
    store = fresh()
    poll(store, 0, 60, {0: 5})
    poll(store, 0, 120, {0: 5, 60: 2})
    saved = json.loads(json.dumps(store.dump_state()))
    restarted = Store()
    restarted.set_targets([])  # at start only the listed targets, and this one is discovered
    assert restarted.load_state(saved, keep_unknown=True) == 0
    assert restarted.dump_state() == saved, "a checkpoint before discovery keeps it"
    restarted.set_targets([KEY])  # the first listing finds it again
    assert counter(restarted) == 2
    poll(restarted, 0, 180, {0: 5, 60: 2, 120: 4})
    assert counter(restarted) == 6
    assert restarted.forget_pending() == 0


def test_saved_targets_discovery_does_not_find_are_given_up() -> None:
    store = fresh()
    poll(store, 0, 60, {0: 5})
    restarted = Store()
    restarted.load_state(store.dump_state(), keep_unknown=True)
    assert restarted.forget_pending() == 1
    assert restarted.dump_state()["targets"] == []
    restarted.set_targets([KEY])
    assert restarted.watermark(KEY) is None  # a new start: baseline again
