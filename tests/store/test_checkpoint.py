"""The state file: atomic, private, versioned; unusable files are set aside, never fatal."""

import json
import shutil
import stat
from pathlib import Path

import pytest
import structlog

from exporter.checkpoint import StateFile, read_state, write_state
from exporter.families import MESSAGES_SENT
from exporter.store import BucketCount, Observation, Store, TargetKey

KEY = TargetKey("app_stats", "ABCDE-12345")
SENT = MESSAGES_SENT.series(app="ABCDE-12345", app_name="shop")


def polled_store(counts: list[int]) -> Store:
    store = Store()
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
    assert StateFile(path).restore(store) == 0
    assert not path.exists()
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("state.json.bad-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == content


async def test_state_restores_counters_and_watermark(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    assert await StateFile(path).write(polled_store([2, 5]).dump_state())
    after = Store()
    after.set_targets([KEY])
    assert StateFile(path).restore(after) == 1
    assert dict(after.snapshot().targets[KEY].counters) == {SENT: 3.0}
    assert after.watermark(KEY) == 901
    assert json.loads(path.read_text())["version"] == 1


async def test_a_failed_write_leaves_the_previous_state_and_says_why(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    path = folder / "state.json"
    state = StateFile(path)
    assert await state.write(polled_store([2]).dump_state())
    before = path.read_bytes()
    (folder / ".state.json.tmp").mkdir()  # the temp file cannot be opened for writing
    with structlog.testing.capture_logs() as logs:
        assert not await state.write(polled_store([2, 9]).dump_state())
    assert path.read_bytes() == before
    assert logs == [
        {
            "event": "state_write_failed",
            "path": str(path),
            "error": "Is a directory",
            "log_level": "error",
        }
    ]


async def test_failures_are_logged_once_per_streak_and_reported_every_time(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    outcomes: list[tuple[bool, float]] = []
    clock = iter(float(t) for t in range(100, 200))

    class Clock:
        def now(self) -> float:
            return next(clock)

        async def sleep(self, seconds: float) -> None:
            raise AssertionError("a write never sleeps")

    class Observer:
        def state_write_finished(self, ok: bool, when: float) -> None:
            outcomes.append((ok, when))

    state = StateFile(folder / "state.json", clock=Clock(), observer=Observer())
    data = polled_store([1]).dump_state()
    with structlog.testing.capture_logs() as logs:
        assert await state.write(data)
        for _ in range(2):  # two streaks of three failures: the folder replaced by a file
            shutil.rmtree(folder)
            folder.write_text("not a folder")
            for _ in range(3):
                assert not await state.write(data)
            folder.unlink()
            folder.mkdir()
            assert await state.write(data)
            assert await state.write(data)
    assert [entry["event"] for entry in logs] == [
        "state_write_failed",
        "state_write_recovered",
        "state_write_failed",
        "state_write_recovered",
    ]
    assert logs[0]["error"] == "Not a directory"
    assert logs[1]["error_was"] == "Not a directory"
    assert [ok for ok, _ in outcomes] == [True, *([False] * 3 + [True] * 2) * 2]
    assert [when for _, when in outcomes] == [float(t) for t in range(100, 111)]
    assert json.loads((folder / "state.json").read_text()) == data
