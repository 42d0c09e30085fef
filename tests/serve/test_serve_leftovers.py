"""A visitor who goes mid-run leaves nothing behind: the console, its Lua worker, its native runs (a
grandchild too) and its containers all end, however the visitor's console ends.

Each test starts, from the visitor's REPL, a native run that forks a grandchild and a container, both
sleeping, then ends the session one way and waits for every one of those to be gone.
"""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

import docker
import pytest

from tests.serve.servetools import (
    ENTER,
    F3,
    ServeProcess,
    Visitor,
    alive,
    await_until,
    command_line,
    descendants,
    serving,
    snapshot,
)
from tui.core.labels import LABEL_ENTRY

pytestmark = pytest.mark.docker

ENTRIES = """\
version: "1.0"
namespace: {namespace}
entries:
  - name: native
    kind: exec.native
    default_env: {{PATH: /usr/bin:/bin}}
    command_whitelist: ["sh -c 'sleep 300 & sleep 300'"]
  - name: box
    kind: exec.docker
    image: {image}
    auto_remove: true
    command_whitelist: ["sleep 300"]
  - name: visitors_may
    kind: security.policy
    policy: {{actions: "*", resources: "*", effect: allow}}
    groups: [demo]
"""

START_RUNS = ('n = exec.get("{ns}:native"):exec([[sh -c \'sleep 300 & sleep 300\']]); n:start(); '
              'b = exec.get("{ns}:box"):exec("sleep 300"); b:start(); return "runs " .. "started"')


async def _visitor_mid_run(server: ServeProcess, visitor: Visitor, namespace: str,
                           engine: docker.APIClient) -> list[tuple[int, str]]:
    """Start the runs; returns a snapshot of every process below the server once they all run."""
    await visitor.enter()
    await visitor.connect()
    await visitor.ready()
    mark = len(visitor.received)
    await visitor.type(F3)
    await visitor.see("Cancel/clear", since=mark)
    mark = len(visitor.received)
    await visitor.type(START_RUNS.format(ns=namespace) + ENTER)
    await visitor.see("runs started", since=mark)

    def sleeping() -> list[int]:
        return [pid for pid in descendants(server.pid) if command_line(pid).startswith("sleep 300")]

    await await_until(lambda: len(sleeping()) == 2, 30, "the native run and its grandchild")
    await await_until(lambda: bool(_containers(engine, namespace, running=True)), 60, "the visitor's container")
    pids = descendants(server.pid)
    assert any("tui.lua.worker" in command_line(pid) for pid in pids), "the REPL's Lua worker runs"
    return snapshot(pids)


def _containers(engine: docker.APIClient, namespace: str, *, running: bool) -> list[dict[str, object]]:
    return list(engine.containers(all=not running, filters={"label": f"{LABEL_ENTRY}={namespace}:box"}))


@pytest.fixture
def entries(tmp_path: Path, test_image: str) -> tuple[str, Path]:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    path = tmp_path / "entries.yaml"
    path.write_text(ENTRIES.format(namespace=namespace, image=test_image))
    return namespace, path


async def test_a_visitor_who_disconnects_mid_run_leaves_nothing_behind(
        tmp_path: Path, entries: tuple[str, Path], docker_engine: docker.APIClient) -> None:
    namespace, path = entries
    with serving(["--entries", str(path)], tmp_path) as server:
        async with Visitor(server) as visitor:
            everything = await _visitor_mid_run(server, visitor, namespace, docker_engine)
        await await_until(lambda: not alive(everything), 60,
                          f"every process of the visitor to end: {[command_line(p) for p in alive(everything)]}")
        await await_until(lambda: not _containers(docker_engine, namespace, running=False), 60,
                          "the visitor's container to be gone")
        server.wait_log("console ended (disconnected)")


async def test_a_console_that_is_killed_mid_run_still_leaves_nothing_running(
        tmp_path: Path, entries: tuple[str, Path], docker_engine: docker.APIClient) -> None:
    """The console dies without ending its runs (SIGKILL): its keeper ends them (processes re-parented to
    it, containers by their instance label), and the visitor's websocket closes."""
    namespace, path = entries
    with serving(["--entries", str(path)], tmp_path) as server:
        async with Visitor(server) as visitor:
            everything = await _visitor_mid_run(server, visitor, namespace, docker_engine)
            (keeper,) = server.keepers()
            (console,) = [pid for pid in descendants(keeper) if "tui.serve.keeper" in command_line(pid)]
            os.kill(console, signal.SIGKILL)
            await visitor.wait_closed(60)
        await await_until(lambda: not alive(everything), 60,
                          f"every process of the visitor to end: {[command_line(p) for p in alive(everything)]}")
        await await_until(lambda: not _containers(docker_engine, namespace, running=True), 60,
                          "the visitor's container to be killed")
        server.wait_log("console ended (the console quit, exit status 137)")
    # Killed, not removed: an exited container stays for inspection (execdeck prune removes it).
    for container in _containers(docker_engine, namespace, running=False):
        docker_engine.remove_container(container["Id"], force=True)


async def test_stopping_the_server_mid_run_ends_every_visitors_runs(
        tmp_path: Path, entries: tuple[str, Path], docker_engine: docker.APIClient) -> None:
    namespace, path = entries
    with serving(["--entries", str(path)], tmp_path) as server:
        async with Visitor(server) as visitor:
            everything = await _visitor_mid_run(server, visitor, namespace, docker_engine)
            assert server.stop() == 0
            await visitor.wait_closed(30)
        assert not alive(everything), [command_line(p) for p in alive(everything)]
        assert not _containers(docker_engine, namespace, running=False)
        server.wait_log("console ended (the demo stopped)")
