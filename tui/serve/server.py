"""The demo server: textual-serve's ``Server`` with a guard, limits, and consoles that always end.

What :class:`DemoServer` keeps of textual-serve: its routes (the page, the websocket, the static files,
the downloads), its static terminal (xterm.js) and its download manager. What it adds or replaces:

* middlewares, outermost first: headers that keep the page to itself (no framing, no other site's
  scripts or connections), then the guard of :mod:`tui.serve.guard` (401 without a valid cookie);
* the page: its own template (nothing from other sites, the websocket of the page's own origin), or the
  page that says the demo is full;
* the websocket: Origin checked, a place taken (:mod:`tui.serve.limits`) before any process starts, a
  :class:`~tui.serve.console.VisitorConsole` with a clean environment acting as the visitor, the idle
  clock, messages read defensively (a malformed one is dropped, never a traceback), and on every way out
  the console stopped and the place given back only once it has ended;
* :meth:`DemoServer.run`: listen, print the URL once, serve until SIGINT/SIGTERM/SIGHUP, then end every
  visitor's console before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from textual_serve.server import Server

from tui.serve.console import VisitorConsole
from tui.serve.guard import VISITOR_KEY, CookieSigner, guard, same_origin
from tui.serve.limits import Limits, Place, SessionTable
from tui.serve.visitor import launch, visitor_actor

TEMPLATES = Path(__file__).parent / "templates"

HEARTBEAT = 10.0
"""Seconds between websocket pings: a browser that vanished without closing is noticed within two."""

#: Terminal sizes a browser may ask for: a console is drawn at this size, so it bounds its memory.
MAX_COLUMNS, MAX_ROWS = 500, 200

_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

Log = Callable[[str], None]


class ServeError(Exception):
    """The server cannot start (the address is taken...); the message is the one line to show."""


class _OneLine(logging.Handler):
    """What aiohttp and textual-serve log (a handler that failed, a download that timed out), as one line
    each in the presenter's log: never a traceback."""

    def __init__(self, log: Log) -> None:
        super().__init__(logging.WARNING)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            line += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self._log(line)


@web.middleware
async def _page_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response: web.StreamResponse = await handler(request)
    if not response.prepared:  # a websocket has sent its headers already
        response.headers.update(_HEADERS)
        if response.content_type == "text/html":
            # No copy kept anywhere, so no back/forward cache either: a page kept there keeps its
            # websocket, and its console, open after the visitor has left it.
            response.headers["Cache-Control"] = "no-store"
    return response


def full_page(reason: str) -> web.Response:
    """503 with the page that says the demo is full, and why."""
    return web.Response(status=503, content_type="text/html", headers={"Retry-After": "60"}, text=(
        "<!DOCTYPE html><title>execdeck demo: full</title><h1>The demo is full</h1>"
        f"<p>{reason}. Try again in a minute: reload this page.</p>"))


def _size(text: str | None, default: int, most: int) -> int:
    try:
        return max(1, min(most, int(text or default)))
    except ValueError:
        return default


@dataclass(eq=False)
class _Session:
    """One admitted visitor: the place, the websocket, the console; ``ending`` once it has begun to end."""

    place: Place
    websocket: web.WebSocketResponse
    console: VisitorConsole
    ending: asyncio.Task[None] | None = None
    reason: str = "disconnected"


