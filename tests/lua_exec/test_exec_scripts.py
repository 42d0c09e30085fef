"""The Lua test scripts, each run through `execdeck lua` as a real subprocess.

A script prints `ok <case>` per passing case and `passed N` at its end; a failing assertion ends it
with exit 1 and the case's name and the difference on stderr, which this test shows as its failure.
"""

from __future__ import annotations

import re
import subprocess

import docker
import pytest

from tests.lua_exec.conftest import run_lua
from tui.core.labels import LABEL_ENTRY, PRODUCT_FILTER

NATIVE_SCRIPTS = {"native_api.lua": 19, "native_edges.lua": 20}
DOCKER_ENTRIES = {"d:box", "d:env", "d:missing"}


def _check(result: subprocess.CompletedProcess[bytes], cases: int) -> list[str]:
    out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert result.returncode == 0, f"the script failed (exit {result.returncode}):\n{err}\n--- stdout:\n{out}"
    assert err == "", err
    passed = re.search(r"^passed (\d+)$", out, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) == cases, out
    return [line for line in out.splitlines() if line.startswith("ok ")]


@pytest.mark.parametrize(("script", "cases"), NATIVE_SCRIPTS.items(), ids=list(NATIVE_SCRIPTS))
def test_native_script(script: str, cases: int) -> None:
    assert len(_check(run_lua(script), cases)) == cases


def test_reference_style_examples_run_unchanged() -> None:
    result = run_lua("reference_examples.lua")
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout.decode().splitlines() == [
        "example 1 exit code: 0",
        "example 2 exit code: 0",
        "example 2 output: apple fig pear ",
        "example 3 invalid: command is required",
        "example 3 internal: resource not found",
        "example 4 exit code: -1",
    ]


def _our_containers(client: docker.APIClient) -> set[str]:
    return {
        c["Id"] for c in client.containers(all=True, filters={"label": PRODUCT_FILTER})
        if c.get("Labels", {}).get(LABEL_ENTRY) in DOCKER_ENTRIES
    }


@pytest.mark.docker
def test_docker_script(docker_engine: docker.APIClient, test_image: str) -> None:
    assert test_image == "execdeck-test/busybox:latest"
    before = _our_containers(docker_engine)
    _check(run_lua("docker_edges.lua"), 11)
    # auto_remove: every container of the run is gone once the script has ended.
    assert _our_containers(docker_engine) - before == set()
