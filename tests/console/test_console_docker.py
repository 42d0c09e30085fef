"""Docker in the console: the details say which engine serves an executor (Docker or Podman, and its
version), and a missing image is pulled explicitly, with a progress bar, from a local registry."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
from textual.widgets import ProgressBar

from tests import dockertools as dt
from tests.console.conftest import SIZE, ConsoleFactory, ready, wait_until
from tui.core.executors.base import PULL
from tui.ui.screens.pull import PullScreen

pytestmark = pytest.mark.docker


async def test_the_details_name_the_engine_and_its_version(
    console: ConsoleFactory, container_engine: dt.ContainerEngine, tmp_path: Path
) -> None:
    entries = tmp_path / "docker.yaml"
    entries.write_text(f'namespace: d\nentries:\n  - name: box\n    kind: exec.docker\n'
                       f'    image: "{container_engine.image}"\n    host: "{container_engine.url}"\n')
    version = container_engine.client.version()  # the engine's own word, asked apart
    product = "Podman" if container_engine.name == "podman" else "Docker"
    app = console([entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        status = app.statuses["d:box"]
        assert status is not None and status.ready, status
        assert status.engine == f"{product} {version['Version']} (API {version['ApiVersion']})"
        shown = str(app.query_one("#details-status").render())
        assert shown.splitlines()[-1] == f"engine {status.engine}"


@pytest.fixture
def image_in_registry(docker_engine: docker.APIClient, test_image: str, local_registry: str) -> Any:
    """An image (the test image plus 16 MiB of random bytes, so the pull reports sizes) pushed to the local
    registry under a fresh name, and absent from the daemon."""
    repository = f"{local_registry}/execdeck-test/pull-{uuid.uuid4().hex[:8]}"
    name = f"{repository}:latest"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for member, data in (("Dockerfile", f"FROM {test_image}\nCOPY blob /blob\n".encode()),
                             ("blob", os.urandom(16 * 1024 * 1024))):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    for event in docker_engine.build(fileobj=context, custom_context=True, tag=name, rm=True, decode=True):
        assert "error" not in event, event
    for event in docker_engine.push(repository, tag="latest", stream=True, decode=True):
        assert "error" not in event, event
    docker_engine.remove_image(name)
    yield name
    with contextlib.suppress(docker.errors.ImageNotFound):
        docker_engine.remove_image(name, force=True)


async def test_a_missing_image_is_offered_for_pull_and_the_progress_bar_fills(
    console: ConsoleFactory, image_in_registry: str, tmp_path: Path
) -> None:
    entries = tmp_path / "docker.yaml"
    entries.write_text(
        f'namespace: d\nentries:\n  - name: box\n    kind: exec.docker\n    image: "{image_in_registry}"\n'
        "    command_whitelist: [id]\n"
    )
    app = console([entries])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        status = app.statuses["d:box"]
        assert status is not None and status.remedy == PULL, status
        assert "press p to pull it" in str(app.query_one("#details-status").render())
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PullScreen), "the pull dialog")
        screen = app.screen
        assert isinstance(screen, PullScreen)
        await wait_until(pilot, lambda: screen.done or screen.failed, "the pull to end", 120)
        assert screen.done, screen.failed
        bar = screen.query_one(ProgressBar)
        assert bar.total and bar.progress == bar.total
        assert "is present" in str(screen.query_one("#pull-status").render())
        events = screen.events
        await pilot.press("escape")
        await wait_until(pilot, lambda: (app.statuses.get("d:box") or status).ready, "the image to be ready", 30)
    assert events and events[-1].done
    assert any(e.total for e in events), "the daemon reported sizes: the bar had something to fill"
