"""The Executor interface: one handle on one executor entry (what ``exec.get(id)`` returns).

``Executor.exec`` runs every pre-check of spec section 5 (released, empty command, whitelist,
loader variables) in one place for every kind, then asks the kind for a :class:`ProcessBackend`.
A new kind (Podman, Kubernetes) subclasses :class:`Executor`, implements ``_backend`` and
``probe``, and registers itself in :mod:`tui.core.executors.registry`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.command import Kind, check_whitelist, is_loader_variable, tokenize
from tui.core.entries.models import Entry, ExecutorSpec
from tui.core.errors import invalid
from tui.core.policy.model import EXEC_RUN
from tui.core.process import Process, ProcessBackend, RunSpec

if TYPE_CHECKING:
    from tui.core.engine import Engine


@dataclass(frozen=True)
class ExecutorStatus:
    """What ``execdeck list`` and the console show: ``ready`` is False with a reason otherwise.

    ``image_missing`` lets the console offer the explicit pull of a Docker image.
    """

    ready: bool
    text: str
    image_missing: bool = False


class Executor(ABC):
    """A handle on an executor entry. Thread-safe; ``release`` is idempotent."""

    kind: Kind = "native"

    def __init__(self, entry: Entry, engine: Engine) -> None:
        assert entry.spec is not None
        self.entry = entry
        self.engine = engine
        self._released = threading.Event()

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def spec(self) -> ExecutorSpec:
        assert self.entry.spec is not None
        return self.entry.spec

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def release(self) -> bool:
        """Release the handle; later ``exec`` calls fail. Always ``True`` (SAME)."""
        self._released.set()
        return True

    def exec(self, command: str, *, work_dir: str | None = None, env: Mapping[str, str] | None = None,
             timeout: float | None = None, source: str = "api") -> Process:
        """Create an unstarted process for ``command``.

        The engine's ``exec.run`` check comes before every other one (the reference's order).

        Raises:
            ExecError: invalid ``permission denied: execute command``, ``executor is released``,
            ``command is required``, ``command not allowed: <cmd>``, or a refused loader variable in ``env``.
        """
        self.engine.gate.require(EXEC_RUN, command, self.entry.meta)
        if self.released:
            raise invalid("executor is released", id=self.id)
        if command == "":
            raise invalid("command is required")
        check_whitelist(command, self.spec.command_whitelist)
        env = dict(env or {})
        if self.spec.command_whitelist:
            for name in env:
                if is_loader_variable(name):
                    raise invalid(
                        f"env {name} is not allowed on an executor with a command whitelist: "
                        "it would change how the allowed program loads",
                        variable=name, command=command,
                    )
        if timeout is not None and timeout <= 0:
            raise invalid("timeout must be a positive number of seconds")
        run = RunSpec(
            executor_id=self.id, kind=self.kind, command=command, argv=tuple(tokenize(command, self.kind)),
            work_dir=work_dir or "", env=env, timeout=timeout, source=source or self.engine.source,
        )
        process = Process(run, self._backend(run), buffer_cap=self.engine.buffer_cap)
        self.engine.track(process)
        return process

    @abstractmethod
    def _backend(self, run: RunSpec) -> ProcessBackend:
        """The kind's backend for one run. Must not block or contact a daemon."""

    @abstractmethod
    def probe(self, timeout: float = 2.0) -> ExecutorStatus:
        """Whether the executor can run now. Blocks at most about ``timeout`` seconds."""
