"""Ownership of containers through the command line and the sweep: `execdeck run` killed by a signal leaves
no container running, `execdeck list` answers promptly for an unreachable host, `execdeck prune` removes
exited containers, and `find_orphans` finds running containers of instances that are gone."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import dockertools as dt
from tests.docker_exec.conftest import docker_entry
from tui.core.executors.docker_owner import find_orphans, instances_dir, kill_orphans
from tui.core.executors.engine_api import EngineClient
from tui.core.labels import LABEL_ENTRY, LABEL_RUN, container_labels

pytestmark = pytest.mark.docker

Maker = Callable[..., Any]


def write_entries(folder: Path, name: str, image: str, **fields: Any) -> Path:
    lines = [f"  - name: {name}", "    kind: exec.docker", f"    image: {image}"]
    lines += [f"    {key}: {value}" for key, value in fields.items()]
    path = folder / "entries.yaml"
    path.write_text('version: "1.0"\nnamespace: t\nentries:\n' + "\n".join(lines) + "\n")
    return path


def execdeck(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tui", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            **kwargs)


@pytest.mark.parametrize(("signum", "auto_remove"), [(signal.SIGTERM, "true"), (signal.SIGHUP, "false")])
def test_execdeck_run_ended_by_a_signal_leaves_no_container_running(
    tmp_path: Path, container_engine: dt.ContainerEngine, signum: int, auto_remove: str,
) -> None:
    client = container_engine.client
    name = f"r{secrets.token_hex(4)}"
    entries = write_entries(tmp_path, name, container_engine.image, auto_remove=auto_remove,
                            host=container_engine.url)
    mine = {"label": f"{LABEL_ENTRY}=t:{name}"}
    cli = execdeck("--entries", str(entries), "run", f"t:{name}", "sleep", "100")
    try:
        dt.poll_until(lambda: bool(client.containers(filters=mine)), 30, "the run's container to start")
        cli.send_signal(signum)
        cli.wait(30)
        assert client.containers(filters=mine) == []
        left = client.containers(all=True, filters=mine)
        assert left == [] if auto_remove == "true" else [c["State"] for c in left] == ["exited"]
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        dt.remove_containers(client, (c["Id"] for c in client.containers(all=True, filters=mine)))


def test_execdeck_list_shows_docker_status_without_waiting_on_an_unreachable_host(
    tmp_path: Path, test_image: str,
) -> None:
    folder = tmp_path / "entries"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        'version: "1.0"\nnamespace: t\nentries:\n'
        f"  - {{name: here, kind: exec.docker, image: {test_image}}}\n"
        "  - {name: absent, kind: exec.docker, image: execdeck-test/absent:latest}\n"
        f"  - {{name: far, kind: exec.docker, image: {test_image}, host: 'tcp://127.0.0.1:1'}}\n"
    )
    began = time.monotonic()
    out, _ = execdeck("--entries", str(folder), "list").communicate(timeout=30)
    assert time.monotonic() - began < 8
    text = out.decode()
    assert "ready (image present)" in text
    assert 'image "execdeck-test/absent:latest" not found on' in text
    assert "cannot reach the Docker daemon at tcp://127.0.0.1:1" in text


def test_prune_removes_exited_containers_and_dry_run_only_lists_them(
    make_engine: Maker, test_image: str, second_dockerd: dt.SecondDockerd,
) -> None:
    # On the tests' own daemon: prune takes every instance's exited containers, other sessions' too.
    url = second_dockerd.unix_url
    entry = docker_entry(test_image, host=url)
    process = make_engine(entry).get(entry.id).exec("true")
    process.start()
    assert process.wait().code == 0
    short = process.handle
    dry, _ = execdeck("prune", "--dry-run", "--host", url).communicate(timeout=30)
    assert f"would remove {short}" in dry.decode()
    done, _ = execdeck("prune", "--host", url).communicate(timeout=30)
    assert f"removed {short}" in done.decode()
    again, _ = execdeck("prune", "--host", url).communicate(timeout=30)
    assert again.decode().strip() == "nothing to prune"


def test_prune_says_so_when_a_host_is_unreachable() -> None:
    cli = execdeck("prune", "--host", "tcp://127.0.0.1:1")
    _, err = cli.communicate(timeout=30)
    assert cli.returncode == 1
    assert "cannot reach the Docker daemon at tcp://127.0.0.1:1" in err.decode()


def test_find_orphans_finds_running_containers_of_gone_instances_only(
    make_engine: Maker, container_engine: dt.ContainerEngine,
) -> None:
    client, test_image = container_engine.client, container_engine.image
    # A live engine's running container is not an orphan.
    entry = docker_entry(test_image, host=container_engine.url)
    live = make_engine(entry).get(entry.id).exec("sleep 100")
    live.start()
    # A "crashed" instance: its record names a pid that is gone.
    gone_instance = f"gone{secrets.token_hex(4)}"
    dead = subprocess.Popen(["true"])
    dead.wait()
    record = instances_dir() / f"{gone_instance}.pid"
    record.write_text(f"{dead.pid} 1\n")
    orphan = client.create_container(
        test_image, ["sleep", "100"], labels=container_labels("t:orphan", gone_instance, "run"),
        host_config=client.create_host_config(init=True),
    )
    try:
        client.start(orphan)
        ours = EngineClient(container_engine.url, timeout=30)  # the product's own client
        found = {c["Id"] for c in find_orphans(ours)}
        assert orphan["Id"] in found
        assert live.backend.container_id not in found
        killed = kill_orphans(ours, [c for c in find_orphans(ours) if c["Id"] == orphan["Id"]])
        ours.close()
        assert [c["Id"] for c in killed] == [orphan["Id"]]
        assert client.inspect_container(orphan)["State"]["Running"] is False
    finally:
        record.unlink(missing_ok=True)
        client.remove_container(orphan, force=True)
    assert os.path.exists(instances_dir() / f"{live.backend.labels['execdeck.instance']}.pid")
    assert LABEL_RUN in live.backend.labels
