"""The event loop every SeqPulse process runs on: uvloop's (libuv), which does the loop's own work (socket
reads and writes, callbacks, timers) in C where asyncio's default loop does it in Python. On the ingest
path (HTTP, NATS, Postgres) that cut the CPU per event by ~4 % (docs/benchmarks.md, session 14). The
benchmarks run their clients and their bare baselines on it too, so that a comparison stays like for like."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop of the kind the services run on."""
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on such a loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
