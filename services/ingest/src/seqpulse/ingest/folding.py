"""The rollup stage (ADR 0011): folds the rollup backlog into the Founder View's rollups, apart from the
batches, several summaries at a time.

A batch's transaction stores its events and adds which they are to the backlog, and this replica keeps
their summary (ADR 0014); the consumer acks once it commits. This stage then folds every batch committed
so far, the summaries merged into one, in two parts at once, each in its own transaction (ADR 0016), and
deletes the backlog rows both have folded: at most once per `interval_seconds` while batches keep coming,
so under load one fold takes in the summaries of many batches (the same users' days, facts and sessions
summed once), and the batches never wait for it. Once no batch is in hand, the next fold starts at once:
the rollups do not lag a burst that has ended by an interval. A fold that fails is tried again; the
backlog keeps the batches meanwhile, across restarts too (a batch no replica holds is summed up again
from its events).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import ChainMap

from seqpulse.common.logging import get_logger
from seqpulse.ingest import metrics
from seqpulse.ingest.repository import FOLD_LIMIT, IngestRepository, Pending
from seqpulse.ingest.summary import BatchSummary

log = get_logger(__name__)
# Summaries kept in memory for the fold; beyond this the oldest are read back from the backlog instead.
MAX_CACHED = 1000
# Summaries of batches whose commit has not returned yet: two per replica at a time, unless commits fail
# (whether such a batch was committed is not known: its summary is kept, until this many come after it).
MAX_HOLDING = 64
# How often an idle replica looks at the backlog anyway (one left by a replica that stopped).
SWEEP_SECONDS = 30.0
# After a failed fold.
RETRY_SECONDS = 1.0


class RollupStage:
    """One per replica: remembers the summaries its batches committed, and folds the backlog."""

    def __init__(self, repo: IngestRepository, *, interval_seconds: float, limit: int = FOLD_LIMIT) -> None:
        self.repo = repo
        self.interval_seconds = interval_seconds
        self.limit = limit
        self._cached: dict[int, BatchSummary] = {}
        self._holding: dict[int, BatchSummary] = {}  # told before the commit (`hold`), not yet `add`ed
        self._due = asyncio.Event()
        self._in_hand = 0  # batches being written
        self._idle = asyncio.Event()  # set while none is
        self._idle.set()
        self._stopping = asyncio.Event()

    def hold(self, pending: Pending) -> None:
        """A batch is about to commit this summary to the backlog: should a fold take the batch before
        `add` is told, it folds the summary from here rather than reading the batch back."""
        self._holding[pending.id] = pending.summary
        if len(self._holding) > MAX_HOLDING:
            del self._holding[next(iter(self._holding))]

    def add(self, pending: Pending) -> None:
        """A batch committed this summary to the backlog: fold it soon, without reading it back."""
        self._holding.pop(pending.id, None)
        self._cached[pending.id] = pending.summary
        if len(self._cached) > MAX_CACHED:
            del self._cached[next(iter(self._cached))]
        self._due.set()

    def batch_started(self) -> None:
        self._in_hand += 1
        self._idle.clear()

    def batch_ended(self) -> None:
        """Once no batch is in hand, what was committed is folded without waiting out the interval."""
        self._in_hand -= 1
        if not self._in_hand:
            self._idle.set()

    def wake(self) -> None:
        """A batch's write failed, perhaps after its commit: look at the backlog soon."""
        self._due.set()

    def stop(self) -> None:
        self._stopping.set()
        self._due.set()  # wakes the loop, which sees the stop
        self._idle.set()

    async def run(self) -> None:
        """Fold whenever a batch committed (at most once per interval while batches are in hand) until
        stopped, then fold once more so what was committed before the stop is not left for the next
        start."""
        self._due.set()  # a backlog left by a crash, or by another replica
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), timeout=SWEEP_SECONDS)
            if self._stopping.is_set():
                break
            self._due.clear()
            if not await self._fold_logged():
                self._due.set()
                await self._sleep(RETRY_SECONDS)
                continue
            await self._pause(self.interval_seconds)
        await self._fold_logged()

    async def fold_all(self) -> int:
        """Fold every summary committed so far; returns the events they count."""
        events = 0
        while True:
            committed = list(self._cached)  # the ids whose commit has returned
            started = time.perf_counter()
            # Each part reads the summaries held as it takes its batches, those told before their commit
            # too; only those committed before now are forgotten below (a batch still committing has not
            # been taken).
            folded = await self.repo.fold(ChainMap(self._cached, self._holding), self.limit)
            # Both parts have taken in every cached summary now (or had already: another replica, or a
            # rebuild), unless one stopped at its limit before reaching it.
            for backlog_id in committed:
                if folded.through is None or backlog_id <= folded.through:
                    self._cached.pop(backlog_id, None)
            if folded.ids:
                metrics.FOLD_SECONDS.observe(time.perf_counter() - started)
                metrics.FOLD_SUMMARIES.observe(len(folded.ids))
                metrics.FOLDED_EVENTS.inc(folded.events)
                metrics.LAST_FOLDED.set(time.time())
                events += folded.events
            if folded.through is None:
                return events

    async def _fold_logged(self) -> bool:
        try:
            await self.fold_all()
        except Exception as exc:  # a Postgres outage must not end the stage: the backlog waits
            metrics.FOLD_FAILURES.inc()
            log.warning("rollup_fold_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        return True

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _pause(self, seconds: float) -> None:
        """The interval between two folds, cut short once no batch is in hand (or on stop)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout=seconds)
