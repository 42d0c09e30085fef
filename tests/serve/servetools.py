"""Helpers for the tests of ``execdeck serve``: the real server as a process, and a visitor's browser side
(aiohttp's client): the token exchange, the websocket, and the console's screen as text.

The screen is read from what the console sends: Textual draws each changed line with cursor moves and
colours between the characters of one style run; with the escape sequences taken out, the text of a
run is whole, which is all the tests look for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

from tui.core.pids import children, process_alive, process_start_time

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"
START_DEADLINE = 60.0
"""Seconds a console may take to show its executor list (a Python start and Textual's import, on a busy
machine shared with other test runs)."""

_ESCAPES = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")

F3 = "\x1bOR"
ENTER = "\r"


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


async def await_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """:func:`wait_until` for a coroutine: the event loop keeps running meanwhile."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` now (children first)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class ServeProcess:
    """``execdeck serve`` started for one test: the URL it printed, its stderr lines, its processes."""

    def __init__(self, args: list[str], tmp: Path, env: dict[str, str] | None = None) -> None:
        token_file = tmp / "token"
        token_file.write_text(TOKEN + "\n")
        self.env = {**os.environ, **(env or {})}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui", "serve", "--port", "0", "--token-file", str(token_file), *args],
            cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.log: list[str] = []
        self._lines: list[str] = []
        threading.Thread(target=self._read, args=(self.process.stdout, self._lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.process.stderr, self.log), daemon=True).start()
        wait_until(lambda: bool(self._lines) or self.process.poll() is not None, 30, "the URL on stdout")
        assert self._lines, f"execdeck serve exited {self.process.returncode}: {self.log}"
        self.url = self._lines[0].strip()
        self.base = self.url.split("/?", 1)[0]

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in iter(stream.readline, b""):
            into.append(line.decode(errors="replace").rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.process.pid

    def keepers(self) -> list[int]:
        """The visitor processes (one keeper per console) running now."""
        return [pid for pid in children(self.pid) if "tui.serve.keeper" in command_line(pid)]

    def wait_log(self, text: str, timeout: float = 30) -> str:
        """The first stderr line that holds ``text``, once there is one."""
        wait_until(lambda: any(text in line for line in self.log), timeout,
                   f"{text!r} in the server's log, which says: {self.log}; processes: "
                   f"{[command_line(pid)[-80:] for pid in descendants(self.pid)]}")
        return next(line for line in self.log if text in line)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as ctrl+c would; the exit status (the test fails if it does not end in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)


def alive(snapshot: list[tuple[int, str]]) -> list[int]:
    """The pids of ``snapshot`` (pid, start time) that still run."""
    return [pid for pid, start in snapshot if process_alive(pid, start)]


def snapshot(pids: list[int]) -> list[tuple[int, str]]:
    return [(pid, process_start_time(pid)) for pid in pids]


class Visitor:
    """A browser's side: one client address, the cookie it got, its websocket and the screen it shows."""

    def __init__(self, server: ServeProcess, address: str = "127.0.0.1") -> None:
        self.server = server
        self.address = address
        self.cookie: str | None = None
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), force_close=True),
                                          cookie_jar=aiohttp.DummyCookieJar())
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.received = bytearray()
        self.closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Visitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
        await self.http.close()

    def headers(self, origin: str | None = "same") -> dict[str, str]:
        headers = {}
        if self.cookie is not None:
            headers["Cookie"] = self.cookie
        if origin is not None:
            headers["Origin"] = self.server.base if origin == "same" else origin
        return headers

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        async with self.http.get(self.server.base + path, headers=self.headers(None), allow_redirects=False,
                                 **kwargs) as response:
            await response.read()
            return response

    async def enter(self, token: str = TOKEN) -> aiohttp.ClientResponse:
        """The token exchange; keeps the cookie it sets."""
        response = await self.get(f"/?token={token}")
        morsel = response.cookies.get("execdeck_visitor")
        if morsel is not None:
            self.cookie = f"execdeck_visitor={morsel.value}"
        return response

    async def connect(self, origin: str | None = "same", path: str = "/ws?width=140&height=40") -> None:
        """Open the console's websocket (raises aiohttp.WSServerHandshakeError when refused)."""
        self.ws = await self.http.ws_connect(self.server.base.replace("http", "ws", 1) + path,
                                             headers=self.headers(origin), heartbeat=None)
        self._reader = asyncio.create_task(self._read(self.ws))

    async def ready(self) -> None:
        """Wait until the console shows its executors, with the keyboard on the executor list (its footer
        says so), after giving the console the focus as the page does when the visitor clicks into it
        (before that, a console in a browser draws no key hints)."""
        await self.see("Executors")
        await self.send("focus")
        await self.see("Pull image")

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.received += message.data
        self.closed.set()

    def text(self) -> str:
        """Everything the console drew so far, escape sequences taken out."""
        return _ESCAPES.sub(b"", bytes(self.received)).decode("utf-8", "replace")

    async def see(self, text: str, timeout: float = START_DEADLINE, since: int = 0) -> None:
        """Wait until the console has drawn ``text`` (after byte ``since`` of what it sent)."""
        def drawn() -> bool:
            return text in _ESCAPES.sub(b"", bytes(self.received[since:])).decode("utf-8", "replace")

        await await_until(drawn, timeout, f"{text!r} on the visitor's screen")

    async def send(self, *envelope: Any) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(list(envelope)))

    async def type(self, keys: str) -> None:
        await self.send("stdin", keys)

    async def wait_closed(self, timeout: float) -> None:
        await asyncio.wait_for(self.closed.wait(), timeout)

    async def close(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


@contextlib.contextmanager
def serving(args: list[str], tmp: Path, env: dict[str, str] | None = None) -> Iterator[ServeProcess]:
    """A server for the block; afterwards it has stopped, with none of its processes left."""
    server = ServeProcess(args, tmp, env)
    left: list[int] = []
    try:
        yield server
    finally:
        everything = snapshot(descendants(server.pid))
        code = server.stop()
        left = alive(everything)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"left running after the server stopped: {[command_line(pid) for pid in left]}"
    assert code == 0, f"execdeck serve exited {code}: {server.log}"
