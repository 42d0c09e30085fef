"""Containers started ahead (an entry's ``pool: N``), and runs inside them with ``docker exec`` semantics.

A container's start costs the daemon most of a short run; an exec into a running container costs a
fraction of it. So a long-lived engine (the console, ``execdeck lua``; see :attr:`Scope.long_lived`) keeps,
per pooled entry, up to ``N`` containers created and started ahead, each with every field of the entry
(limits, read-only root, capabilities, network, user, default work dir and env, init) and an idle first
process: ``sleep`` under the entry's init, which ends on SIGTERM (the init forwards it) and SIGKILL.
A run takes one, runs its command in it as an exec (output live and separate, stdin, exit code), and the
container is removed after that one run: no run ever sees what another one left.

A run falls back to a fresh container, with the same results, whenever the pool cannot serve it exactly as
a fresh container would: the pool is empty (the refill never blocks a run), the run asks for a work dir other
than the entry's (the daemon creates a missing ``WorkingDir`` at a container's start, but an exec into a
missing one fails), the command is empty (the image's default command), or the pooled container died.

What differs from a fresh container, and how it is made equal:

* Signals: the exec's process is not the child of the container's init, so killing the container would not
  reach it as the init's forwarding does. A signal other than SIGKILL is sent from a second exec, a few lines
  of ``sh`` that signal the one process whose parent is outside the container (an exec's process; the
  init's tree has parents inside), which is the run's command. SIGKILL kills the container, which ends the
  command at once, as it does a fresh container's. So signals need ``sh`` in the image, as the idle
  process needs ``sleep``; without them the pool gives up and runs use fresh containers.
* The process limit: the idle ``sleep`` holds one pid, so a pooled container gets ``pids_limit + 1``.
* A program missing from the image: the daemon reports it in the exec's output stream; that text becomes
  the run's error, with exit code 127, as the init's report does in a fresh container (the init's own
  line on stderr is not there).
* Out of memory: the daemon marks a container ``OOMKilled`` only when the container ends, so a failing run
  of an entry with a ``memory_limit`` kills its container and reads the flag then.

Every pooled container carries the owner labels, so the orphan sweep finds those of an engine that died
without its shutdown; :meth:`ContainerPool.close` (at engine shutdown) removes the others.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tui.core.errors import internal
from tui.core.executors.base import Scope
from tui.core.executors.docker import DockerSpec
from tui.core.executors.docker_backend import (
    DockerBackend,
    container_env,
    create_container,
    work_dir_for,
)
from tui.core.executors.docker_client import (
    QUICK_TIMEOUT,
    DockerHost,
    daemon_message,
    is_podman,
    is_transport_error,
    kill_container,
    remove_container,
    unreachable,
)
from tui.core.executors.docker_stream import DRAIN_AFTER_EXIT, AttachChannel
from tui.core.executors.engine_api import APIError, EngineClient
from tui.core.labels import container_labels
from tui.core.process import ExitInfo, OutputSink, RunSpec
from tui.core.streams import Puller, StreamName

#: The idle first process: ``sleep`` for about 68 years (the largest count that every ``sleep`` takes).
IDLE_COMMAND = ["sleep", "2147483647"]
#: What the pooled containers' ``execdeck.run`` label says: no run yet when they are made.
POOL_RUN_LABEL = "pool"
#: Failures in a row (create, start, or a container that died before its run) after which a pool gives up
#: until its engine ends: an image without ``sleep`` would otherwise be retried forever.
_GIVE_UP_AFTER = 3
#: How long the engine's shutdown waits for a refill that is still talking to the daemon.
_CLOSE_WAIT = 10.0

# Signal the process whose parent is outside the container: an exec's process (the run's command). The
# signaller is an exec too, so it skips itself; PID 1 (the init) has no parent inside either.
_SIGNAL_SCRIPT = r"""
for status in /proc/[0-9]*/status; do
  pid=${status#/proc/}; pid=${pid%/status}
  if [ "$pid" = 1 ] || [ "$pid" = "$$" ]; then continue; fi
  while read -r key value; do
    if [ "$key" = PPid: ]; then
      if [ "$value" = 0 ]; then kill -"$1" "$pid" && found=1; fi
      break
    fi
  done < "$status" 2>/dev/null
done
[ -n "$found" ] && echo sent
"""

# How the daemon reports an exec that could not start, at the start of its output: Docker on stdout
# (``OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": ...: unknown``),
# Podman on stderr (``Error: runc: exec failed: unable to start container process: ...``).
_EXEC_FAILED = re.compile(rb"^(OCI runtime exec failed|Error: \w+: exec failed)")
_RUNTIME_SUFFIX = re.compile(r":\s*(unknown|OCI runtime [^:]*)$")


def cannot_serve(spec: DockerSpec, engine: str) -> str:
    """Why the pooled containers of ``spec`` on ``engine`` (as :attr:`DockerHost.engine` names it) cannot give
    what a fresh container gives, for people; "" when they can."""
    if is_podman(engine) and spec.user:
        # Podman (4.3) gives an exec as a named user other supplementary groups than its containers' first
        # process (none for `uid:gid`, the user's own for `uid` where the container gets root's).
        return f'Podman runs an exec as user "{spec.user}" with other groups than its containers get'
    return ""


class ContainerPool:
    """Up to ``spec.pool`` started containers of one entry, refilled by a thread of its own. Thread-safe.

    :meth:`take` never blocks on the daemon. The refill thread makes one container at a time (each call with
    the client's deadline), sleeps while the pool is full, backs off after a failure and gives up after
    :data:`_GIVE_UP_AFTER` in a row. :meth:`close` stops it and removes every container not taken.
    """

    def __init__(self, scope: Scope, host: DockerHost, spec: DockerSpec, entry_id: str) -> None:
        self.scope = scope
        self.host = host
        self.spec = spec
        self.labels = container_labels(entry_id, scope.instance_id, POOL_RUN_LABEL)
        self._lock = threading.Lock()
        self._ready: deque[str] = deque()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._failures = 0
        #: Why the pool gave up, for people; "" while it works.
        self.gave_up = ""
        self._thread = threading.Thread(target=self._refill, name=f"docker-pool-{entry_id}", daemon=True)
        self._thread.start()

    def take(self) -> str | None:
        """A started container for one run, now, or ``None`` (the run makes a fresh one)."""
        with self._lock:
            container = self._ready.popleft() if self._ready else None
        self._wake.set()
        return container

    def failed(self, container: str) -> None:
        """``container`` (taken) could not serve its run: it is removed, and counts as a failure."""
        with self._lock:
            self._failures += 1
        self._remove(container)
        self._wake.set()

    @property
    def ready(self) -> int:
        """How many containers wait for a run now."""
        with self._lock:
            return len(self._ready)

    def close(self) -> None:
        """Stop refilling and remove the containers not taken (at engine shutdown). Waits at most about
        :data:`_CLOSE_WAIT` seconds for a refill still talking to the daemon, which removes what it makes."""
        self._closed.set()
        self._wake.set()
        with self._lock:
            left = list(self._ready)
            self._ready.clear()
        for container in left:
            self._remove(container)
        self._thread.join(_CLOSE_WAIT)

    def _refill(self) -> None:
        from tui.core.executors.docker_owner import record_instance

        while not self._closed.is_set():
            with self._lock:
                full = len(self._ready) >= self.spec.pool
                failures = self._failures
            if failures >= _GIVE_UP_AFTER:
                self.gave_up = self.gave_up or "its containers failed to start or died before their run"
                return
            if full:
                self._wake.wait()
                self._wake.clear()
                continue
            try:
                record_instance(self.scope)  # the orphan sweep must see a live owner until shutdown
                container = self._make()
            except Exception as err:  # noqa: BLE001 - a refill that fails leaves runs to fresh containers
                with self._lock:
                    self._failures += 1
                    failures = self._failures
                if failures >= _GIVE_UP_AFTER:
                    self.gave_up = str(getattr(err, "message", err))
                    return
                self._closed.wait(0.5 * 2**failures)  # 1 s, then 2 s: a daemon that restarts gets time
                continue
            with self._lock:
                if not self._closed.is_set():
                    self._ready.append(container)
                    self._failures = 0
                    continue
            self._remove(container)  # closed while it was being made

    def _make(self) -> str:
        client = self.host.client()
        reason = cannot_serve(self.spec, self.host.engine)
        if reason:
            with self._lock:
                self._failures = _GIVE_UP_AFTER  # no retry can change that
            raise internal(reason)
        container = create_container(
            client, self.host, self.spec, command=IDLE_COMMAND, env=container_env(self.spec, {}),
            work_dir=work_dir_for(self.spec, None), labels=self.labels,
            extra_pids=1,
        )
        try:
            client.start(container)
        except BaseException:
            self._remove(container)
            raise
        return container

    def _remove(self, container: str) -> None:
        def remove() -> None:
            with contextlib.suppress(Exception):
                remove_container(self.host.client(), container)

        # On the host's background threads: the engine's shutdown waits for them after the pools closed.
        self.host.in_background(remove, f"docker-pool-remove-{container[:12]}")


def pool_for(scope: Scope, host: DockerHost, spec: DockerSpec, entry_id: str) -> ContainerPool:
    """The pool of entry ``entry_id`` with exactly this ``spec`` in ``scope`` (made, and filling, on first use;
    closed at engine shutdown). A reloaded entry with other fields gets a pool of its own."""

    def make() -> ContainerPool:
        pool = ContainerPool(scope, host, spec, entry_id)
        scope.add_cleanup(pool.close)
        return pool

    return scope.resource(f"docker-pool:{entry_id}:{spec!r}", make)


class _HeldSink(OutputSink):
    """Passes output on, except a first piece in which the daemon says the exec could not start: that is
    held (with what follows) until :meth:`finish` knows whether the exec ran. Ends the streams only then."""

    def __init__(self, sink: OutputSink) -> None:
        self.sink = sink
        self.held: list[tuple[StreamName, bytes]] = []
        self._first = True
        self._ended: list[StreamName] = []
        self._lock = threading.Lock()
        self._finished = False

    def write(self, stream: StreamName, data: bytes) -> None:
        if self._first:
            self._first = False
            if _EXEC_FAILED.match(data):
                self.held.append((stream, data))
                return
        if self.held:
            self.held.append((stream, data))
            return
        self.sink.write(stream, data)

    def has_space(self, stream: StreamName) -> bool:
        return self.sink.has_space(stream)

    def when_space(self, stream: StreamName, callback: Any) -> None:
        self.sink.when_space(stream, callback)

    def set_puller(self, stream: StreamName, puller: Puller | None, lock: threading.Lock | None = None,
                   direct: Any = None) -> None:
        self.sink.set_puller(stream, puller, lock, direct)

    def end_stream(self, stream: StreamName) -> None:
        with self._lock:
            if self._finished:
                self.sink.end_stream(stream)
            else:
                self._ended.append(stream)

    def failure_text(self) -> str:
        """The daemon's report that the exec did not start, or "" when there was none."""
        return b"".join(data for _, data in self.held).decode(errors="replace")

    def finish(self, failed: bool) -> None:
        """Pass the held output on unless it was the exec's failure, and end the streams already ended."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            ended, self._ended = self._ended, []
        if not failed:
            for stream, data in self.held:
                self.sink.write(stream, data)
        self.held = []
        for stream in ended:
            self.sink.end_stream(stream)


def exec_failure_message(text: str) -> str:
    """The part of the daemon's report of a failed exec that people need: ``exec: "nope": executable
    file not found in $PATH``, as :func:`~tui.core.executors.docker_client.daemon_message` words a failed
    start."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = line.rsplit("unable to start container process: ", 1)[-1]
    return _RUNTIME_SUFFIX.sub("", line.strip()).strip() or text.strip()


class PooledBackend(DockerBackend):
    """A run in a container of a :class:`ContainerPool` when one is ready and the run fits it exactly;
    otherwise the fresh container of :class:`DockerBackend`."""

    def __init__(self, pool: ContainerPool, host: DockerHost, spec: DockerSpec, run: RunSpec,
                 labels: dict[str, str], on_launch: Any = None) -> None:
        super().__init__(host, spec, run, labels, on_launch=on_launch)
        self.pool = pool
        self.pooled = False
        self._exec_id = ""
        self._held: _HeldSink | None = None
        self._signal_lock = threading.Lock()

    def _fits(self) -> bool:
        # The pool's containers have the entry's default work dir; an exec into another one that is missing
        # would fail where a fresh container's start creates it.
        return (bool(self.run.argv) and self.run.work_dir == work_dir_for(self.spec, None)
                and not cannot_serve(self.spec, self.host.engine))

    def launch(self, sink: OutputSink) -> None:
        client = self._client = self.host.client()
        container = self.pool.take() if self._fits() else None
        if container is not None:
            if self._on_launch is not None:
                self._on_launch()
            try:
                self._exec_id = self._exec_create(client, container)
            except APIError:
                self.pool.failed(container)  # it died (or was removed) while waiting: start afresh
                container = None
            except Exception as err:
                self.pool.failed(container)
                if is_transport_error(err):
                    raise unreachable(self.host.url, str(err)) from err
                raise
        if container is None:
            super().launch(sink)
            return
        self.pooled = True
        self._id = container
        try:
            self._exec_start(client, sink)
        except BaseException as err:
            self._abandon()
            if self._held is not None:
                self._held.finish(failed=False)
            if isinstance(err, APIError):
                raise internal(daemon_message(err), command=self.run.command) from err
            if is_transport_error(err):
                raise unreachable(self.host.url, str(err)) from err
            raise

    def _exec_create(self, client: EngineClient, container: str) -> str:
        created = client.exec_create(
            container, list(self.run.argv), stdout=True, stderr=True, stdin=True, tty=False,
            # The container has the entry's env; the run's own overlays it, as in a fresh container.
            environment=[f"{name}={value}" for name, value in self.run.env.items()] or None,
        )
        exec_id: str = created["Id"]
        return exec_id

    def _exec_start(self, client: EngineClient, sink: OutputSink) -> None:
        self._channel = AttachChannel(client.exec_start(self._exec_id, socket=True, timeout=QUICK_TIMEOUT))
        self.handle = self._id[:12]
        self._held = _HeldSink(sink)
        threading.Thread(target=self._pump, args=(self._held,), name=f"docker-exec-{self.handle}",
                         daemon=True).start()
        # Docker answers the start before it has started the process: a signal sent in between would find
        # nothing to signal, where a fresh container's start returns with its command running. (Podman answers
        # once the process runs, and its exec says ExitCode 0 even before that: the first look ends this.)
        self._poll_exec(lambda state: bool(state.get("Running")) or state.get("ExitCode") is not None,
                        QUICK_TIMEOUT)

    def _poll_exec(self, done: Callable[[dict[str, Any]], bool], timeout: float | None) -> dict[str, Any]:
        """Inspect the exec until ``done(state)`` (quickly at first, then at most once a second); returns the
        last state. Raises what the inspection raises, or internal after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.002
        while True:
            state = self._inspect_exec()
            if done(state):
                return state
            if deadline is not None and time.monotonic() > deadline:
                raise internal("the Docker daemon did not start the command", host=self.host.url)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    # -- the end ---------------------------------------------------------------------------------

    def _inspect_exec(self) -> dict[str, Any]:
        assert self._client is not None
        return self._client.exec_inspect(self._exec_id, timeout=QUICK_TIMEOUT)

    def wait_exit(self) -> ExitInfo:
        if not self.pooled:
            return super().wait_exit()
        assert self._held is not None
        info = self._wait_exec()
        self._exited.set()
        self._pump_done.wait(DRAIN_AFTER_EXIT + 1)
        failure = self._held.failure_text() if info.code in (126, 127) else ""
        self._held.finish(failed=bool(failure))
        if failure:
            message = exec_failure_message(failure)
            # The exit code of the init's report in a fresh container: tini's 127, catatonit's 1 on Podman.
            code = (1 if is_podman(self.host.engine) else 127) if "not found" in message else info.code
            info = ExitInfo(code=code, error=message)
        # Used once: the container goes, whatever auto_remove says (nothing of another run may stay in it).
        self._removal_scheduled = True
        self.host.in_background(self._remove_after_drain, f"docker-remove-{self.handle}")
        return info

    def _wait_exec(self) -> ExitInfo:
        """The exec's exit code, once its stream ended (or the daemon says it ended); lost when the
        daemon stops answering. Polls the daemon only as a liveness check while output flows."""
        last_check = time.monotonic()
        while not self._pump_done.wait(1.0):
            if time.monotonic() - last_check >= 10.0:
                try:
                    if not self._inspect_exec().get("Running"):
                        self._exited.set()  # the pump drains what is left, then ends
                except Exception:  # noqa: BLE001 - unreachable
                    return self._lost()
                last_check = time.monotonic()
        # The stream ends when the process's output does; its exit code follows in a moment (or later, when
        # a background process kept the output open past the command's end).
        try:
            state = self._poll_exec(lambda state: not state.get("Running") and state.get("ExitCode") is not None,
                                    None)
        except Exception:  # noqa: BLE001 - unreachable, or the container vanished
            return self._lost()
        code = int(state["ExitCode"])
        # As in a fresh container, only a failing run can have met the memory cap (maybe in a child of the
        # command's, which the command outlived).
        return ExitInfo(code=code, oom_killed=code != 0 and self._oom_killed_ending())

    def _oom_killed_ending(self) -> bool:
        """Whether the memory cap killed a process of the run: the daemon says so only once the container
        ended, so end it (it served its one run) and ask. Costs the container's end on a failing run of an
        entry with a ``memory_limit`` only."""
        if not self.spec.memory_limit or self._client is None:
            return False
        with contextlib.suppress(Exception):
            kill_container(self._client, self._id, 9)
        with contextlib.suppress(Exception):
            # The whole answer within the deadline: the container was just killed.
            self._client.request("POST", f"/containers/{self._id}/wait", params={"condition": "not-running"},
                                 timeout=QUICK_TIMEOUT)
        return self._oom_killed(self._client)

    # -- while it runs ---------------------------------------------------------------------------

    def send_signal(self, signum: int) -> None:
        if not self.pooled:
            super().send_signal(signum)
            return
        assert self._client is not None
        if self._exited.is_set() or self._pump_done.is_set():
            raise internal("container already stopped")
        if signum == 9:
            # Killing the container ends the command at once, as the init does in a fresh container.
            super().send_signal(signum)
            return
        # One signaller at a time (each must find only the command), and the container's removal waits.
        with self._signal_errors(signum), self._signal_lock:
            signaller = self._client.exec_create(self._id, ["sh", "-c", _SIGNAL_SCRIPT, "sh", str(signum)],
                                                 stdout=True, stderr=True)
            said = self._client.exec_start(signaller["Id"])
        if b"sent" not in said and not self._pump_done.is_set():
            raise internal(f"signal {signum}: the command was not found in its container ({said[:200]!r})")

    def _remove(self) -> None:
        with self._signal_lock:  # not under a signaller still at work: it would fail for want of its container
            super()._remove()

    def terminate(self, force: bool) -> None:
        if not self.pooled or force:
            super().terminate(force)
            return
        with contextlib.suppress(Exception):
            self.send_signal(15)

    def cleanup(self) -> None:
        if not self.pooled:
            super().cleanup()
            return
        self._stop_pump.set()
        self._close_connections()
        if self._held is not None:
            self._held.finish(failed=False)
        if not self._removal_scheduled:
            self._remove()
