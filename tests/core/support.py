"""Helpers for engine tests: inline entries, reading to the end, and process-group checks."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui.core.engine import Engine
from tui.core.entries.models import Entry, ExecutorSpec, Location, frozen_map
from tui.core.executors.memory import MemorySpec
from tui.core.executors.native import KIND as NATIVE
from tui.core.executors.native import NativeSpec
from tui.core.streams import StreamReader

EngineFactory = Callable[..., Engine]

def native_entry(name: str = "native", **fields: Any) -> Entry:
    """An ``exec.native`` entry ``t:<name>`` with these fields."""
    return _entry(NATIVE.name, NativeSpec, name, fields)


def memory_entry(name: str = "memory", **fields: Any) -> Entry:
    """An ``exec.memory`` entry ``t:<name>`` (register the kind first: the ``memory_kind`` fixture)."""
    return _entry("exec.memory", MemorySpec, name, fields)


def _entry(kind: str, spec_class: type[ExecutorSpec], name: str, fields: dict[str, Any]) -> Entry:
    if "default_env" in fields:
        fields["default_env"] = frozen_map(fields["default_env"])
    if "command_whitelist" in fields:
        fields["command_whitelist"] = tuple(fields["command_whitelist"])
    return Entry(id=f"t:{name}", namespace="t", name=name, kind=kind,
                 location=Location(Path("inline.yaml"), 1), spec=spec_class(**fields))


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def assert_no_group_survives(pgids: list[int], deadline: float = 5.0) -> None:
    end = time.monotonic() + deadline
    alive = [g for g in pgids if group_alive(g)]
    while alive and time.monotonic() < end:
        time.sleep(0.02)  # polling the OS with a deadline, not waiting for an event we could get
        alive = [g for g in alive if group_alive(g)]
    assert not alive, f"process groups left running: {alive}"


def seq_output(first: int, last: int) -> bytes:
    """What ``seq first last`` prints."""
    return "".join(f"{i}\n" for i in range(first, last + 1)).encode()


def read_all(reader: StreamReader, deadline: float = 30.0) -> bytes:
    """Everything ``reader`` gives until end of output; fails after ``deadline`` seconds."""
    out = b""
    end = time.monotonic() + deadline
    while (chunk := reader.read(65536, timeout=max(0.0, end - time.monotonic()))) is not None:
        assert chunk or time.monotonic() < end, "no end of output within the deadline"
        out += chunk
    return out
