"""One run as one fresh container: the :class:`ProcessBackend` of ``exec.docker``.

Order of a launch, each step measured to lose nothing of the first output: create (``stdin_open``
sets ``StdinOnce``), attach the raw socket, register the wait, start. The wait is registered
synchronously: the daemon answers the headers of ``POST /wait`` only once the wait is in place, and
the request is streamed, so its return proves the registration before ``start`` is sent.

Removal is owned by the engine, not the daemon: the container is created without ``AutoRemove``,
the wait uses ``condition=next-exit``, the final state (``OOMKilled``) is read, and then the engine
removes the container. With the daemon's ``AutoRemove`` and ``condition=removed`` the exit code
arrives too, but the out-of-memory flag is gone with the container; owning the removal keeps both.
The DELETE runs on a thread once the state is read, so ``wait()`` does not pay its tens of
milliseconds; the container is gone a moment after ``wait()`` returns, and the engine's shutdown
waits for removals still going. A container of an engine killed with SIGKILL stays behind as an
exited one, which ``execdeck prune`` removes.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tui.core.errors import internal
from tui.core.executors.docker import DockerSpec
from tui.core.executors.docker_client import (
    QUICK_TIMEOUT,
    DockerHost,
    daemon_message,
    inspect_container,
    is_podman,
    is_transport_error,
    kill_container,
    ping,
    remove_container,
    unreachable,
)
from tui.core.executors.docker_stream import DRAIN_AFTER_EXIT, AttachChannel, pump
from tui.core.executors.engine_api import APIError, EngineClient, ImageNotFound, StreamedResponse, log_config
from tui.core.process import ExitInfo, OutputSink, ProcessBackend, RunSpec
from tui.core.streams import StreamName

_ATTACH = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
# While waiting for the exit, the daemon is pinged this often: a silent network loss must end the run.
_LIVENESS_EVERY = 10.0


# The init, when it cannot find the program, says so at the start of stderr and exits: Docker's
# docker-init (tini) with 127, naming the program (`[FATAL tini (7)] exec nope failed: No such file or
# directory`); Podman's catatonit with 1, naming none (`ERROR (catatonit:6): failed to exec pid1: No such
# file or directory`). Other reasons (permission denied) stay the run's own exit code and stderr.
# Patterns as text, compiled (and cached by `re`) on first use: compiling at import cost every command line.
_INIT_EXEC_FAILED = {
    127: rb"\[FATAL tini \(\d+\)\] exec (?P<program>.+?) failed: (?P<reason>[^\n]+)",
    1: rb"ERROR \(catatonit:\d+\): failed to exec pid1: (?P<reason>No such file or directory)\n",
}


def container_env(spec: DockerSpec, run_env: Mapping[str, str]) -> list[str]:
    """``Config.Env``: ``default_env`` overlaid by the per-call env (per-call wins), in that order."""
    env = dict(spec.default_env)
    env.update(run_env)
    return [f"{name}={value}" for name, value in env.items()]


def binds(volumes: tuple[str, ...]) -> list[str]:
    """``HostConfig.Binds``: read-only only when the third part is exactly ``ro``, as in the reference
    runtime (``RO`` or ``readonly`` mount read-write there too; validation warns about them)."""
    result = []
    for volume in volumes:
        parts = volume.split(":")
        if len(parts) < 2:
            continue  # refused at load time: never reaches here from a loaded entry
        mode = "ro" if len(parts) > 2 and parts[2] == "ro" else "rw"
        result.append(f"{parts[0]}:{parts[1]}:{mode}")
    return result


# Podman, asked for a read-only root, mounts writable tmpfs at these paths of its own accord (its
# `read_only_tmpfs` default), where a program could still write files and run them; Docker mounts none.
_PODMAN_WRITABLE_WHEN_READ_ONLY = ("/tmp", "/var/tmp", "/run")


def tmpfs_mounts(spec: DockerSpec, engine: str) -> dict[str, str]:
    """``HostConfig.Tmpfs``: the entry's, plus, on Podman with a read-only root, an empty read-only tmpfs
    where Podman would put a writable one, so the root stays as read-only as on Docker."""
    mounts = dict(spec.tmpfs)
    if spec.read_only_rootfs and is_podman(engine):
        mounts = {path: "ro" for path in _PODMAN_WRITABLE_WHEN_READ_ONLY} | mounts
    return mounts


def host_config(client: EngineClient, spec: DockerSpec, engine: str = "", extra_pids: int = 0) -> dict[str, Any]:
    """``HostConfig`` from the entry's fields for the ``engine`` that runs it (as
    :func:`~tui.core.executors.docker_client.engine_name` names it); limits only when non-zero,
    ``AutoRemove`` never (the engine removes the container itself: see the module docstring).
    ``extra_pids`` raises a set ``pids_limit`` for processes of the engine's own in the container."""
    config: dict[str, Any] = client.create_host_config(
        network_mode=spec.network_mode or None,
        binds=binds(spec.volumes) or None,
        mem_limit=spec.memory_limit or None,
        cpu_quota=spec.cpu_quota or None,
        pids_limit=spec.pids_limit + extra_pids if spec.pids_limit else None,
        read_only=spec.read_only_rootfs or None,
        security_opt=["no-new-privileges:true"] if spec.no_new_privileges else None,
        cap_drop=list(spec.cap_drop) or None,
        cap_add=list(spec.cap_add) or None,
        tmpfs=tmpfs_mounts(spec, engine) or None,
        init=spec.init,
        # The attach stream is the one copy of the output: no second one on the host's disk.
        log_config=log_config("none"),
    )
    return config