class DemoServer(Server):
    """See the module docstring. ``entries`` are resolved entry paths; ``records`` the run records file the
    presenter's console reads (``None``: recording off); ``log`` gets one line per session event."""

    def __init__(self, *, token: str, entries: list[Path], records: Path | None, visitor_scope: str,
                 limits: Limits, host: str = "127.0.0.1", port: int = 8000, log: Log = print,
                 signer: CookieSigner | None = None) -> None:
        super().__init__("execdeck", host=host, port=port, title="execdeck demo", public_url="",
                         templates_path=TEMPLATES)
        self.token = token
        self.entries = entries
        self.records = records
        self.visitor_scope = visitor_scope
        self.limits = limits
        self.table = SessionTable(limits)
        self.signer = signer or CookieSigner()
        self.log = log
        self.sessions: set[_Session] = set()
        self.bound_port = port
        """The port listened on (the one chosen by the system when ``port`` is 0), once :meth:`run` started."""

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(_page_headers)
        app.middlewares.append(guard(self.token, self.signer))
        return app

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: :meth:`run` prints the URL once the port is bound (textual-serve prints a banner)."""

    async def on_shutdown(self, app: web.Application) -> None:
        """End every visitor's console (in parallel, each with its deadlines) before the server goes."""
        await asyncio.gather(*(self._end(session, "the demo stopped") for session in list(self.sessions)))

    # -- the page ----------------------------------------------------------------------------------

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> Any:
        refusal = self.table.refusal(request.remote or "")
        if refusal is not None:
            return full_page(refusal)  # before the terminal loads: a console would be refused anyway
        return {
            "font_size": _size(request.query.get("fontsize"), 16, 48),
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
        }

    # -- the websocket -----------------------------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        # A refusal is a plain response, before any upgrade (textual-serve always upgrades).
        if not same_origin(request.headers.get("Origin"), request.host):
            self.log(f"refused {request.remote}: websocket from another origin ({request.headers.get('Origin')})")
            return web.Response(status=403, text="this console opens only from its own page")
        visitor = request[VISITOR_KEY]
        address = request.remote or ""
        place = self.table.admit(visitor, address)
        if place is None:
            reason = self.table.refusal(address) or "the demo is full"
            self.log(f"refused {visitor_actor(visitor)} ({address}): the demo is full: {reason}")
            return full_page(reason)
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT)
        home = Path(tempfile.mkdtemp(prefix="execdeck-visitor-"))
        start = launch(visitor, self.visitor_scope, self.entries, self.records, home, uuid.uuid4().hex[:12])

        async def close() -> None:
            await websocket.close()

        console = VisitorConsole(start, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                 close=close, download_manager=self.download_manager)
        session = _Session(place, websocket, console)
        self.sessions.add(session)
        try:
            await websocket.prepare(request)
            await console.start(_size(request.query.get("width"), 80, MAX_COLUMNS),
                                _size(request.query.get("height"), 24, MAX_ROWS))
            self.log(f"{visitor_actor(visitor)} ({address}): console started, instance {start.instance_id} "
                     f"({len(self.table)} of {self.limits.max_sessions})")
            watchers = [asyncio.create_task(self._watch_idle(session)),
                        asyncio.create_task(self._watch_console(session))]
            try:
                await self._process_messages(websocket, console)
            finally:
                for watcher in watchers:
                    watcher.cancel()
        except Exception as err:  # noqa: BLE001 - one line in the log, never a traceback; the console still ends
            session.reason = f"failed: {type(err).__name__}: {err}"
        finally:
            # Shielded: a server that is stopping cancels this handler, and the console must end anyway.
            await asyncio.shield(self._end(session, session.reason))
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: Any) -> None:
        """The browser's messages, as textual-serve reads them, except that a malformed one is dropped."""
        console: VisitorConsole = app_service
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
            except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
                continue
            if not isinstance(envelope, list) or not envelope:
                continue
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await console.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await console.set_terminal_size(_size(str(data.get("width")), 80, MAX_COLUMNS),
                                                _size(str(data.get("height")), 24, MAX_ROWS))
            elif kind == "ping" and isinstance(data, str):
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await console.blur()
            elif kind == "focus":
                await console.focus()

    async def _watch_idle(self, session: _Session) -> None:
        timeout = self.limits.idle_timeout
        while (left := session.console.last_input + timeout - time.monotonic()) > 0:
            await asyncio.sleep(left)
        session.reason = f"idle for {timeout:g} s"
        await session.websocket.close()

    async def _watch_console(self, session: _Session) -> None:
        process = session.console.process
        assert process is not None
        await process.wait()
        if session.reason == "disconnected":
            session.reason = "the console quit"
        await session.websocket.close()

    async def _end(self, session: _Session, reason: str) -> None:
        """Stop the session's console (once, however many ask), then give its place back."""
        if session.ending is None:
            session.reason = reason
            session.ending = asyncio.ensure_future(self._stop(session))
        await session.ending

    async def _stop(self, session: _Session) -> None:
        console = session.console
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.websocket.close(), 2.0)
            await console.stop()
        finally:
            self.sessions.discard(session)
            self.table.release(session.place)
            shutil.rmtree(console.launch.home, ignore_errors=True)
        process = console.process
        status = "" if process is None or process.returncode in (None, 0) else f", exit status {process.returncode}"
        said = console.stderr_tail.decode("utf-8", "replace").strip().splitlines()
        self.log(f"{visitor_actor(session.place.visitor)}: console ended ({session.reason}{status})"
                 + (f": {said[-1]}" if said else ""))

    # -- running -----------------------------------------------------------------------------------

    async def run(self, on_ready: Callable[[str], None], stop: asyncio.Event | None = None) -> None:
        """Listen, call ``on_ready(url)`` once with the URL to share (the token in it), and serve until
        SIGINT, SIGTERM or SIGHUP (or ``stop`` is set); every visitor's console has ended when it returns.

        Raises:
            ServeError: the address cannot be listened on.
        """
        stop = stop or asyncio.Event()
        for name in ("aiohttp", "textual-serve"):
            logger = logging.getLogger(name)
            logger.addHandler(_OneLine(self.log))
            logger.propagate = False
        app = await self._make_app()
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            try:
                await site.start()
            except OSError as err:
                raise ServeError(f"cannot listen on {self.host}:{self.port}: {err.strerror or err}") from None
            self.bound_port = runner.addresses[0][1]
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, stop.set)
            on_ready(self.url())
            await stop.wait()
            if self.sessions:
                self.log(f"stopping: ending {len(self.sessions)} visitor console(s)")
        finally:
            await runner.cleanup()

    def url(self) -> str:
        """The URL to share: the address listened on, the token in the query."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            import socket

            host = socket.getfqdn()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.bound_port}/?token={quote(self.token, safe='')}"
