"""The Lua worker process: one sandbox, far from the console, that can always be ended from outside.

Why a process of its own: a Lua chunk can be stuck inside a C library function (a backtracking pattern in
``string.find`` on a long subject, ``string.rep`` of an empty string a billion billion times), where no
instruction hook ever runs, so no cancel inside the same process can reach it. Here, a cancel that the
hook cannot deliver within a deadline ends the whole process (:mod:`tui.lua.host`), and nothing of the
chunk runs on.

Started by :class:`tui.lua.host.LuaWorker` as ``python -m tui.lua.worker MAIN_FD CONTROL_FD``, in a
session of its own (a ctrl+c typed at the terminal is the console's to handle, not this process's):

* ``MAIN_FD``, a stream socket: the console sends one command at a time (``("init", options)`` first,
  then the commands of :mod:`tui.lua.commands` as ``(op, gen, *args)``) and this process answers
  ``("done", gen, result)``. While a command runs, this process sends ``("call", op, *args)`` for each
  ``exec`` operation and reads the ``("ret", status, value, error)`` answer, ``("print", lines)`` for
  ``print`` output (batched: at most about 50 ms late, even while Lua is stuck in a C function), and
  ``("drop", refs)`` for handles Lua let go of.
* ``CONTROL_FD``, a pipe from the console: 8-byte generation numbers. A number equal to the running
  command's cancels it (through the sandbox's hook); the end of the pipe means the console is gone,
  and this process exits at once, even in the middle of a C call (lupa releases the GIL while Lua runs,
  so the thread that reads the pipe always gets to run).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any

from tui.lua.channel import Channel, ChannelClosed, Message
from tui.lua.commands import LuaSession

GEN = struct.Struct("<Q")
"""A generation number on the control pipe."""

PRINT_DELAY = 0.05
"""Longest time a ``print`` line waits in this process before it is sent on."""

PRINT_BATCH = 64 * 1024
"""Characters of ``print`` output sent in one message at most."""


class _Prints:
    """``print`` lines waiting to be sent, in order: sent before each call, at the end of a command, when a
    batch is full, and by the control thread once the oldest has waited :data:`PRINT_DELAY` (so a line
    printed just before a long C call shows, and is not lost if the process is then killed)."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._size = 0
        self._since = 0.0

    def add(self, line: str) -> None:
        with self._lock:
            if not self._lines:
                self._since = time.monotonic()
            self._lines.append(line)
            self._size += len(line) + 1
            if self._size >= PRINT_BATCH:
                self._send()

    def tick(self) -> None:
        with self._lock:
            if self._lines and time.monotonic() - self._since >= PRINT_DELAY:
                self._send()

    def flush(self) -> None:
        with self._lock:
            self._send()

    def _send(self) -> None:
        # Under the lock, send included: two threads flushing must not swap the order of their lines.
        if self._lines:
            lines, self._lines, self._size = self._lines, [], 0
            self._channel.send(("print", lines))


class _Worker:
    """The state of this process: the channel, the Lua session, the running command's generation."""

    def __init__(self, channel: Channel, options: dict[str, Any]) -> None:
        self.channel = channel
        self.prints = _Prints(channel)
        self.current_gen = 0
        self.session = LuaSession(options, self.call, self.notify, self.prints.add)

    # -- the exec module's way out -------------------------------------------------------------------

    def call(self, op: str, *args: Any) -> tuple[int, Any, Any]:
        """One ``exec`` operation in the console's process; blocks for its answer."""
        self.prints.flush()  # what the script printed before the call comes first
        try:
            self.channel.send(("call", op, *args))
            reply = self.channel.receive()
        except ChannelClosed:
            os._exit(0)  # the console is gone: nobody is left to answer or to tell
        if reply[0] != "ret" or len(reply) != 4:
            raise RuntimeError(f"unexpected answer {reply[0]!r} to {op!r}")
        return reply[1], reply[2], reply[3]

    def notify(self, op: str, *args: Any) -> None:
        """Tell the console something that needs no answer."""
        try:
            self.channel.send((op, *args))
        except ChannelClosed:
            os._exit(0)

    def cancel(self, gen: int) -> None:
        """From the control thread: cancel the running command if ``gen`` names it."""
        if gen == self.current_gen:
            self.session.cancel()

    def run(self, message: Message) -> None:
        """Run one command from the console and send its result."""
        op, gen = message[0], int(message[1])
        self.current_gen = gen
        try:
            result = self.session.dispatch(op, message[2:])
        finally:
            self.current_gen = 0
        self.prints.flush()
        self.channel.send(("done", gen, result))


def _watch_control(fd: int, worker: _Worker) -> None:
    """The control pipe: cancels, and the console's end (then this process ends at once); meanwhile, send
    ``print`` lines that have waited long enough."""
    pending = b""
    while True:
        try:
            readable, _, _ = select.select([fd], [], [], PRINT_DELAY)
            if not readable:
                worker.prints.tick()
                continue
            data = os.read(fd, 4096)
        except InterruptedError:
            continue
        except (OSError, ChannelClosed):
            data = b""
        if not data:
            os._exit(0)
        pending += data
        while len(pending) >= GEN.size:
            (gen,) = GEN.unpack_from(pending)
            pending = pending[GEN.size:]
            worker.cancel(gen)


def main(argv: list[str]) -> int:
    # The console handles ctrl+c and decides; this process ends when the console says so or goes away.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    main_fd, control_fd = int(argv[0]), int(argv[1])
    channel = Channel(socket.socket(fileno=main_fd))
    try:
        first = channel.receive()
    except ChannelClosed:
        return 0
    if first[0] != "init":
        return 2
    worker = _Worker(channel, dict(first[1]))
    threading.Thread(target=_watch_control, args=(control_fd, worker), name="lua-control", daemon=True).start()
    channel.send(("ready",))
    while True:
        try:
            message = channel.receive()
        except ChannelClosed:
            return 0
        try:
            worker.run(message)
        except ChannelClosed:
            return 0
        except Exception as exc:  # noqa: BLE001 - said to the console, which shows it without a traceback
            try:
                channel.send(("failed", int(message[1]) if len(message) > 1 else 0, f"{type(exc).__name__}: {exc}"))
            except ChannelClosed:
                return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
