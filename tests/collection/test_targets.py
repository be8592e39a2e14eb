"""From the config to the targets of one replica: naming and sharding."""

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml
from hypothesis import given
from hypothesis import strategies as st

from exporter.collection.collectors import AppStatsCollector
from exporter.collection.discovery import Discovered, Found
from exporter.collection.targets import ApiBudget, Shard, build_collectors
from exporter.config import Config, load_config, parse_config
from exporter.runtime import Exporter, ListenAddress
from exporter.store import TargetKey


def test_every_method_of_the_example_config_becomes_a_target(repo_root: Path) -> None:
    keys = [c.key for c in build_collectors(load_config(repo_root / "config.example.yaml"))]
    assert keys == [
        TargetKey("app_stats", "ABCDE-12345"),
        TargetKey("subscribers", "ABCDE-12345"),
        TargetKey("events", "ABCDE-12345/PurchaseCompleted"),
        TargetKey("events", "ABCDE-12345/SignUp"),
        TargetKey("tag", "ABCDE-12345/Language"),
        TargetKey("app_stats", "FGHIJ-67890"),
        TargetKey("subscribers", "FGHIJ-67890"),
        TargetKey("campaign", "CAMP1-23456"),
        TargetKey("message", "1234-5678ABCD-90EF"),
        TargetKey("message", "4321-8765DCBA-FE09"),
        TargetKey("tag", "Country"),
    ]


@pytest.mark.parametrize(
    ("text", "shard"),
    [("0/1", Shard(0, 1)), ("2/3", Shard(2, 3)), ("pushwoosh-exporter-1/4", Shard(1, 4))],
)
def test_shard_flag_forms(text: str, shard: Shard) -> None:
    assert Shard.parse(text) == shard


@pytest.mark.parametrize("text", ["3/3", "1", "a/b", "-1/2", "0/0", "1/3/4"])
def test_bad_shard_flags_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        Shard.parse(text)


@given(
    keys=st.lists(
        st.builds(TargetKey, st.sampled_from(["app_stats", "events", "tag"]), st.text(min_size=1)),
        max_size=50,
    ),
    count=st.integers(1, 7),
)
def test_each_target_belongs_to_exactly_one_shard(keys: list[TargetKey], count: int) -> None:
    shards = [Shard(i, count) for i in range(count)]
    for key in keys:
        assert sum(shard.owns(key) for shard in shards) == 1


