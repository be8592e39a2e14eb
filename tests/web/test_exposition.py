"""The exposition: every README family with HELP, values from the snapshot, valid for promtool."""

import gzip
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from exporter.families import DATA_FAMILIES, MESSAGES_SENT, SUBSCRIBERS
from exporter.metrics import Exposition, SelfMetrics
from exporter.store import BucketCount, Observation, Store, TargetKey

APP = TargetKey("app_stats", "ABCDE-12345")
SENT = MESSAGES_SENT.series(app="ABCDE-12345", app_name='shop "ios"')
SUBS = SUBSCRIBERS.series(app="ABCDE-12345", app_name="shop", platform="ios")


def populated() -> tuple[Store, SelfMetrics, Exposition]:
    store = Store()
    failing = TargetKey("events", "ABCDE-12345/Login")
    store.set_targets([APP, failing])
    store.apply(
        Observation(APP, 0, 900, buckets=(BucketCount(SENT, 60, 5),), newest_bucket=60),
        started=1000.0,
        finished=1002.5,
    )
    store.apply(
        Observation(APP, 0, 960, buckets=(BucketCount(SENT, 60, 12),), gauges=((SUBS, 42.0),)),
        started=1060.0,
        finished=1061.0,
    )
    store.record_failure(failing, "auth: Account not found", started=1000.0, finished=1000.2)
    self_metrics = SelfMetrics()
    self_metrics.request_finished("getAppStats", 0.2, None)
    self_metrics.request_finished("getResults", 0.1, "rate_limited")
    return store, self_metrics, Exposition(store.snapshot, self_metrics)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_values_come_from_the_snapshot() -> None:
    _, _, exposition = populated()
    body, content_type, gzipped = exposition.render(None, None)
    assert content_type.startswith("text/plain")
    assert not gzipped
    values = samples(body.decode())
    assert values[("pushwoosh_messages_sent_total", tuple(sorted(SENT.labels)))] == 7.0
    assert values[("pushwoosh_subscribers", tuple(sorted(SUBS.labels)))] == 42.0
    up = {k[1]: v for k, v in values.items() if k[0] == "pushwoosh_up"}
    assert up == {
        (("collector", "app_stats"), ("target", "ABCDE-12345")): 1.0,
        (("collector", "events"), ("target", "ABCDE-12345/Login")): 0.0,
    }
    assert values[("pushwoosh_count_revisions_total", (("direction", "up"),))] == 1.0
    assert values[("pushwoosh_api_requests_total", (("method", "getResults"),))] == 1.0
    key = (
        "pushwoosh_api_request_failures_total",
        (("method", "getResults"), ("reason", "rate_limited")),
    )
    assert values[key] == 1.0


def test_every_family_has_help_and_type_and_no_created_series() -> None:
    _, _, exposition = populated()
    text = exposition.render(None, None)[0].decode()
    for family in DATA_FAMILIES:
        assert f"# HELP {family.name} {family.help}\n" in text
        assert f"# TYPE {family.name} {family.kind}\n" in text
    assert "_created" not in text


def test_openmetrics_is_negotiated_and_gzip_when_accepted() -> None:
    _, _, exposition = populated()
    body, content_type, gzipped = exposition.render(
        "application/openmetrics-text; version=1.0.0; charset=utf-8", "gzip, deflate"
    )
    assert gzipped
    assert content_type.startswith("application/openmetrics-text")
    text = gzip.decompress(body).decode()
    assert text.endswith("# EOF\n")
    assert "_created" not in text


def test_promtool_accepts_the_exposition(promtool: str) -> None:
    _, _, exposition = populated()
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition.render(None, None)[0],
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == ""


def test_cached_rendering_follows_every_change() -> None:
    store, self_metrics, exposition = populated()
    first = exposition.render(None, None)[0]
    assert exposition.render(None, None)[0] == first
    store.apply(
        Observation(APP, 0, 1020, buckets=(BucketCount(SENT, 60, 20),)),
        started=1100.0,
        finished=1101.0,
    )
    after_poll = samples(exposition.render(None, None)[0].decode())
    assert after_poll[("pushwoosh_messages_sent_total", tuple(sorted(SENT.labels)))] == 15.0
    self_metrics.request_finished("getAppStats", 0.3, "timeout")
    after_call = samples(exposition.render(None, None)[0].decode())
    key = (
        "pushwoosh_api_request_failures_total",
        (("method", "getAppStats"), ("reason", "timeout")),
    )
    assert after_call[key] == 1.0


def test_gzip_body_decompresses_to_the_plain_body_in_both_formats() -> None:
    _, _, exposition = populated()
    for accept in (None, "application/openmetrics-text; version=1.0.0"):
        plain = exposition.render(accept, None)[0]
        zipped = exposition.render(accept, "gzip")[0]
        assert gzip.decompress(zipped) == plain
    openmetrics = exposition.render("application/openmetrics-text; version=1.0.0", None)[0]
    assert openmetrics.count(b"# EOF") == 1
    assert openmetrics.endswith(b"# EOF\n")


def test_every_change_of_the_self_metrics_reaches_the_cached_exposition() -> None:
    # No method bumps the version by hand: each change of an instrument does it.
    self_metrics = SelfMetrics(state_file=True)
    store = Store()
    exposition = Exposition(store.snapshot, self_metrics)
    changes = [
        (
            lambda: self_metrics.request_finished("getTagStats", 0.2, None),
            "pushwoosh_api_requests_total",
            (("method", "getTagStats"),),
            1.0,
        ),
        (
            lambda: self_metrics.results_timed_out("getAppStats"),
            "pushwoosh_api_request_failures_total",
            (("method", "getAppStats"), ("reason", "timeout")),
            1.0,
        ),
        (
            lambda: self_metrics.reloaded(False, 50.0),
            "pushwoosh_config_last_reload_successful",
            (),
            0.0,
        ),
        (
            lambda: self_metrics.reloaded(True, 60.0),
            "pushwoosh_config_last_reload_success_timestamp_seconds",
            (),
            60.0,
        ),
        (
            lambda: self_metrics.state_write_finished(False, 70.0),
            "pushwoosh_state_write_failures_total",
            (),
            1.0,
        ),
        (
            lambda: self_metrics.state_write_finished(True, 80.0),
            "pushwoosh_state_last_write_success_timestamp_seconds",
            (),
            80.0,
        ),
    ]
    for change, name, labels, expected in changes:
        exposition.render(None, None)  # cached before the change
        change()
        assert samples(exposition.render(None, None)[0].decode())[name, labels] == expected


def test_state_file_metrics_exist_only_with_a_state_file() -> None:
    without = samples(Exposition(Store().snapshot, SelfMetrics()).render(None, None)[0].decode())
    assert not [name for name, _ in without if name.startswith("pushwoosh_state_")]
    with_file = SelfMetrics(state_file=True)
    text = Exposition(Store().snapshot, with_file).render(None, None)[0].decode()
    assert samples(text)["pushwoosh_state_write_failures_total", ()] == 0.0
    assert samples(text)["pushwoosh_state_last_write_success_timestamp_seconds", ()] == 0.0
