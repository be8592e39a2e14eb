"""The state file: atomic, private, versioned; unusable files are set aside, never fatal."""

import json
import stat
from pathlib import Path

import pytest

from exporter.checkpoint import Checkpointer, read_state, write_state
from exporter.families import MESSAGES_SENT
from exporter.store import BucketCount, Observation, Store, TargetKey

KEY = TargetKey("app_stats", "ABCDE-12345")
SENT = MESSAGES_SENT.series(app="ABCDE-12345", app_name="shop")


def polled_store(counts: list[int], *, held: bool = False) -> Store:
    store = Store(publish_on_change=not held)
    store.set_targets([KEY])
    for i, count in enumerate(counts):
        obs = Observation(KEY, 0, 900 + i, buckets=(BucketCount(SENT, 0, count),))
        store.apply(obs, started=900.0 + i, finished=900.0 + i)
    return store


def test_written_state_is_private_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    write_state(path, {"version": 1, "targets": []})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_state(path) == {"version": 1, "targets": []}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_missing_state_is_a_fresh_start(tmp_path: Path) -> None:
    assert read_state(tmp_path / "absent.json") is None


@pytest.mark.parametrize(
    "content",
    [b'{"version": 1, "targ', b"\x00\xff", b"[1, 2]", b'{"version": 7, "targets": []}'],
    ids=["truncated", "binary", "not-an-object", "wrong-version"],
)
def test_unusable_state_is_moved_aside_and_counting_restarts(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "state.json"
    path.write_bytes(content)
    store = Store()
    store.set_targets([KEY])
    assert Checkpointer(path, store).restore() == 0
    assert not path.exists()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.bad-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == content


async def test_checkpoint_restores_counters_and_watermark(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    before = polled_store([2, 5], held=True)
    checkpointer = Checkpointer(path, before)
    await checkpointer.after_poll()
    await checkpointer.flush()
    after = Store()
    after.set_targets([KEY])
    assert Checkpointer(path, after).restore() == 1
    assert dict(after.snapshot().targets[KEY].counters) == {SENT: 3.0}
    assert after.watermark(KEY) == 901
    assert json.loads(path.read_text())["version"] == 1


async def test_counts_become_visible_only_after_they_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = polled_store([1], held=True)
    checkpointer = Checkpointer(path, store)
    await checkpointer.flush()
    store.apply(
        Observation(KEY, 0, 950, buckets=(BucketCount(SENT, 0, 9),)), started=950.0, finished=950.0
    )
    assert dict(store.snapshot().targets[KEY].counters) == {SENT: 0.0}
    await checkpointer.flush()
    assert dict(store.snapshot().targets[KEY].counters) == {SENT: 8.0}
    saved = Store()
    saved.set_targets([KEY])
    saved.load_state(read_state(path) or {})
    assert dict(saved.snapshot().targets[KEY].counters) == {SENT: 8.0}