def test_shard_assignment_does_not_depend_on_the_process() -> None:
    keys = [TargetKey("app_stats", f"APP{i:03d}") for i in range(40)]
    here = [i for i, key in enumerate(keys) if Shard(1, 3).owns(key)]
    program = (
        "from exporter.collection.targets import Shard; from exporter.store import TargetKey; "
        "print([i for i in range(40) if Shard(1, 3).owns(TargetKey('app_stats', f'APP{i:03d}'))])"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", program],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == str(here)
    assert 0 < len(here) < 40


def test_api_budget_of_the_example_config(repo_root: Path) -> None:
    config = load_config(repo_root / "config.example.yaml")
    budget = ApiBudget.of(
        build_collectors(config),
        per_minute=600,
        interval=60.0,
        intervals={"events": 300.0, "subscribers": 300.0, "message": 300.0, "tag": 900.0},
    )
    # Scheduled polls cost the request plus ~1.1 getResults, a tag also its download, and
    # subscribers one synchronous call: 2 app stats and 1 campaign every minute, 2 events,
    # 2 messages and 2 subscribers every 5 minutes, 2 tags every 15.
    assert budget.by_kind == pytest.approx(
        {
            "app_stats": 2 * 2.1,
            "campaign": 2.1,
            "events": 2 * 2.1 / 5,
            "message": 2 * 2.1 / 5,
            "subscribers": 2 * 1 / 5,
            "tag": 2 * 3.1 / 15,
        }
    )
    assert budget.limit == 600
    assert not budget.exceeded


def scale_config(apps: int, per_minute: int, interval: str) -> Config:
    return parse_config(
        yaml.safe_dump(
            {
                "pushwoosh": {
                    "api_url": "http://127.0.0.1:9",
                    "max_requests_per_minute": per_minute,
                },
                "collection": {"interval": interval},
                "applications": [
                    {"code": f"APP{i:02d}-00000", "events": [{"name": f"E{e}"} for e in range(5)]}
                    for i in range(apps)
                ],
            }
        )
    )


def test_a_config_beyond_the_request_limit_gets_the_recommended_intervals_first() -> None:
    config = scale_config(apps=50, per_minute=300, interval="60s")
    budget = ApiBudget.of(build_collectors(config), per_minute=300, interval=60.0)
    calls = 50 * (6 * 2.1 + 1)  # app stats and 5 events scheduled, subscribers synchronous
    assert budget.per_minute == pytest.approx(calls)
    assert budget.exceeded
    advice = budget.advice()
    assert advice.startswith(
        f"about {calls:.0f} API calls a minute but max_requests_per_minute 300 allows 300 to"
        f" this replica, so each poll comes about {calls / 300:.1f} times later"
    )
    with_recommended = 50 * (2.1 + 1 / 5 + 5 * 2.1 / 5)
    ways = advice.split(": ", 1)[1].split(", or ")
    assert ways == [
        "set collection.intervals {subscribers: 5m, events: 5m}"
        f" (about {with_recommended:.0f} calls a minute)",
        "raise collection.interval to 150s",  # 136 s with a 10% margin, rounded up
        "raise pushwoosh.max_requests_per_minute to 748 if the account allows it",
    ]


def test_shards_share_the_account_limit() -> None:
    collectors = build_collectors(scale_config(apps=50, per_minute=900, interval="60s"))
    alone = ApiBudget.of(collectors, per_minute=900, interval=60.0)
    assert not alone.exceeded  # 680 calls a minute
    shared = ApiBudget.of(collectors, per_minute=900, interval=60.0, shards=3)
    assert shared.limit == 300
    assert shared.exceeded
    advice = shared.advice()
    assert "max_requests_per_minute 900 shared by 3 shards allows 300 to this replica" in advice
    assert "max_requests_per_minute to 2244 " in advice  # 680 a minute * 1.1, for 3 replicas


def test_kinds_with_their_own_interval_keep_it_in_the_advice() -> None:
    collectors = build_collectors(scale_config(apps=50, per_minute=300, interval="60s"))
    budget = ApiBudget.of(
        collectors, per_minute=300, interval=60.0, intervals={"events": 300.0, "subscribers": 300.0}
    )
    assert budget.per_minute == pytest.approx(50 * (2.1 + 1 / 5 + 5 * 2.1 / 5))
    assert not budget.exceeded
    tight = ApiBudget.of(
        collectors, per_minute=200, interval=60.0, intervals={"events": 300.0, "subscribers": 300.0}
    )
    advice = tight.advice()
    assert "collection.intervals" not in advice  # already at the recommended intervals
    # 115 calls a minute of events and subscribers stay; app stats take the rest of 200/1.1.
    assert f"raise collection.interval to {math.ceil(105 * 60 / (200 / 1.1 - 115))}s" in advice


def test_no_interval_advice_beyond_one_read_per_poll() -> None:
    """680 calls a minute at 4 requests a minute: a cycle takes 170 minutes; with a 15 minute
    lookback an interval over 2h45m would need several reads per poll (or miss data)."""
    config = scale_config(apps=50, per_minute=4, interval="60s")
    collectors = build_collectors(config)
    advice = ApiBudget.of(collectors, per_minute=4, interval=60.0, lookback=900.0).advice()
    assert "collection.interval " not in advice
    assert "max_requests_per_minute to 748 " in advice
    short = ApiBudget.of(collectors, per_minute=10, interval=60.0, max_catchup=3600.0)
    assert "collection.interval " not in short.advice()  # 75 minutes, beyond max_catchup
    fits = ApiBudget.of(collectors, per_minute=100, interval=60.0)  # 449 s: one read
    assert "raise collection.interval to 449s" in fits.advice()


def test_advice_rounds_up_whole_numbers_without_float_noise() -> None:
    config = scale_config(apps=1000, per_minute=6000, interval="60s")
    advice = ApiBudget.of(build_collectors(config), per_minute=6000, interval=60.0).advice()
    assert "about 13600 API calls a minute" in advice
    assert "max_requests_per_minute to 14960 " in advice  # 13600 * 1.1, not 14961
    assert "collection.interval to 150s" in advice  # 136 s * 1.1 = 149.6


async def logs_of_a_start(config: Config) -> list[dict[str, Any]]:
    """What the exporter logs while it starts with ``config`` and stops."""
    exporter = Exporter(lambda: (config, "token-1234"), listen=ListenAddress("127.0.0.1", 0))
    with structlog.testing.capture_logs() as logs:
        await exporter.start()
        await exporter.stop()
    return logs


async def test_the_exporter_warns_once_at_start_when_the_budget_is_exceeded() -> None:
    logs = await logs_of_a_start(scale_config(apps=50, per_minute=300, interval="60s"))
    warnings = [e for e in logs if e["event"] == "api_budget_exceeded"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert "raise collection.interval" in warnings[0]["advice"]
    assert "token-1234" not in str(logs)


async def test_no_warning_when_the_budget_fits() -> None:
    logs = await logs_of_a_start(scale_config(apps=2, per_minute=600, interval="60s"))
    assert [e["event"] for e in logs if e["event"] == "listening"] == ["listening"]  # it ran
    assert not [e for e in logs if e["event"] == "api_budget_exceeded"]


def test_discovered_targets_follow_the_listed_and_split_over_shards() -> None:
    config = parse_config(
        yaml.safe_dump(
            {
                "applications": [{"code": "LISTED-00000", "subscribers": "off"}],
                "discovery": {
                    "applications": {"collect": {"subscribers": "off", "events": [{"name": "E"}]}},
                    "campaigns": {},
                },
            }
        )
    )
    found = Discovered(
        applications=tuple(Found(f"APP{i:02d}-00000", f"title-{i}") for i in range(30)),
        campaigns=(Found("CAMP1-00000", "promo"),),
    )
    every = build_collectors(config, discovered=found)
    keys = [c.key for c in every]
    assert keys[0] == TargetKey("app_stats", "LISTED-00000")
    assert TargetKey("events", "APP07-00000/E") in keys
    assert TargetKey("campaign", "CAMP1-00000") in keys
    assert len(keys) == 1 + 30 * 2 + 1
    shards = [build_collectors(config, Shard(i, 3), found) for i in range(3)]
    assert sorted(c.key for s in shards for c in s) == sorted(keys)
    assert all(len(s) < len(keys) for s in shards)


def test_a_listing_turned_off_or_a_listed_code_drops_the_discovered_target() -> None:
    found = Discovered(
        applications=(Found("LISTED-00000", "old-title"), Found("APP01-00000", "a")),
        campaigns=(Found("CAMP1-00000", "promo"),),
    )
    config = parse_config(
        yaml.safe_dump(
            {
                "applications": [{"code": "LISTED-00000", "name": "mine", "subscribers": "off"}],
                "discovery": {"applications": {"collect": {"subscribers": "off"}}},
            }
        )
    )
    collectors = build_collectors(config, discovered=found)
    assert [str(c.key) for c in collectors] == ["app_stats:LISTED-00000", "app_stats:APP01-00000"]
    assert collectors[0] == AppStatsCollector("LISTED-00000", "mine")


def test_discovery_listings_count_against_the_budget_and_are_named() -> None:
    collectors = build_collectors(scale_config(apps=50, per_minute=700, interval="60s"))
    polls = ApiBudget.of(collectors, per_minute=700, interval=60.0)
    assert not polls.exceeded  # 680 calls a minute
    # 1,000 listing calls a round every 10 minutes: 100 more a minute.
    listed = ApiBudget.of(collectors, per_minute=700, interval=60.0, listing=100.0)
    assert listed.per_minute == pytest.approx(polls.per_minute + 100)
    assert listed.exceeded
    advice = listed.advice()
    assert "about 780 API calls a minute (100 of them discovery's listings" in advice
    # The listings keep their rate: the polls at 60 s get 700 / 1.1 - 100 = 536.4 a minute,
    # so their 680 calls a minute fit at 60 s * 680 / 536.4 = 76.1 s, rounded up.
    assert "raise collection.interval to 77s" in advice
    assert "max_requests_per_minute to 858 " in advice  # 780 * 1.1
