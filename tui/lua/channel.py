"""Framed messages between the console's process and a Lua worker process.

A message is a tuple of plain values (``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, and
tuples, lists and dicts of them), encoded with :mod:`marshal` behind a 4-byte little-endian length.
``marshal`` is the fastest encoder of such values in the standard library, and both ends are the same
Python (the worker is started with the console's own interpreter), so its format always agrees. The
worker is this program's own code: a Lua script inside it reaches nothing but the sandbox, so a message
from it is data, never code (``marshal`` builds no objects beyond the plain values above).

A :class:`Channel` is used by one reading thread and one writing thread at a time; its ``send`` takes a
lock so that replies and notifications from different threads never interleave.
"""

from __future__ import annotations

import contextlib
import marshal
import socket
import struct
import threading
from typing import Any

_HEADER = struct.Struct("<I")
MAX_MESSAGE = 256 * 1024 * 1024
"""The largest message accepted: a corrupt header must not make a reader allocate gigabytes."""

Message = tuple[Any, ...]


class ChannelClosed(Exception):
    """The other end closed the channel (or it broke): no message will come any more."""


class Channel:
    """Length-prefixed ``marshal`` messages over a connected stream socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        self._send_lock = threading.Lock()

    def send(self, message: Message) -> None:
        """Send one message whole. Raises :class:`ChannelClosed` when the other end is gone."""
        body = marshal.dumps(message)
        data = _HEADER.pack(len(body)) + body
        try:
            with self._send_lock:
                self.sock.sendall(data)
        except OSError as exc:
            raise ChannelClosed(str(exc)) from None

    def receive(self) -> Message:
        """The next message; blocks until it has arrived whole. Raises :class:`ChannelClosed` at the end."""
        buffer = self._buffer
        while True:
            need = 4
            if len(buffer) >= 4:
                (size,) = _HEADER.unpack_from(buffer)
                if size > MAX_MESSAGE:
                    raise ChannelClosed(f"a message of {size} bytes is larger than allowed")
                need += size
                if len(buffer) >= need:
                    try:
                        message = marshal.loads(buffer[4:need])
                    except (ValueError, EOFError, TypeError) as exc:
                        raise ChannelClosed(f"a message that cannot be read: {exc}") from None
                    del buffer[:need]
                    if not isinstance(message, tuple):
                        raise ChannelClosed("a message that is not a tuple")
                    return message
            try:
                chunk = self.sock.recv(max(65536, need - len(buffer)))
            except OSError as exc:
                raise ChannelClosed(str(exc)) from None
            if not chunk:
                raise ChannelClosed("the other end closed the channel")
            buffer += chunk

    def close(self) -> None:
        """Close the socket (idempotent); a reader blocked in :meth:`receive` on the other end sees the end."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
