"""The build capability of the docker kind, against the real daemon: the sample sandbox's own recipe builds
an image that runs the sample's whitelist as the sample means it; a missing file and a failing step say
what the recipe needs."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests import dockertools as dt
from tests.core.support import read_all
from tests.docker_exec.conftest import EngineMaker
from tui.core import structs
from tui.core.entries import load_entries
from tui.core.entries.models import Entry
from tui.core.errors import ExecError
from tui.core.executors.base import PullProgress
from tui.core.executors.docker import KIND as DOCKER
from tui.core.executors.docker import DockerSpec
from tui.core.executors.docker_build import BuildRecipe

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def image_name() -> Iterator[str]:
    """A fresh image name, removed from the daemon after the test: as soon as no container uses it (the
    containers of auto_remove runs go on threads of their own; the engine's teardown may come later)."""
    name = f"execdeck-test/built-{uuid.uuid4().hex[:8]}:1"
    yield name

    def removed() -> bool:
        result = subprocess.run(["docker", "rmi", name], capture_output=True, text=True, check=False, timeout=60)
        return result.returncode == 0 or "No such image" in result.stderr

    dt.poll_until(removed, 30, f"{name} to be removed", interval=0.2)


def sample_sandbox(image: str) -> Entry:
    """The sample sandbox as the samples declare it, under another image name (the sample's own,
    busybox:1.36, is left alone on the shared daemon)."""
    entry = load_entries([REPO / "sample_entries"]).get("app:sandbox")
    assert entry is not None and isinstance(entry.spec, DockerSpec)
    return structs.replace(entry, spec=structs.replace(entry.spec, image=image))


def test_the_sample_sandbox_built_here_runs_the_samples_whitelist_locked_down(
    make_engine: EngineMaker, image_name: str, docker_engine: docker.APIClient,
) -> None:
    entry = sample_sandbox(image_name)
    engine = make_engine(entry)
    assert DOCKER.build is not None and DOCKER.build.offered(entry.spec)
    assert engine.probe(entry.id).short == "image missing"
    progress: list[PullProgress] = []
    DOCKER.build.run(entry.spec, engine.scope, progress.append)
    assert progress[-1].done and progress[-1].current == progress[-1].total > 1
    assert [p.current for p in progress] == sorted(p.current for p in progress), "steps only go forward"
    assert engine.probe(entry.id).text == "ready (image built here)"

    results = {}
    for command in entry.whitelist:
        if command in ("cat", "sleep 30"):
            continue  # waits for input, or for a while
        process = engine.get(entry.id).exec(command)
        out, err = process.open_reader("stdout"), process.open_reader("stderr")
        process.start()
        code = process.wait().code
        results[command] = (code, read_all(out), read_all(err))
    assert results["echo hello from the sandbox"] == (0, b"hello from the sandbox\n", b"")
    assert results["id"][1].startswith(b"uid=0(root) gid=0(root)")
    assert results["uname -a"][0] == 0
    assert b" bin\n" in results["ls -la /"][1]
    assert results["sh -c 'echo hi > /tmp/x && cat /tmp/x'"] == (0, b"hi\n", b""), "a writable /tmp"
    code, _, err = results["sh -c 'echo hi > /etc/x'"]
    assert code != 0 and b"Read-only file system" in err, "a read-only root"
    code, _, err = results["sh -c 'wget -q -T 3 -O - http://example.com'"]
    assert code != 0, "no network"


def test_a_recipe_whose_file_is_missing_says_what_to_install_and_builds_nothing(
    make_engine: EngineMaker, image_name: str, tmp_path: Path,
) -> None:
    absent = tmp_path / "busybox"
    recipe = BuildRecipe("FROM scratch\nCOPY busybox /bin/busybox\n", {"busybox": str(absent)},
                         "install busybox-static")
    spec = DockerSpec(image=image_name, build=recipe)
    assert DOCKER.build is not None and DOCKER.build.missing(spec) == f"{absent} is missing: install busybox-static"
    with pytest.raises(ExecError) as caught:
        DOCKER.build.run(spec, make_engine().scope, lambda progress: None)
    assert caught.value.message == f'cannot build "{image_name}" here: {absent} is missing: install busybox-static'


def test_a_step_that_fails_in_the_daemon_says_why_and_what_the_recipe_needs(
    make_engine: EngineMaker, image_name: str, docker_engine: docker.APIClient,
) -> None:
    # A first step that fails (a program the image does not have), so no intermediate layer is left.
    recipe = BuildRecipe('FROM scratch\nRUN ["/bin/busybox", "true"]\n', {}, "install busybox-static")
    spec = DockerSpec(image=image_name, build=recipe)
    assert DOCKER.build is not None and DOCKER.build.missing(spec) == ""
    with pytest.raises(ExecError) as caught:
        DOCKER.build.run(spec, make_engine().scope, lambda progress: None)
    message = caught.value.message
    assert message.startswith(f'build of "{image_name}" on ') and " failed: " in message
    assert message.endswith("; the recipe says: install busybox-static")
    with pytest.raises(docker.errors.ImageNotFound):
        docker_engine.inspect_image(image_name)
