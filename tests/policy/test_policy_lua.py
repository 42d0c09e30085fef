"""Lua scripts run through ``execdeck lua`` with actors and scopes: the denial values are exactly the
reference's, from the command-line options and from the environment alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def lua(script: str, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "EXECDECK_RECORDS": "off", **(env or {})}
    for name in ("EXECDECK_ACTOR", "EXECDECK_SCOPE", "EXECDECK_STRICT"):
        if env is None or name not in env:
            full.pop(name, None)
    argv = [sys.executable, "-m", "tui", *options, "lua", "--entries", str(HERE / "entries"),
            str(HERE / "scripts" / script)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO, env=full, check=False)


@pytest.mark.parametrize(("options", "env"), [
    (("--actor", "visitor:1", "--scope", "demo"), None),
    ((), {"EXECDECK_ACTOR": "visitor:1", "EXECDECK_SCOPE": "demo"}),
    (("--actor", "visitor:1"), {"EXECDECK_SCOPE": "qa,demo"}),
], ids=["options", "environment", "both"])
def test_denials_are_the_reference_s_values(options: tuple[str, ...], env: dict[str, str] | None) -> None:
    result = lua("denials.lua", *options, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "denials ok\n"


def test_without_an_actor_or_scope_a_script_runs_as_before() -> None:
    result = lua("open.lua")
    assert (result.returncode, result.stdout, result.stderr) == (0, "open ok\n", "")


def test_strict_mode_without_an_actor_refuses_every_get() -> None:
    result = lua("open.lua", "--strict")
    assert result.returncode == 1
    assert result.stderr.startswith("execdeck lua: ") and "permission denied: access executor" in result.stderr
