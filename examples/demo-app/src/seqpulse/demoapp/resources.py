"""Process CPU and memory usage as fractions, read from the kernel without psutil."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

_STATM = Path("/proc/self/statm")


def resident_bytes() -> int:
    """Current resident set size of this process; 0 where /proc is unavailable (not Linux)."""
    try:
        fields = _STATM.read_text().split()
    except OSError:
        return 0
    # statm counts pages: size, resident, shared, ...
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def clamp_fraction(value: float) -> float:
    return min(max(value, 0.0), 1.0)


class CpuMeter:
    """CPU used by this process between two reads, as a fraction of one core."""

    def __init__(
        self,
        *,
        cpu_clock: Callable[[], float] = time.process_time,
        wall_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cpu_clock = cpu_clock
        self._wall_clock = wall_clock
        self._last_cpu = cpu_clock()
        self._last_wall = wall_clock()

    def read(self) -> float:
        cpu, wall = self._cpu_clock(), self._wall_clock()
        cpu_delta, wall_delta = cpu - self._last_cpu, wall - self._last_wall
        self._last_cpu, self._last_wall = cpu, wall
        if wall_delta <= 0:
            return 0.0
        # Several threads can exceed one core; the contract's fraction tops out at 1.
        return clamp_fraction(cpu_delta / wall_delta)


class MemoryMeter:
    """Resident memory as a fraction of a configured limit (the container's, in a real deployment)."""

    def __init__(self, limit_bytes: int, *, rss: Callable[[], int] = resident_bytes) -> None:
        if limit_bytes <= 0:
            raise ValueError("memory limit must be > 0")
        self.limit_bytes = limit_bytes
        self._rss = rss

    def read(self) -> float:
        return clamp_fraction(self._rss() / self.limit_bytes)
