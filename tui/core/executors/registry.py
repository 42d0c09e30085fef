"""Executor kinds by entry kind. A new backend adds one line here and one file beside this one."""

from __future__ import annotations

import importlib

from tui.core.entries.models import DOCKER_KIND, NATIVE_KIND
from tui.core.executors.base import Executor

# Imported lazily: the Docker SDK is only loaded when a Docker executor is used.
_KINDS: dict[str, tuple[str, str]] = {
    NATIVE_KIND: ("tui.core.executors.native", "NativeExecutor"),
    DOCKER_KIND: ("tui.core.executors.docker", "DockerExecutor"),
}


def executor_class(kind: str) -> type[Executor] | None:
    """The :class:`Executor` subclass for an entry kind, or ``None`` when the kind is not an executor."""
    target = _KINDS.get(kind)
    if target is None:
        return None
    module = importlib.import_module(target[0])
    cls: type[Executor] = getattr(module, target[1])
    return cls
