"""A family owns its label names: series are built through it, and rendered by name."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.families import APP_OPENS, MESSAGES_SENT, SUBSCRIBERS, TAG_DEVICES, Family
from exporter.metrics import Exposition, SelfMetrics
from exporter.store import Observation, Series, Store, TargetKey

KEY = TargetKey("subscribers", "ABCDE-12345")


def rendered(*gauges: Series) -> bytes:
    """The data part of the exposition of a store holding ``gauges`` (at 7 each)."""
    store = Store()
    store.set_targets([KEY])
    store.apply(
        Observation(KEY, 0, 0, gauges=tuple((g, 7.0) for g in gauges)), started=0.0, finished=1.0
    )
    body = Exposition(store.snapshot, SelfMetrics()).render(None, None)[0]
    return body[: body.index(b"# HELP pushwoosh_api_requests_total")]


def test_keyword_order_does_not_matter_the_family_order_does() -> None:
    given_in_order = SUBSCRIBERS.series(app="ABCDE-12345", app_name="shop", platform="ios")
    reordered = SUBSCRIBERS.series(platform="ios", app_name="shop", app="ABCDE-12345")
    assert reordered == given_in_order
    assert hash(reordered) == hash(given_in_order)
    assert [name for name, _ in reordered.labels] == list(SUBSCRIBERS.labels)
    assert rendered(reordered) == rendered(given_in_order)
    assert (
        b'pushwoosh_subscribers{app="ABCDE-12345",app_name="shop",platform="ios"} 7.0\n'
        in rendered(reordered)
    )


def test_a_series_holding_its_labels_in_another_order_renders_the_same_lines() -> None:
    # As a state file of another ordering would restore it: names travel with the values.
    by_family = SUBSCRIBERS.series(app="ABCDE-12345", app_name="shop", platform="ios")
    shuffled = Series(by_family.metric, tuple(reversed(by_family.labels)))
    text = rendered(shuffled).decode()
    (family,) = (f for f in text_string_to_metric_families(text) if f.name == SUBSCRIBERS.name)
    (sample,) = family.samples
    assert sample.labels == {"app": "ABCDE-12345", "app_name": "shop", "platform": "ios"}


def test_a_missing_label_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"missing platform") as refused:
        SUBSCRIBERS.series(app="ABCDE-12345", app_name="shop")
    assert "pushwoosh_subscribers" in str(refused.value)


def test_an_extra_label_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"not declared event$"):
        APP_OPENS.series(app="ABCDE-12345", app_name="shop", event="Login")


def test_a_label_of_another_family_is_refused_with_the_missing_one() -> None:
    with pytest.raises(ValueError, match=r"missing tag; not declared app_name$"):
        TAG_DEVICES.series(app="ABCDE-12345", app_name="shop", value="gold")


def test_series_of_one_app_share_one_label_tuple() -> None:
    # Memory at 100,000 series: an app's counters hold one tuple of label pairs, not one each.
    opens = APP_OPENS.series(app="ABCDE-12345", app_name="shop")
    sent = MESSAGES_SENT.series(app_name="shop", app="ABCDE-12345")
    assert opens.labels is sent.labels


def test_a_family_cannot_declare_a_label_twice() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        Family("pushwoosh_example", "gauge", "An example.", ("app", "platform", "app"))
