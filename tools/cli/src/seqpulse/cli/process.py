"""The deploy command as a child process, and what SIGINT / SIGTERM do while `seqpulse run` runs."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Mapping, Sequence

SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND = 126, 127  # the shell's statuses


class Interrupts:
    """While the command runs a signal goes to it and `run` waits for it to exit; at any other time
    the signal cancels the main task, which finishes what it must (the deployment) and exits 128+N."""

    def __init__(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[object]) -> None:
        self.loop = loop
        self.task = task
        self.received: int | None = None
        self.child: asyncio.subprocess.Process | None = None

    @classmethod
    def install(cls) -> Interrupts:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None, "installed from inside the main task"
        interrupts = cls(loop, task)
        for sig in SIGNALS:
            loop.add_signal_handler(sig, interrupts.on_signal, sig)
        return interrupts

    def uninstall(self) -> None:
        for sig in SIGNALS:
            self.loop.remove_signal_handler(sig)

    def on_signal(self, sig: int) -> None:
        self.received = sig
        child = self.child
        if child is not None and child.returncode is None:
            # Ctrl-C in a terminal reaches the whole process group, the command included: sending SIGINT
            # again could make it abort its cleanup. SIGTERM may have been sent to this process alone.
            if sig == signal.SIGTERM:
                child.send_signal(sig)
            return
        self.task.cancel()

    def clear_cancel(self) -> None:
        """The cancellation was handled: later awaits (finishing the deployment) must run normally."""
        self.task.uncancel()

    def exit_code(self) -> int:
        return 128 + (self.received or signal.SIGINT)


async def run_command(
    argv: Sequence[str], env: Mapping[str, str], interrupts: Interrupts, *, to_stderr: bool
) -> int:
    """COMMAND with this process's stdin and stderr (and stdout, unless `to_stderr`); its exit status,
    128+N when a signal killed it, 127/126 when it cannot be started."""
    try:
        child = await asyncio.create_subprocess_exec(
            *argv, env=dict(env), stdout=sys.stderr.fileno() if to_stderr else None
        )
    except FileNotFoundError:
        print(f"seqpulse run: command not found: {argv[0]}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except PermissionError:
        print(f"seqpulse run: command not executable: {argv[0]}", file=sys.stderr)
        return EXIT_CANNOT_EXECUTE
    interrupts.child = child
    try:
        code = await child.wait()
    finally:
        interrupts.child = None
    return 128 - code if code < 0 else code
