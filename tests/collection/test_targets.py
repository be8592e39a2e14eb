"""From the config to the targets of one replica: naming and sharding."""

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.collection.targets import Shard, build_collectors
from exporter.config import load_config
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
