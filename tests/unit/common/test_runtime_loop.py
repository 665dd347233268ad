"""The services' event loop: `run` drives a coroutine to its result on uvloop's loop, as `Service`'s
`main` and the gateway do, and the loop is closed afterwards."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import uvloop

from seqpulse.common.runtime.loop import new_event_loop, run


def test_run_gives_the_result_of_the_coroutine_run_on_uvloop() -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def main() -> int:
        seen.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return 42

    assert run(main()) == 42
    assert isinstance(seen[0], uvloop.Loop)
    assert seen[0].is_closed()


def test_new_event_loop_is_uvloop_and_runs_callbacks() -> None:
    loop = new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, result="done")) == "done"
    finally:
        loop.close()


def test_durations_are_not_timed_with_the_loop_clock() -> None:
    # uvloop's loop clock ticks in whole milliseconds and stands still within an iteration of the loop:
    # a duration read from it is rounded to a millisecond, or is 0. The services, their libraries and the
    # benchmarks time durations with time.perf_counter (the events latency bench and the collector's
    # probe histogram once did otherwise).
    async def ticks() -> set[float]:
        loop, seen = asyncio.get_running_loop(), set()
        started = time.perf_counter()
        while time.perf_counter() - started < 0.005:
            seen.add(round(loop.time() * 1000, 6) % 1)
            await asyncio.sleep(0)
        return seen

    assert run(ticks()) == {0.0}, "uvloop's clock has changed: the reason for the rule below is gone"
    root = Path(__file__).resolve().parents[3]
    patterns = ("services/*/src/**/*.py", "libs/*/src/**/*.py", "bench/*.py")
    sources = [path for pattern in patterns for path in root.glob(pattern)]
    assert len(sources) > 50
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(\bloop|get_running_loop\(\)|get_event_loop\(\))\.time\(\)", line)
    ]
    assert offenders == []