def create_container(client: EngineClient, host: DockerHost, spec: DockerSpec, *, command: list[str],
                     env: list[str], work_dir: str, labels: dict[str, str], extra_pids: int = 0) -> str:
    """Create (not start) a container of ``spec`` with every limit of the entry; returns its id.

    ``command`` empty: the image's default command. Raises :class:`ExecError`: internal ``image "..."
    not found on <host>``, the daemon's own message, or ``cannot reach the Docker daemon``.
    """
    image = spec.image
    try:
        created = client.create_container(
            image,
            command=command or None,
            stdin_open=True,
            tty=False,
            environment=env,
            working_dir=work_dir or None,
            user=spec.user or None,
            labels=labels,
            host_config=host_config(client, spec, host.engine, extra_pids),
        )
    except ImageNotFound as err:
        raise internal(f'image "{image}" not found on {host.url}', image=image, host=host.url) from err
    except APIError as err:
        raise internal(daemon_message(err), image=image, host=host.url) from err
    except Exception as err:
        if is_transport_error(err):
            raise unreachable(host.url, str(err)) from err
        raise
    container_id: str = created["Id"]
    return container_id


def work_dir_for(spec: DockerSpec, run: RunSpec | None) -> str:
    """The per-call work dir (none without ``run``), else ``default_work_dir``, lexically cleaned; "" for
    the image's."""
    raw = (run.work_dir if run is not None else "") or spec.default_work_dir
    return posixpath.normpath(raw) if raw else ""


