"""Rendering target by target gives exactly what prometheus-client renders for the whole.

The exposition caches each target's lines and re-renders only targets whose view changed;
whatever the sequence of polls, its body must hold the same header and sample lines as
prometheus-client's encoders produce from one registry over the same snapshot, grouped by
family, in both formats.
"""

import asyncio
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

from exporter import metrics
from exporter.families import DATA_FAMILIES
from exporter.metrics import Exposition, SelfMetrics, SnapshotCollector
from exporter.store import BucketCount, Observation, Store, TargetKey

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
# What scrapers may ask for: each content type renders differently (Prometheus 3 asks for
# name escaping), so each must be cached on its own.
ACCEPTS = (
    "",
    OPENMETRICS,
    "text/plain;version=1.0.0;escaping=dots",
    "application/openmetrics-text;version=1.0.0;escaping=values",
)
FAMILIES = [f for f in DATA_FAMILIES if f.kind == "counter" and f.labels == ("app", "app_name")]
KEYS = [TargetKey("app_stats", f"APP-{i}") for i in range(4)]

# Label values as the API and the config may give them: quotes, backslashes, newlines,
# text that looks like a header line, non-ASCII.
label_values = st.text(
    alphabet=st.sampled_from(["a", "Z", '"', "\\", "\n", "#", " ", "H", "é", "{", "=", ","]),
    max_size=12,
)
polls = st.lists(
    st.tuples(
        st.integers(0, len(KEYS) - 1),
        st.booleans(),  # succeeded
        st.lists(
            st.tuples(st.integers(0, len(FAMILIES) - 1), label_values, st.integers(0, 50)),
            max_size=4,
        ),
    ),
    min_size=1,
    max_size=12,
)


def whole(store: Store, fmt: str) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(store.snapshot))
    return choose_encoder(fmt)[0](registry)


def family_blocks(body: bytes) -> dict[str, tuple[list[bytes], list[bytes]]]:
    """Family name -> (header lines, sorted sample lines); fails if a family is split."""
    blocks: dict[str, tuple[list[bytes], list[bytes]]] = {}
    current: str | None = None
    for line in body.split(b"\n"):
        if line.startswith(b"# HELP "):
            current = line.split(b" ")[2].decode()
            assert current not in blocks, f"family {current} appears twice"
            blocks[current] = ([line], [])
        elif line.startswith((b"# TYPE ", b"# UNIT ")):
            assert current is not None
            blocks[current][0].append(line)
        elif line and line != b"# EOF":
            assert current is not None
            blocks[current][1].append(line)
    return {name: (head, sorted(lines)) for name, (head, lines) in blocks.items()}


@settings(max_examples=60, deadline=None)
@given(polls=polls)
def test_body_equals_prometheus_client_rendering_after_any_polls(polls: list) -> None:  # type: ignore[type-arg]
    store = Store()
    store.set_targets(KEYS)
    exposition = Exposition(store.snapshot, SelfMetrics())
    for step, (target, ok, buckets) in enumerate(polls):
        key = KEYS[target]
        if ok:
            observed = tuple(
                BucketCount(FAMILIES[f].series(app=key.target, app_name=name), 60, n)
                for f, name, n in buckets
            )
            store.apply(
                Observation(key, 0, 60 * (step + 1), buckets=observed, newest_bucket=60),
                started=float(step),
                finished=step + 0.25,
            )
        else:
            store.record_failure(key, "http_5xx", started=float(step), finished=step + 0.5)
        for fmt in ACCEPTS:
            body = exposition.render(fmt, None)[0]
            expected = whole(store, fmt)
            own = SelfMetrics().registry
            data_part = body[: len(body) - len(choose_encoder(fmt)[0](own))]
            if "openmetrics" in fmt:
                data_part += b"# EOF\n"
            assert family_blocks(data_part) == family_blocks(expected)
    # The OpenMetrics body as a whole parses (one EOF, families not interleaved).
    om = exposition.render(OPENMETRICS, None)[0].decode()
    assert sum(1 for _ in om_families(om)) >= len(DATA_FAMILIES)
    assert len(re.findall(r"^# EOF$", om, re.MULTILINE)) == 1


def test_a_target_of_many_kilobytes_of_lines_renders_as_prometheus_client_does() -> None:
    # A target's lines are cached packed; one whose lines are far longer than a few
    # kilobytes (an app with hundreds of series of long, repetitive label values) must come
    # back byte for byte, in every format, also after a poll changed some of its values.
    store = Store()
    key = KEYS[0]
    store.set_targets([key])
    exposition = Exposition(store.snapshot, SelfMetrics())
    for step, count in enumerate((7, 12345678901)):
        buckets = tuple(
            BucketCount(family.series(app=key.target, app_name=f"shop {i:03d} " * 8), 60, count)
            for family in FAMILIES
            for i in range(40)
        )
        store.apply(
            Observation(key, 0, 60 * (step + 1), buckets=buckets),
            started=float(step),
            finished=step + 0.5,
        )
        for fmt in ACCEPTS:
            body = exposition.render(fmt, None)[0]
            own = choose_encoder(fmt)[0](SelfMetrics().registry)
            data_part = body[: len(body) - len(own)]
            assert len(data_part) > 20_000
            if "openmetrics" in fmt:
                data_part += b"# EOF\n"
            assert family_blocks(data_part) == family_blocks(whole(store, fmt))


def test_every_family_line_of_the_packing_dictionary_is_within_reach() -> None:
    # Lines are packed with a preset dictionary of one line per family; deflate matches only
    # the last window minus 262 bytes of it, so a family beyond that would pack poorly.
    for fmt in (*ACCEPTS, "text/plain;version=1.0.0;escaping=allow-utf-8"):
        dictionary = metrics._dictionary(choose_encoder(fmt)[0])
        assert dictionary.count(b"\n") == len(DATA_FAMILIES) + len(metrics._HEALTH_HELP)
        assert len(dictionary) <= 2**metrics._WINDOW_BITS - 262, fmt


def big_store(apps: int) -> Store:
    store = Store()
    keys = [TargetKey("app_stats", f"APP-{i:05d}") for i in range(apps)]
    store.set_targets(keys)
    for key in keys:
        buckets = tuple(
            BucketCount(f.series(app=key.target, app_name="shop"), 60, 7) for f in FAMILIES
        )
        store.apply(Observation(key, 0, 60, buckets=buckets), started=0.0, finished=1.0)
    return store


async def test_a_rendering_runs_off_the_event_loop_and_gives_the_same_bytes() -> None:
    store = big_store(3000)
    exposition = Exposition(store.snapshot, SelfMetrics())
    ticks = 0
    rendering = asyncio.ensure_future(exposition.render_async(None, None))
    while not rendering.done():  # the loop keeps running while the worker renders
        ticks += 1
        await asyncio.sleep(0)
    body = rendering.result()[0]
    assert ticks > 1
    assert body == Exposition(store.snapshot, SelfMetrics()).render(None, None)[0]
    again = await exposition.render_async(None, None)
    assert again[0] is body  # cached: answered on the loop, no new rendering
