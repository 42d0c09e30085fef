"""Visitors' consoles, against the real ``execdeck serve`` on loopback: limits, the idle timeout, a clean
environment, the visitor's policies, hostile messages, and nothing left behind when a visitor goes."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from tests.serve.servetools import ENTER, F3, Visitor, await_until, serving
from tui.core.records import RecordStore

SAMPLES = str(Path(__file__).resolve().parents[2] / "sample_entries")


async def test_past_the_limit_per_address_the_next_visitor_gets_the_full_page(tmp_path: Path) -> None:
    with serving(["--entries", SAMPLES, "--max-per-address", "1"], tmp_path) as server:
        async with Visitor(server) as first, Visitor(server) as second, Visitor(server, "127.0.0.2") as other:
            await first.enter()
            await first.connect()
            await second.enter()
            page = await second.get("/")
            assert page.status == 503
            assert "The demo is full" in await page.text()
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await second.connect()
            assert refused.value.status == 503
            server.wait_log("the demo is full: your address already has 1 consoles open")
            # Another address still gets a console.
            await other.enter()
            assert (await other.get("/")).status == 200
            await other.connect()
            await await_until(lambda: len(server.keepers()) == 2, 30, "two consoles")
            # The place comes back once the first console has ended.
            await first.close()
            await await_until(lambda: len(server.keepers()) == 1, 60, "the first console to end")
            server.wait_log("console ended (disconnected)")
            assert (await second.get("/")).status == 200
            await second.connect()
            await second.ready()


async def test_past_the_total_limit_every_address_gets_the_full_page(tmp_path: Path) -> None:
    with serving(["--entries", SAMPLES, "--max-sessions", "2"], tmp_path) as server:
        visitors = [Visitor(server, f"127.0.0.{n}") for n in (1, 2, 3)]
        try:
            for visitor in visitors:
                await visitor.enter()
            await visitors[0].connect()
            await visitors[1].connect()
            page = await visitors[2].get("/")
            assert page.status == 503 and "all 2 places are taken" in await page.text()
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await visitors[2].connect()
            assert refused.value.status == 503
            assert len(server.keepers()) == 2
        finally:
            for visitor in visitors:
                await visitor.__aexit__()


async def test_a_console_without_input_ends_after_the_idle_timeout(tmp_path: Path) -> None:
    with serving(["--entries", SAMPLES, "--idle-timeout", "2"], tmp_path) as server:
        async with Visitor(server) as visitor:
            await visitor.enter()
            await visitor.connect()
            await visitor.wait_closed(60)
        server.wait_log("console ended (idle for 2 s)")
        await await_until(lambda: not server.keepers(), 30, "the idle console's process to end")


async def test_a_visitors_console_gets_a_clean_environment(tmp_path: Path) -> None:
    secrets = {"EXECDECK_TEST_SECRET": "hunter2", "AWS_SECRET_ACCESS_KEY": "abc", "EXECDECK_ACTOR": "user:boss"}
    with serving(["--entries", SAMPLES], tmp_path, env=secrets) as server:
        async with Visitor(server) as visitor:
            await visitor.enter()
            await visitor.connect()
            await await_until(lambda: bool(server.keepers()), 30, "the visitor's process")
            environ = Path(f"/proc/{server.keepers()[0]}/environ").read_bytes()
    names = {item.split(b"=", 1)[0].decode() for item in environ.split(b"\0") if item}
    allowed = {"PATH", "LANG", "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "EXECDECK_RECORDS", "DOCKER_HOST",
               "XDG_RUNTIME_DIR", "TEXTUAL_DRIVER", "TEXTUAL_FPS", "TEXTUAL_COLOR_SYSTEM", "TERM_PROGRAM",
               "TERM_PROGRAM_VERSION", "COLUMNS", "ROWS"}
    assert names <= allowed, names - allowed
    assert b"hunter2" not in environ and b"user:boss" not in environ
    home = dict(item.decode().split("=", 1) for item in environ.split(b"\0") if item)["HOME"]
    assert not Path(home).exists(), "the visitor's private home goes with the session"


async def test_a_visitor_acts_as_visitor_and_the_policies_deny_what_they_deny(tmp_path: Path) -> None:
    records = tmp_path / "runs.sqlite3"
    with serving(["--entries", SAMPLES], tmp_path, env={"EXECDECK_RECORDS": str(records)}) as server:
        async with Visitor(server) as visitor:
            await visitor.enter()
            await visitor.connect()
            await visitor.ready()
            text = visitor.text()
            assert "scope demo" in text and "🔒 free  native  locked" in text
            actor = next(word for word in text.split() if word.startswith("visitor:"))
            mark = len(visitor.received)
            await visitor.type(F3)
            await visitor.see("Cancel/clear", since=mark)
            mark = len(visitor.received)
            await visitor.type('local _, err = exec.get("app:free"); return err:message()' + ENTER)
            await visitor.see("permission denied: access executor", since=mark)
            mark = len(visitor.received)
            await visitor.type('local _, err = exec.get("app:shell"):exec("ls -la"); return err:message()' + ENTER)
            await visitor.see("permission denied: execute command", since=mark)
            mark = len(visitor.received)
            # The answer, not the echo of the typed line (which holds the command), says the run ended.
            code = 'local p = exec.get("app:shell"):exec("echo hello world"); p:start(); return "ended " .. p:wait()'
            await visitor.type(code + ENTER)
            await visitor.see("ended 0", since=mark)
    # The run is recorded for the presenter's console, with the visitor's actor.
    store = RecordStore.open(records)
    try:
        runs = store.list_runs(actor=actor)
    finally:
        store.close()
    assert [(run.executor_id, run.command) for run in runs] == [("app:shell", "echo hello world")]
    assert server.log and not any("Traceback" in line for line in server.log)


async def test_the_repl_is_not_offered_when_the_visitor_may_get_no_executor(tmp_path: Path) -> None:
    with serving(["--entries", SAMPLES, "--visitor-scope", "nobody"], tmp_path) as server:
        server.wait_log("no policy is in group 'nobody'")
        server.wait_log("the Lua REPL is not offered")
        async with Visitor(server) as visitor:
            await visitor.enter()
            await visitor.connect()
            await visitor.ready()
            assert "History" in visitor.text() and "REPL" not in visitor.text()


async def test_malformed_messages_are_dropped_and_the_console_goes_on(tmp_path: Path) -> None:
    with serving(["--entries", SAMPLES], tmp_path) as server:
        async with Visitor(server) as visitor:
            await visitor.enter()
            await visitor.connect()
            await visitor.ready()
            assert visitor.ws is not None
            for junk in ("not json", "{}", "[]", "[1, 2]", '{"stdin": 1}', '["stdin", 5]', '["resize", "big"]',
                         '["resize", {"width": "x"}]', '["ping", {}]', "[" * 5000):
                await visitor.ws.send_str(junk)
            await visitor.ws.send_bytes(b"\x00\xff binary")
            await visitor.send("resize", {"width": 10**9, "height": 10**9})  # clamped, not a giant screen
            await visitor.send("resize", {"width": 120, "height": 40})
            mark = len(visitor.received)
            await visitor.type(F3)
            await visitor.see("Cancel/clear", since=mark)
            assert not visitor.closed.is_set()
    assert not any("Traceback" in line or "Error" in line for line in server.log), server.log

