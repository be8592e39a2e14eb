"""Fixtures of the simulator's tests: a running simulator with a fake clock."""

from collections.abc import AsyncIterator

import pytest

from tests.simulator.simharness import SimHarness, running_harness


@pytest.fixture
async def sim() -> AsyncIterator[SimHarness]:
    """A simulator with generated traffic; jobs are ready at once."""
    async for harness in running_harness(traffic=True):
        yield harness


@pytest.fixture
async def quiet_sim() -> AsyncIterator[SimHarness]:
    """A simulator where only injected events exist; jobs are ready at once."""
    async for harness in running_harness(traffic=False):
        yield harness
