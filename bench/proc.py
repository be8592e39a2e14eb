"""A process's CPU time and resident memory, read from ``/proc`` (Linux)."""

import os
from pathlib import Path


def cpu_seconds(pid: int | str = "self") -> float:
    """User plus system CPU seconds of process ``pid`` so far."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rpartition(")")[2].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int | str = "self") -> int:
    """Resident memory (VmRSS) of process ``pid``, KiB."""
    return status_kib(pid, "VmRSS")


def status_kib(pid: int | str, field: str) -> int:
    """A memory field of process ``pid``'s status (``VmRSS``, ``VmHWM``: peak), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")
