"""The garbage collector tuned for services that allocate a lot of short-lived objects.

A batch of a thousand events makes tens of thousands of containers (models, dicts, tuples) that live for
the batch, a few tens of milliseconds. With CPython's default thresholds (700, 10, 10) that is a
young-generation collection every 700 net allocations, and the survivors of a batch in flight are
promoted and collected again with the older generations, which walk every object the process holds,
the imported modules included. Measured on the ingest process over 50 000 events: 10% of its CPU in
the collector (516 young, 47 middle, 4 full collections), and 22% less CPU in all once tuned
(docs/benchmarks.md).

So, once a service has started: everything allocated so far (modules, settings, pools) is moved out of
the collector's sight with `gc.freeze()` — it lives as long as the process anyway — and a young
collection waits for `YOUNG_THRESHOLD` net allocations. Nearly all of our garbage is freed by reference
counting the moment it is dropped; what waits for the collector is only garbage in reference cycles,
and the threshold bounds how much of it can pile up (a few megabytes). `python_gc_*` on `/metrics`
shows the collections as they happen.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000
MIDDLE_THRESHOLD = 20
OLD_THRESHOLD = 10


def settle_heap() -> None:
    """Collect once, freeze what survives (the start-up's objects), raise the young threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
