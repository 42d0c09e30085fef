"""One visitor's console seen from the server: textual-serve's ``AppService`` with what a demo needs.

textual-serve starts each app with ``create_subprocess_shell`` and the server's whole environment, dumps
the app's stderr onto the server's stdout, and stops it by asking it to quit and waiting for as long as
that takes. :class:`VisitorConsole` keeps its protocol (the packets, the meta messages, the downloads)
and changes exactly those three things:

* the process is the visitor's keeper (:mod:`tui.serve.visitor`), started from an argv with the clean
  environment of its :class:`~tui.serve.visitor.Launch` plus the few variables textual's web driver
  reads, in a session of its own;
* what it writes on stderr is kept (the last lines) for the server's log, never printed as it comes;
* :meth:`VisitorConsole.stop` always ends: ask the console to quit, then SIGTERM to the keeper (which
  passes it on, kills the console after a grace, and ends what it left), then SIGKILL to the group.

It also keeps the time of the visitor's last input, for the idle timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from asyncio.subprocess import PIPE, Process
from collections.abc import Awaitable, Callable

from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui.serve.keeper import LEFTOVER_DEADLINE, TERM_GRACE
from tui.serve.visitor import Launch

QUIT_GRACE = 10.0
"""Seconds a console asked to quit has to end its runs and exit (SIGTERM, then SIGKILL after 2 s, for each
run; a few more for containers) before it is signalled."""

#: What textual's web driver reads from the environment (textual-serve sets them).
DRIVER_VARIABLES = ("TEXTUAL_DRIVER", "TEXTUAL_FPS", "TEXTUAL_COLOR_SYSTEM", "TERM_PROGRAM",
                    "TERM_PROGRAM_VERSION", "COLUMNS", "ROWS")

_PRELUDE = b"__GANGLION__\n"
_STDERR_KEPT = 4096


async def _ended(process: Process, timeout: float) -> bool:
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        return False
    return True


class VisitorConsole(AppService):
    """See the module docstring. ``write_bytes``, ``write_str`` and ``close`` reach the visitor's websocket."""

    def __init__(self, start: Launch, *, write_bytes: Callable[[bytes], Awaitable[None]],
                 write_str: Callable[[str], Awaitable[None]], close: Callable[[], Awaitable[None]],
                 download_manager: DownloadManager) -> None:
        super().__init__(" ".join(start.argv), write_bytes=write_bytes, write_str=write_str, close=close,
                         download_manager=download_manager)
        self.launch = start
        self.last_input = time.monotonic()
        """When the visitor last typed, clicked or resized (``time.monotonic``)."""
        self.stderr_tail = b""
        """The end of what the console wrote on stderr (a failure's one line, normally nothing)."""

    @property
    def process(self) -> Process | None:
        """The keeper's process, once started."""
        return self._process

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        upstream = super()._build_environment(width, height)
        env = dict(self.launch.env)
        env.update({name: upstream[name] for name in DRIVER_VARIABLES if name in upstream})
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        self._process = process = await asyncio.create_subprocess_exec(
            *self.launch.argv, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=self._build_environment(width, height),
            cwd=self.launch.cwd, start_new_session=True)
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def send_bytes(self, data: bytes) -> bool:
        self.last_input = time.monotonic()
        return await super().send_bytes(data)

    async def set_terminal_size(self, width: int, height: int) -> None:
        self.last_input = time.monotonic()
        await super().set_terminal_size(width, height)

    async def run(self) -> None:
        """Pass the console's packets on until its stdout ends (it exited)."""
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        stdout = process.stdout
        stderr_task = asyncio.create_task(self._keep_stderr(process.stderr))
        handlers = {b"D": self.on_data, b"M": self.on_meta, b"P": self.on_packed}
        try:
            # textual's web driver says a line before its packets; anything else is not a console.
            for _ in range(10):
                line = await stdout.readline()
                if not line or line == _PRELUDE:
                    break
            while line == _PRELUDE:
                kind = await stdout.readexactly(1)
                size = int.from_bytes(await stdout.readexactly(4), "big")
                payload = await stdout.readexactly(size)
                handler = handlers.get(kind)
                if handler is not None:
                    await handler(payload)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the console ended (or wrote a line too long to be the prelude)
        finally:
            # stderr ends with the process, maybe a moment after stdout: its last words are worth a second
            # (wait_for cancels the reader after that).
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(stderr_task, 1.0)

    async def _keep_stderr(self, stream: asyncio.StreamReader) -> None:
        while data := await stream.read(_STDERR_KEPT):
            self.stderr_tail = (self.stderr_tail + data)[-_STDERR_KEPT:]

    async def stop(self) -> None:
        """End the console and everything it started (see the module docstring); returns when the keeper has
        exited, or after the last resort. Safe to call more than once."""
        process = self._process
        if process is None:
            return
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            await self.send_meta({"type": "quit"})
            if not await _ended(process, QUIT_GRACE):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                if not await _ended(process, TERM_GRACE + LEFTOVER_DEADLINE + 2.0):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(process.pid, signal.SIGKILL)
                    await _ended(process, 5.0)
        task, self._task = self._task, None
        if task is not None:
            # On a timeout wait_for cancels it: the pipe outlived the process (a grandchild holds it).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, 5.0)
