"""Scrapes under load while 100 targets are polled: not one error.

Latency is measured by ``bench/load.py`` (and reported there), never asserted here.
"""

import pytest

from bench.load import run


@pytest.mark.timeout(240)
async def test_fifty_concurrent_scrapers_get_no_errors_while_polling_100_targets() -> None:
    result = await run(scrapers=50, seconds=5.0, targets=100)
    assert result["scrapes"] > 50
    assert result["errors"] == 0
