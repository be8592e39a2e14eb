"""Fixtures shared by the whole suite: the real tools the tests run.

Tests that need Prometheus' binaries ask for the ``promtool`` or ``prometheus`` fixture.
Where a binary is missing they are skipped on a developer's machine, but in CI (``CI`` set)
a missing binary fails the test: CI never skips the real-Prometheus tests silently.
"""

import shutil
from pathlib import Path

import pytest
from ci import cannot_run

REPO = Path(__file__).resolve().parent.parent


def _require_binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path:
        return path
    cannot_run(f"{name} not found: install Debian's 'prometheus' package (make test does as root)")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's top folder."""
    return REPO


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of Debian's promtool binary."""
    return _require_binary("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    """Path of Debian's prometheus server binary."""
    return _require_binary("prometheus")
