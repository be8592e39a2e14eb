"""Skips that CI must not hide."""

import os
from typing import NoReturn

import pytest


def cannot_run(message: str) -> NoReturn:
    """Skip the test for ``message``, or fail it when running in CI (``CI`` set): there
    everything a test needs is installed, so a missing piece is a broken set-up."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
