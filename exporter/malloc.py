"""A fixed mmap threshold for glibc's malloc, so that freed scrape bodies go back to the OS.

glibc serves a block of 128 KiB or more with its own mmap, until such a block is freed: then
it raises the threshold to that block's size (up to 32 MiB), and the next blocks of that size
come from the heap. A ``/metrics`` body of several MiB, rendered after the data changes, then
lands in the heap at each scrape, and the small long-lived objects allocated meanwhile pin
the space it leaves. At 7,000 targets that kept the exporter's RSS about 2 KiB per target
higher (``bench.scale``). Setting the threshold once keeps it where it starts (glibc stops
adjusting it), and large blocks are mapped and unmapped as they come and go.

A ``MALLOC_MMAP_THRESHOLD_`` in the environment is the operator's choice and is left alone;
on a C library without ``mallopt`` (musl has it as a no-op, macOS lacks it) nothing happens.
"""

import ctypes
import os
import sys
from typing import Final

M_MMAP_THRESHOLD: Final = -3
"""glibc's ``mallopt`` parameter number (malloc.h)."""
THRESHOLD: Final = 128 * 1024
"""glibc's initial threshold: blocks from this size up are mapped on their own."""


def fix_mmap_threshold() -> bool:
    """Pin the threshold (see the module); True when ``mallopt`` accepted it."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    accepted: int = mallopt(M_MMAP_THRESHOLD, THRESHOLD)
    return accepted == 1
