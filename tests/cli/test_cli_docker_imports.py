"""``execdeck run`` of a docker executor speaks to the daemon without the Docker SDK: importing it (with
``requests`` and ``urllib3``) took longer than the rest of a short run. The run is a real one, on the real
daemon; what it imported is read from ``python -X importtime``, which lists every module a process
imports, to its end (the command line leaves with ``os._exit``, so no exit hook could be trusted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Modules a container's run must not load: the SDK and its HTTP stack, the standard library's HTTP
# client (whose email package costs tens of milliseconds), ``socket`` (its enums: ``_socket`` does) and
# ``subprocess`` (with ``locale`` and ``selectors``: only a native run starts a host process).
FORBIDDEN = ("docker", "requests", "urllib3", "http", "email", "ssl", "socket", "subprocess")


def imported(stderr: str) -> set[str]:
    """The top-level packages of every module listed by ``-X importtime``."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name.split(".")[0])
    return names


def test_a_container_run_does_not_import_the_docker_sdk(tmp_path: Path, test_image: str) -> None:
    entries = tmp_path / "box.yaml"
    entries.write_text(f"namespace: t\nentries:\n  - name: box\n    kind: exec.docker\n    image: {test_image}\n"
                       "    auto_remove: true\n")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", "--entries", str(entries), "run", "t:box",
         "sh", "-c", "echo ran; exit 4"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "EXECDECK_RECORDS": "off"},
    )
    assert (done.returncode, done.stdout) == (4, "ran\n"), done.stderr[-2000:]
    names = imported(done.stderr)
    assert "tui" in names and "_socket" in names  # the listing is there, and it covers the run
    assert not names & set(FORBIDDEN), sorted(names & set(FORBIDDEN))
