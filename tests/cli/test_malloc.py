"""The pinned mmap threshold, observed in glibc's own accounting in a fresh interpreter."""

import os
import subprocess
import sys
import textwrap

from ci import cannot_run

# In a fresh process: free one 4 MiB block, allocate another, and report the bytes glibc
# holds in mmapped blocks (mallinfo2's hblkhd) while the second is alive.
PROGRAM = textwrap.dedent(
    """
    import ctypes, sys
    from exporter.malloc import fix_mmap_threshold

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    mallinfo2 = ctypes.CDLL(None).mallinfo2
    mallinfo2.restype = MallInfo2
    fixed = fix_mmap_threshold() if sys.argv[1] == "fix" else False
    first = bytearray(4 << 20)
    del first
    second = bytearray(4 << 20)
    print(int(fixed), mallinfo2().hblkhd)
    """
)


def mapped_after_a_free(mode: str, env: dict[str, str] | None = None) -> tuple[bool, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    fixed, mapped = done.stdout.split()
    return fixed == "1", int(mapped)


def require_linux() -> None:
    if not sys.platform.startswith("linux"):
        cannot_run("glibc's malloc only (Linux)")


def test_a_large_block_is_still_mapped_after_one_was_freed() -> None:
    require_linux()
    fixed, mapped = mapped_after_a_free("fix")
    assert fixed
    assert mapped >= 4 << 20  # the second block has its own mapping, given back when freed
    # Without the fix glibc raised its threshold at the free: the second block is in the heap.
    unfixed, heap_mapped = mapped_after_a_free("leave")
    assert not unfixed
    assert heap_mapped < 4 << 20


def test_an_operators_own_threshold_is_left_alone() -> None:
    require_linux()
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(64 << 20)}
    fixed, mapped = mapped_after_a_free("fix", env)
    assert not fixed
    assert mapped < 4 << 20  # the operator's 64 MiB threshold keeps 4 MiB blocks in the heap
