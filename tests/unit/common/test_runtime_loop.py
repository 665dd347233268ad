"""The services' event loop: `run` drives a coroutine to its result on uvloop's loop, as `Service`'s
`main` and the gateway do, and the loop is closed afterwards."""

from __future__ import annotations

import asyncio

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
