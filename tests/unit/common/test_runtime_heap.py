"""`settle_heap`: a started service's objects are frozen out of the collector's walks, and young
collections wait for many more allocations (run in a child process: it changes the whole interpreter)."""

from __future__ import annotations

import subprocess
import sys

from seqpulse.common.runtime.heap import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD

CHILD = """
import gc
from seqpulse.common.runtime.heap import settle_heap
before = (gc.get_threshold(), gc.get_freeze_count())
settle_heap()
cycle = []
cycle.append(cycle)  # garbage only the collector can free
del cycle
print((before, gc.get_threshold(), gc.get_freeze_count(), gc.collect()))
"""


def test_settle_heap_freezes_the_start_up_objects_and_raises_the_young_threshold() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], check=True, capture_output=True, text=True).stdout
    before, threshold, frozen, collected = eval(out)  # noqa: S307  # our own child's repr of plain tuples
    assert before == ((700, 10, 10), 0)
    assert threshold == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    assert frozen > 10_000  # the imported modules' objects, at least
    assert collected >= 1  # a cycle made after the freeze is still the collector's to free
