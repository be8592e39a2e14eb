"""One publish point: readers see only what the publisher swapped in, written first when
there is a state file, and published even when the write fails."""

import asyncio
import shutil
from pathlib import Path

import structlog

from exporter.checkpoint import StateFile, read_state
from exporter.families import MESSAGES_SENT
from exporter.publish import Publisher
from exporter.store import BucketCount, Observation, Store, TargetKey

KEY = TargetKey("app_stats", "ABCDE-12345")
SENT = MESSAGES_SENT.series(app="ABCDE-12345", app_name="shop")


def poll(store: Store, end: int, count: int) -> None:
    obs = Observation(KEY, 0, end, buckets=(BucketCount(SENT, 0, count),))
    store.apply(obs, started=float(end), finished=float(end))


def published(publisher: Publisher) -> float:
    return dict(publisher.load().targets[KEY].counters)[SENT]


def saved(path: Path) -> float:
    store = Store()
    store.set_targets([KEY])
    store.load_state(read_state(path) or {})
    return dict(store.snapshot().targets[KEY].counters)[SENT]


async def test_without_a_state_file_a_poll_is_published_as_it_is_applied() -> None:
    store = Store()
    store.set_targets([KEY])
    publisher = Publisher(store)
    poll(store, 900, 1)
    first = publisher.load()
    assert publisher.load() is first  # built once, on the first read after the change
    poll(store, 901, 4)
    await publisher.changed()
    assert publisher.load() is not first
    assert published(publisher) == 3.0


async def test_with_a_state_file_what_is_published_is_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = Store()
    store.set_targets([KEY])
    publisher = Publisher(store, StateFile(path))
    poll(store, 900, 1)
    await publisher.flush()
    poll(store, 901, 9)
    await publisher.changed()
    assert published(publisher) == 0.0  # the write runs in the background
    await publisher.flush()
    assert published(publisher) == 8.0
    assert saved(path) == 8.0


async def test_a_failing_disk_does_not_freeze_the_metrics(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "state.json"
    store = Store()
    store.set_targets([KEY])
    publisher = Publisher(store, StateFile(path))
    poll(store, 900, 1)
    await publisher.flush()
    shutil.rmtree(folder)
    folder.write_text("the volume is gone")
    with structlog.testing.capture_logs() as logs:
        for end, count in ((901, 3), (902, 6)):
            poll(store, end, count)
            await publisher.changed()
            await publisher.flush()
            assert published(publisher) == count - 1
    assert [entry["event"] for entry in logs] == ["state_write_failed"]
    folder.unlink()
    folder.mkdir()
    await publisher.flush()
    assert saved(path) == 5.0


async def test_changes_during_a_write_are_coalesced_into_one_more_write(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = Store()
    store.set_targets([KEY])
    writes: list[bool] = []

    class Observer:
        def state_write_finished(self, ok: bool, when: float) -> None:
            writes.append(ok)

    publisher = Publisher(store, StateFile(path, observer=Observer()))
    poll(store, 900, 1)
    await publisher.changed()
    await asyncio.sleep(0)  # the write starts, and waits for its thread
    for end in range(901, 911):  # ten polls while the first write runs
        poll(store, end, end - 899)
        await publisher.changed()
    await publisher.flush()
    assert len(writes) == 3  # the first, one for the ten, the flush
    assert published(publisher) == saved(path) == 10.0