class DockerBackend(ProcessBackend):
    """A container made, attached, waited for and (with ``auto_remove``) removed by this engine."""

    def __init__(self, host: DockerHost, spec: DockerSpec, run: RunSpec, labels: dict[str, str],
                 on_launch: Callable[[], None] | None = None) -> None:
        self.host = host
        self.spec = spec
        self.run = run
        self.labels = labels
        self._on_launch = on_launch
        self._client: EngineClient | None = None
        self._id = ""
        self._channel: AttachChannel | None = None
        self._wait_response: StreamedResponse | None = None
        self._wait_result: dict[str, Any] | None = None
        self._wait_failed = False
        self._wait_done = threading.Event()
        self._exited = threading.Event()
        self._stop_pump = threading.Event()
        self._pump_done = threading.Event()
        self._stdin_lock = threading.Lock()
        self._stdin_closed = False
        self._removed = False
        self._removal_scheduled = False
        self._remove_lock = threading.Lock()
        self._first_stderr = b""

    @property
    def container_id(self) -> str:
        return self._id

    # -- launch ----------------------------------------------------------------------------------

    def launch(self, sink: OutputSink) -> None:
        client = self._client = self.host.client()
        if self._on_launch is not None:
            self._on_launch()
        self._id = create_container(
            client, self.host, self.spec, command=list(self.run.argv), env=container_env(self.spec, self.run.env),
            work_dir=self.run.work_dir, labels=self.labels,
        )
        try:
            self._channel = AttachChannel(client.attach_socket(self._id, _ATTACH, timeout=QUICK_TIMEOUT))
            # The head of the answer is in, so the wait is registered; its body may take as long as the run.
            self._wait_response = client.stream("POST", f"/containers/{self._id}/wait",
                                                params={"condition": "next-exit"}, timeout=QUICK_TIMEOUT)
            client.start(self._id)
            self.handle = self._id[:12]
            threading.Thread(target=self._read_wait, name=f"docker-wait-{self.handle}", daemon=True).start()
            threading.Thread(target=self._pump, args=(sink,), name=f"docker-pump-{self.handle}", daemon=True).start()
        except BaseException as err:
            # Whatever stopped the launch, the container must not outlive it: the command line turns
            # SIGTERM into an exception in its main thread, which may land inside one of these calls
            # (a start takes hundreds of milliseconds on Podman) and goes on as it is.
            self._abandon()
            if isinstance(err, APIError):
                raise internal(daemon_message(err), command=self.run.command) from err
            if is_transport_error(err):
                raise unreachable(self.host.url, str(err)) from err
            raise

    def _abandon(self) -> None:
        """A start that failed leaves nothing: close the connections and remove the container."""
        self._close_connections()
        if self._client is not None and self._id:
            with contextlib.suppress(Exception):
                remove_container(self._client, self._id)
                self._removed = True

    def _pump(self, sink: OutputSink) -> None:
        assert self._channel is not None
        try:
            pump(self._channel, sink, self._exited, self._stop_pump, tap=self._tap if self.spec.init else None)
        finally:
            self._pump_done.set()

    def _tap(self, stream: StreamName, data: bytes) -> None:
        # The init reports an exec failure at the start of stderr: keep that much of it.
        if stream == "stderr" and len(self._first_stderr) < 512:
            self._first_stderr += data[: 512 - len(self._first_stderr)]

    def _read_wait(self) -> None:
        """Read the wait's body (blocks as long as the run) on its own thread, so that
        :meth:`wait_exit` can keep an eye on the daemon meanwhile."""
        try:
            assert self._wait_response is not None
            self._wait_result = self._wait_response.json()
        except Exception:  # noqa: BLE001 - connection lost: wait_exit finds out what happened
            self._wait_failed = True
        finally:
            self._wait_done.set()

    # -- the end ---------------------------------------------------------------------------------

    def wait_exit(self) -> ExitInfo:
        assert self._client is not None
        info = self._wait_for_exit(self._client)
        self._exited.set()
        if info.error is None and self.spec.auto_remove:
            # The state is read, so the container can go; removing takes tens of milliseconds after
            # an exit, which wait() need not pay. The engine's shutdown waits for it (DockerHost.close).
            self._removal_scheduled = True
            self.host.in_background(self._remove_after_drain, f"docker-remove-{self.handle}")
        return info

    def _remove_after_drain(self) -> None:
        self._pump_done.wait(DRAIN_AFTER_EXIT + 1)
        self._remove()

    def _wait_for_exit(self, client: EngineClient) -> ExitInfo:
        while True:
            last_check = time.monotonic()
            while not self._wait_done.wait(1.0):
                if time.monotonic() - last_check >= _LIVENESS_EVERY:
                    if not ping(client):
                        return self._lost()
                    last_check = time.monotonic()
            result = self._wait_result
            if not self._wait_failed and result is not None and "StatusCode" in result:
                code = int(result["StatusCode"])
                # An out-of-memory kill is a SIGKILL: only a failing run can have been one.
                oom = code != 0 and self._oom_killed(client)
                return ExitInfo(code=code, oom_killed=oom, error=self._exec_failure(code))
            # The wait's connection broke: ask the daemon directly how things stand.
            try:
                state = inspect_container(client, self._id)["State"]
            except Exception:  # noqa: BLE001 - unreachable, or the container vanished
                return self._lost()
            if not state.get("Running"):
                return ExitInfo(code=int(state.get("ExitCode", -1)), oom_killed=bool(state.get("OOMKilled")))
            try:
                self._rewait(client)
            except Exception:  # noqa: BLE001
                return self._lost()

    def _rewait(self, client: EngineClient) -> None:
        # Started by now: "not-running" returns at once if it ended meanwhile.
        self._wait_done.clear()
        self._wait_failed = False
        self._wait_response = client.stream("POST", f"/containers/{self._id}/wait",
                                            params={"condition": "not-running"}, timeout=QUICK_TIMEOUT)
        threading.Thread(target=self._read_wait, name=f"docker-wait-{self.handle}", daemon=True).start()

    def _exec_failure(self, code: int) -> str | None:
        """With the init process, a program missing from the image is found only after start: the
        init reports it on stderr and exits. Turn that into the message a start without init gets
        from the daemon, so the run ends with one clear error rather than a bare exit code."""
        pattern = _INIT_EXEC_FAILED.get(code)
        if pattern is None or not self._pump_done.wait(DRAIN_AFTER_EXIT + 1):
            return None
        found = re.match(pattern, self._first_stderr)
        named = found.groupdict().get("program") if found is not None else None
        if found is None or not (named or self.run.argv):
            return None
        program = named.decode(errors="replace") if named else self.run.argv[0]
        reason = found.group("reason").decode(errors="replace")
        if reason == "No such file or directory":
            reason = "executable file not found in $PATH" if "/" not in program else "no such file or directory"
        return f'exec: "{program}": {reason[:1].lower()}{reason[1:]}'

    def _lost(self) -> ExitInfo:
        # The attach stream may never end either: stop reading it.
        self._stop_pump.set()
        return ExitInfo(code=None, error=f"lost the Docker daemon at {self.host.url} during the run")

    def _oom_killed(self, client: EngineClient) -> bool:
        try:
            return bool(inspect_container(client, self._id)["State"].get("OOMKilled"))
        except Exception:  # noqa: BLE001 - the exit code stands without the flag
            return False

    def _remove(self) -> None:
        with self._remove_lock:
            if self._removed or self._client is None or not self._id:
                return
            self._removed = True  # tried once: a daemon that refuses now will refuse again
            with contextlib.suppress(Exception):
                remove_container(self._client, self._id)

    # -- while it runs ---------------------------------------------------------------------------

    def write_stdin(self, data: bytes, cancel: threading.Event | None = None) -> None:
        assert self._channel is not None
        with self._stdin_lock:
            if self._stdin_closed:
                raise internal("write to stdin: stdin is closed")
            # A stopped container's attach socket still takes writes (they go nowhere): refuse them here.
            if self._exited.is_set() or self._wait_done.is_set():
                raise internal("write to stdin: container already stopped")
            try:
                self._channel.send_all(data, cancel)
            except OSError as err:
                raise internal(f"write to stdin: {err.strerror or err}") from err

    def close_stdin(self) -> None:
        assert self._channel is not None
        with self._stdin_lock:
            if not self._stdin_closed:
                self._stdin_closed = True
                self._channel.shutdown_write()

    def send_signal(self, signum: int) -> None:
        assert self._client is not None
        if self._exited.is_set() or self._wait_done.is_set():
            raise internal("container already stopped")
        with self._signal_errors(signum):
            kill_container(self._client, self._id, signum)

    @contextlib.contextmanager
    def _signal_errors(self, signum: int) -> Iterator[None]:
        """What the daemon answers to a signal (or the lack of an answer), as the run's errors."""
        try:
            yield
        except APIError as err:
            if err.status_code == 409 or "is not running" in str(err):
                raise internal("container already stopped") from err
            raise internal(daemon_message(err)) from err
        except Exception as err:
            if is_transport_error(err):
                raise unreachable(self.host.url, str(err)) from err
            raise internal(f"signal {signum}: {err}") from err

    def terminate(self, force: bool) -> None:
        if self._client is None or not self._id or self._exited.is_set():
            return
        with contextlib.suppress(Exception):
            kill_container(self._client, self._id, 9 if force else 15)

    def cleanup(self) -> None:
        self._stop_pump.set()
        self._close_connections()
        if self.spec.auto_remove and not self._removal_scheduled:
            self._remove()  # no final state was read (the daemon went away): try anyway

    def _close_connections(self) -> None:
        if self._channel is not None:
            self._channel.close()
        if self._wait_response is not None:
            # The wait's thread may be blocked reading its body: closing shuts the socket down, so that
            # the read returns.
            self._wait_response.close()
