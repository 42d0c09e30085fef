"""Docker test infrastructure: the daemon connection, the test image, a second daemon, a loopback
registry, a cuttable proxy, and the leak check. `conftest.py` turns these into fixtures.

Every helper that starts something (a process, a bridge, a folder, a socket) owns it and removes it in its
`stop()`/`close()`, which is idempotent and safe after a half-done start. Nothing here ever stops, restarts
or reconfigures the main daemon.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

from tui.core.labels import PRODUCT_FILTER

MAIN_URL = "unix:///var/run/docker.sock"
# Podman's own place for its rootful API socket; `.ci/run provision` starts a service there.
PODMAN_URL = "unix:///run/podman/podman.sock"
# Short: a daemon that does not answer within this is treated as absent, and no test hangs on one call.
API_TIMEOUT = 15
TEST_IMAGE = "execdeck-test/busybox:latest"
DOCKER_DIR = Path(__file__).resolve().parent / "docker"
SAMPLE_ENTRIES = Path(__file__).resolve().parents[1] / "sample_entries" / "_index.yaml"
SAMPLE_IMAGE = "image: busybox:1.36\n"


def samples_with_test_image(folder: Path) -> Path:
    """The sample entries written into ``folder`` with the tests' own image in the sandbox (the samples'
    public image may not be on this machine, and the tests never pull)."""
    samples = SAMPLE_ENTRIES.read_text()
    assert SAMPLE_IMAGE in samples, "the samples' sandbox image changed: change SAMPLE_IMAGE with it"
    entries = folder / "_index.yaml"
    entries.write_text(samples.replace(SAMPLE_IMAGE, f"image: {TEST_IMAGE}\n"))
    return entries
BUILD_SCRIPT = DOCKER_DIR / "build-images.sh"
DOCKERFILE_LABEL = "execdeck.test.dockerfile-sha256"


class DockerUnavailable(Exception):
    """A daemon, a tool or the test image that a test needs is not there; the message says what to do."""


def require_docker() -> bool:
    """True when Docker tests must fail rather than skip for a missing daemon (`REQUIRE_DOCKER=1`, set by
    CI)."""
    return os.environ.get("REQUIRE_DOCKER") == "1"


def main_daemon_url() -> str:
    """The daemon the tests use: `DOCKER_HOST` when set, else the local socket."""
    return os.environ.get("DOCKER_HOST") or MAIN_URL


@dataclass(frozen=True)
class ContainerEngine:
    """One engine that serves the Docker Engine API: ``name`` (``docker``, ``podman``), the ``url`` an
    entry's ``host`` names it by, a connected ``client`` and the test ``image`` present there."""

    name: str
    url: str
    client: docker.APIClient
    image: str


def podman_url() -> str:
    """The Podman API service the tests use: `EXECDECK_PODMAN_HOST` when set, else Podman's rootful socket."""
    return os.environ.get("EXECDECK_PODMAN_HOST") or PODMAN_URL


def connect(url: str, timeout: int = API_TIMEOUT) -> docker.APIClient:
    """A client connected to the daemon at `url` (the API version is negotiated, so the daemon answered).

    Raises DockerUnavailable with a message naming `url` when no daemon answers there.
    """
    try:
        return docker.APIClient(base_url=url, timeout=timeout)
    except docker.errors.DockerException as exc:
        hint = "start dockerd or set DOCKER_HOST"
        raise DockerUnavailable(f"no Docker daemon at {url}: {hint} ({exc})") from exc


def poll_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    """Call `check` until it returns true; raise TimeoutError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


# ---- the test image ----------------------------------------------------------------------------------


def dockerfile_hash() -> str:
    """The sha256 of tests/docker/Dockerfile: the label build-images.sh puts on the image."""
    return hashlib.sha256((DOCKER_DIR / "Dockerfile").read_bytes()).hexdigest()


def inspect_image(client: docker.APIClient, image: str) -> dict[str, Any]:
    """The daemon's description of `image`; raises docker.errors.ImageNotFound when it is absent."""
    info: dict[str, Any] = client.inspect_image(image)  # type: ignore[no-untyped-call]
    return info


def image_is_current(client: docker.APIClient, image: str = TEST_IMAGE) -> bool:
    """True when `image` exists on the client's daemon and was built from the current Dockerfile."""
    try:
        info = inspect_image(client, image)
    except docker.errors.ImageNotFound:
        return False
    labels = info.get("Config", {}).get("Labels") or {}
    return bool(labels.get(DOCKERFILE_LABEL) == dockerfile_hash())


def ensure_test_image(client: docker.APIClient, url: str, built_on: str = "") -> str:
    """Return TEST_IMAGE, building it with build-images.sh first when it is missing or stale.

    `client` and `url` name the same daemon; the script is pointed at `url` through DOCKER_HOST. With
    `built_on`, the image is built on that Docker daemon and copied to `url` (Podman cannot run the
    Dockerfile's RUN steps here). Raises DockerUnavailable with the script's output when the build fails
    (no docker CLI, no static busybox).
    """
    if image_is_current(client):
        return TEST_IMAGE
    args = ["--copy-to", url] if built_on else []
    env = dict(os.environ, DOCKER_HOST=built_on or url)
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0 or not image_is_current(client):
        raise DockerUnavailable(
            f"could not build {TEST_IMAGE} with {BUILD_SCRIPT} (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    return TEST_IMAGE


def check_stream(events: Iterable[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    """Drain a decoded progress stream (pull, push, load) and return its events; raise RuntimeError on
    the first event that carries an error (the API reports failures inside a 200 stream)."""
    seen = []
    for event in events:
        seen.append(event)
        if "error" in event or "errorDetail" in event:
            raise RuntimeError(f"{what} failed: {event.get('error') or event.get('errorDetail')}")
    return seen


def push_fresh_image(client: docker.APIClient, base: str, repository: str, tag: str = "v1") -> str:
    """`repository:tag`: `base` plus a layer of random bytes (so a pull really downloads something), pushed
    to its registry from `client`'s daemon and removed there again. The caller removes it where it pulls it."""
    maker = client.create_container(base, ["sh", "-c", "head -c 300000 /dev/urandom > /blob"])
    try:
        client.start(maker)
        assert client.wait(maker, timeout=60)["StatusCode"] == 0
        client.commit(maker, repository=repository, tag=tag)
    finally:
        client.remove_container(maker, force=True)
    image = f"{repository}:{tag}"
    try:
        check_stream(client.push(repository, tag=tag, stream=True, decode=True), "push")
    finally:
        client.remove_image(image)
    return image


# ---- the leak check ----------------------------------------------------------------------------------


def product_container_ids(client: docker.APIClient) -> set[str]:
    """Ids of every container (running or not) that carries this product's label."""
    return {c["Id"] for c in client.containers(all=True, filters={"label": PRODUCT_FILTER})}


def leftover_containers(client: docker.APIClient, baseline: set[str], grace: float) -> list[dict[str, Any]]:
    """The product's containers that were not in `baseline` and still exist after up to `grace` seconds.

    The grace lets containers that are being removed (ours, or a concurrent test session's on a shared
    machine) go; an empty result returns at once.
    """
    deadline = time.monotonic() + grace
    while True:
        found = [
            c
            for c in client.containers(all=True, filters={"label": PRODUCT_FILTER})
            if c["Id"] not in baseline
        ]
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def describe_container(c: dict[str, Any]) -> str:
    """One line naming a container from a `containers()` listing: id, name, state, image, labels."""
    labels = ", ".join(f"{k}={v}" for k, v in sorted((c.get("Labels") or {}).items()))
    names = ",".join(n.lstrip("/") for n in c.get("Names") or [])
    return f"{c['Id'][:12]} {names} {c.get('State')} image={c.get('Image')} [{labels}]"


def remove_containers(client: docker.APIClient, ids: Iterable[str]) -> None:
    """Force-remove each container; one already gone, or being removed by its owner, is fine."""
    for cid in ids:
        try:
            client.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            continue
        except docker.errors.APIError as err:
            if err.status_code != 409 or "already in progress" not in str(err):
                raise


# ---- processes, mounts, ports --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM `proc`, wait up to `timeout` seconds, then SIGKILL it and wait. Only this process."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def pids_mentioning(text: str) -> list[int]:
    """Pids of processes whose command line contains `text` (a private temp path: only ours match)."""
    needle = text.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            found.append(int(entry.name))
    return found


def kill_processes_mentioning(text: str, timeout: float = 10) -> None:
    """SIGKILL every process whose command line names `text` and wait until they are gone.

    Used for what a daemon started under a private temp dir leaves when it dies hard: its containerd and
    the containerd shims, whose command lines name sockets under that dir.
    """
    for pid in pids_mentioning(text):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    poll_until(lambda: not pids_mentioning(text), timeout, f"processes under {text} to exit")


def _unescape_mountinfo(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    return field.encode().decode("unicode_escape")


def mounts_under(root: str) -> list[str]:
    """Mount points at or below `root`, deepest first (the order to unmount them)."""
    prefix = root.rstrip("/") + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = _unescape_mountinfo(line.split()[4])
        if point == root or point.startswith(prefix):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_all_under(root: str) -> None:
    """Unmount everything mounted at or below `root` (overlay layers, netns binds, shm), lazily if busy."""
    for point in mounts_under(root):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    left = mounts_under(root)
    if left:
        raise RuntimeError(f"could not unmount {left}")


def log_tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file, or a note that it is unreadable."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


# ---- a second daemon -------------------------------------------------------------------------------------


class SecondDockerd:
    """A dockerd of its own beside the main one, for remote-host tests: `unix_url` and `tcp_url` reach it.

    It has its own data root, exec root, pidfile, config file, containerd namespace and bridge (never
    `--bridge none`, which deletes the main daemon's docker0), and no iptables rules. `stop()` ends it and
    removes all it made: processes, mounts, the bridge, the temp dir.
    """

    BRIDGE_PREFIX = "execdeck-br"
    START_TIMEOUT = 60

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="execdeck-dockerd2-"))
        self.unix_url = f"unix://{self.root}/docker.sock"
        self.tcp_url = f"tcp://127.0.0.1:{free_port()}"
        self.bridge: str | None = None
        self.log_path = self.root / "dockerd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, main: docker.APIClient, images: Iterable[str]) -> None:
        """Start the daemon, wait until both URLs answer, and copy `images` into it from `main`."""
        self.bridge = self._make_bridge()
        config = self.root / "daemon.json"
        config.write_text("{}\n")  # not /etc/docker/daemon.json, whose `hosts` would clash with -H
        self._launch()
        client = connect(self.unix_url, timeout=5)
        try:
            for image in images:
                data = b"".join(main.get_image(image))
                check_stream(
                    client.load_image(data),  # type: ignore[no-untyped-call]
                    f"loading {image} into the second dockerd",
                )
        finally:
            client.close()

    def _launch(self) -> None:
        """Start the dockerd process on this daemon's folder and bridge; return once both URLs answer."""
        cmd = [
            "dockerd",
            f"--config-file={self.root / 'daemon.json'}",
            f"--data-root={self.root}/data",
            f"--exec-root={self.root}/exec",
            f"--pidfile={self.root}/dockerd.pid",
            f"--host={self.unix_url}",
            f"--host={self.tcp_url}",
            f"--bridge={self.bridge}",
            "--iptables=false",
            "--ip6tables=false",
            # Apart from the main daemon's containers even if both share the system containerd.
            "--containerd-namespace=execdeck-dockerd2",
            "--containerd-plugins-namespace=execdeck-dockerd2-plugins",
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.START_TIMEOUT
        for url in (self.unix_url, self.tcp_url):
            while True:
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"second dockerd exited with {self._proc.returncode}:\n{log_tail(self.log_path)}"
                    )
                try:
                    connect(url, timeout=5).close()
                    break
                except DockerUnavailable:
                    if time.monotonic() >= deadline:
                        raise RuntimeError(
                            f"second dockerd did not answer at {url} within {self.START_TIMEOUT}s:\n"
                            f"{log_tail(self.log_path)}"
                        ) from None
                    time.sleep(0.1)

    @property
    def running(self) -> bool:
        """True while the dockerd process runs (between `start`/`resume` and `halt`/`stop`)."""
        return self._proc is not None and self._proc.poll() is None

    def halt(self) -> None:
        """Stop the dockerd process only, as `systemctl stop docker` would: its folder, images and bridge
        stay, and `resume()` starts it again. Its URLs refuse connections meanwhile."""
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        # A daemon that died hard leaves its containerd; the next start must not find it.
        kill_processes_mentioning(str(self.root))

    def resume(self) -> None:
        """Start the daemon again after `halt()`; returns once both URLs answer."""
        if not self.running:
            self._launch()

    def _make_bridge(self) -> str:
        # `ip link add` fails when the name exists, which makes it the lock between concurrent sessions:
        # the first free index wins, and its subnet 10.250.<index>.0/24 is its own.
        for index in range(64):
            name = f"{self.BRIDGE_PREFIX}{index}"
            added = subprocess.run(
                ["ip", "link", "add", name, "type", "bridge"], capture_output=True, text=True
            )
            if added.returncode != 0:
                continue
            self.bridge = name
            subprocess.run(["ip", "addr", "add", f"10.250.{index}.1/24", "dev", name], check=True)
            subprocess.run(["ip", "link", "set", name, "up"], check=True)
            return name
        raise RuntimeError(f"no free bridge name {self.BRIDGE_PREFIX}0..63")

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, a deadline, SIGKILL) and remove every trace of it. Idempotent."""
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        if self.root.exists():
            # A daemon that died hard leaves its containerd and shims; their command lines name our root.
            kill_processes_mentioning(str(self.root))
            unmount_all_under(str(self.root))
        if self.bridge is not None:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
            self.bridge = None
        shutil.rmtree(self.root, ignore_errors=True)


# ---- a loopback registry ---------------------------------------------------------------------------------


class LocalRegistry:
    """Debian's docker-registry on 127.0.0.1 with its own storage and config in a temp dir.

    `address` is `127.0.0.1:PORT`, usable as an image name prefix; the daemon trusts loopback registries
    without TLS. `stop()` ends it and removes the folder.
    """

    BINARY = "/usr/bin/docker-registry"
    START_TIMEOUT = 30

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="execdeck-registry-"))
        self.address = f"127.0.0.1:{free_port()}"
        self.log_path = self.root / "registry.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the registry and wait until `/v2/` answers 200."""
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.root}/storage\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n  secret: {secrets.token_hex(16)}\n"
        )
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [self.BINARY, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = self._proc

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"docker-registry exited with {proc.returncode}:\n{log_tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2) as reply:
                    return bool(reply.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        poll_until(answers, self.START_TIMEOUT, f"docker-registry at {self.address}/v2/")

    def stop(self) -> None:
        """Stop the registry (SIGTERM, a deadline, SIGKILL) and remove its folder. Idempotent."""
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        shutil.rmtree(self.root, ignore_errors=True)


# ---- an sshd on loopback -----------------------------------------------------------------------------------


class LoopbackSshd:
    """Debian's sshd on 127.0.0.1 with keys and configuration of its own in a temp folder: the system's sshd
    and ~/.ssh are never touched.

    Every login gets `session_env` (the far end's DOCKER_HOST). The client side is an `ssh` wrapper in
    `bin_dir` that runs the real one with `-F` pointing at this folder's client configuration: put `bin_dir`
    first on PATH and `url()` reaches the far end's engine as `ssh://user@127.0.0.1:PORT`. The client
    configuration also knows three machine names that fail, one way each: `key-refused` (a key sshd does not
    know), `host-unknown` (a host key nobody knows) and `no-sshd` (a port where nothing listens).
    `stop()` ends sshd and removes the folder.
    """

    BINARY = "/usr/sbin/sshd"
    # openssh-server's privilege separation folder; its service makes it, which .ci/run never starts.
    PRIVSEP_DIR = Path("/run/sshd")
    START_TIMEOUT = 30

    def __init__(self, session_env: dict[str, str]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="execdeck-sshd-"))
        self.bin_dir = self.root / "bin"
        self.port = free_port()
        self.user = os.environ.get("USER") or "root"
        self.session_env = session_env
        self.log_path = self.root / "sshd.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def url(self, machine: str = "", path: str = "") -> str:
        """`ssh://user@127.0.0.1:PORT[path]`, or through one of the failing aliases (`machine`)."""
        return f"ssh://{self.user}@{machine or f'127.0.0.1:{self.port}'}{path}"

    def _keygen(self, name: str) -> Path:
        key = self.root / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                       check=True, capture_output=True, timeout=30)
        return key

    def start(self) -> None:
        """Make the keys and configurations, start sshd, and wait until it answers an ssh login."""
        host_key, client_key, stranger_key = (self._keygen(name) for name in ("host_key", "client_key", "stranger_key"))
        (self.root / "authorized_keys").write_bytes(client_key.with_suffix(".pub").read_bytes())
        (self.root / "known_hosts").write_text(
            f"[127.0.0.1]:{self.port} {host_key.with_suffix('.pub').read_text()}"
        )
        (self.root / "no_known_hosts").write_text("")
        env = "".join(f"SetEnv {name}={value}\n" for name, value in self.session_env.items())
        (self.root / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1:{self.port}\nHostKey {host_key}\nPidFile {self.root}/sshd.pid\n"
            f"AuthorizedKeysFile {self.root}/authorized_keys\nAllowUsers {self.user}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            # StrictModes would refuse keys under /tmp (world-writable); UsePAM needs the system's setup.
            "PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nLogLevel ERROR\n" + env
        )

        def host(pattern: str, key: Path, known: str = "known_hosts", port: int = self.port) -> str:
            return (f"Host {pattern}\n  HostName 127.0.0.1\n  Port {port}\n  User {self.user}\n"
                    f"  IdentityFile {key}\n  IdentitiesOnly yes\n  UserKnownHostsFile {self.root}/{known}\n"
                    "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n")

        (self.root / "ssh_config").write_text(
            host("key-refused", stranger_key) + host("host-unknown", client_key, known="no_known_hosts")
            + host("no-sshd", client_key, port=free_port()) + host("127.0.0.1", client_key)
        )
        self.bin_dir.mkdir()
        wrapper = self.bin_dir / "ssh"
        wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {self.root}/ssh_config "$@"\n')
        wrapper.chmod(0o755)
        self.PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [self.BINARY, "-D", "-e", "-f", str(self.root / "sshd_config")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        proc = self._proc

        def answers() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {proc.returncode}:\n{log_tail(self.log_path)}")
            login = subprocess.run([str(wrapper), "-o", "BatchMode=yes", "-p", str(self.port), "127.0.0.1", "true"],
                                   capture_output=True, timeout=15, check=False)
            return login.returncode == 0

        poll_until(answers, self.START_TIMEOUT, f"an ssh login to sshd on 127.0.0.1:{self.port}", interval=0.2)

    def ssh_clients(self) -> list[int]:
        """Pids of ssh client processes still running with this folder's configuration."""
        return [pid for pid in pids_mentioning(f"{self.root}/ssh_config") if _program(pid) == "ssh"]

    def stop(self) -> None:
        """Stop sshd (SIGTERM, a deadline, SIGKILL) and remove the folder. Idempotent."""
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
        shutil.rmtree(self.root, ignore_errors=True)


def _program(pid: int) -> str:
    try:
        return os.path.basename((Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")[0].decode())
    except OSError:
        return ""


# ---- a proxy the test can cut ----------------------------------------------------------------------------


def socket_address(url: str) -> tuple[int, str | tuple[str, int]]:
    """The (family, address) to connect to for a `unix://` or `tcp://` daemon URL."""
    if url.startswith("unix://"):
        return socket.AF_UNIX, url.removeprefix("unix://")
    if url.startswith("tcp://"):
        host, _, port = url.removeprefix("tcp://").rpartition(":")
        return socket.AF_INET, (host, int(port))
    raise ValueError(f"unsupported daemon URL for the proxy: {url}")


class DockerProxy:
    """A unix-socket proxy to a daemon, owned by the test: `url` reaches the daemon through it until
    `cut()`, which closes the listening socket and every open connection at once (the daemon "goes away"
    mid-run without touching the real one).

    One thread accepts; each connection gets one thread per direction, so a slow reader of one stream
    (an attach socket nobody reads) never stalls the others. A half-close (end of stdin) is passed on.
    """

    def __init__(self, upstream_url: str) -> None:
        self._family, self._upstream = socket_address(upstream_url)
        self._dir = Path(tempfile.mkdtemp(prefix="execdeck-proxy-"))
        self.path = self._dir / "docker.sock"
        self.url = f"unix://{self.path}"
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._cut = False
        self.connections = 0
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen(64)
        self._spawn(self._accept_loop)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="docker-proxy")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # cut(): shutdown() on a listening socket wakes accept() on Linux
                return
            upstream = socket.socket(self._family, socket.SOCK_STREAM)
            try:
                upstream.connect(self._upstream)
            except OSError:
                client.close()
                upstream.close()
                continue
            with self._lock:
                if self._cut:
                    client.close()
                    upstream.close()
                    return
                self._sockets.update((client, upstream))
                self.connections += 1
            # The last of the two pumps to finish closes both sockets.
            done = threading.Barrier(2, action=functools.partial(self._forget, client, upstream))
            self._spawn(self._pump, client, upstream, done)
            self._spawn(self._pump, upstream, client, done)

    def _pump(self, src: socket.socket, dst: socket.socket, done: threading.Barrier) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)  # pass the half-close on (end of stdin)
                    break
                dst.sendall(data)
        except OSError:
            # One side failed (or cut()): end both directions so the other pump ends too.
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(threading.BrokenBarrierError):
            done.wait()

    @property
    def open_connections(self) -> int:
        """The connections through the proxy that are still open (a client's and its upstream socket each)."""
        with self._lock:
            return len(self._sockets) // 2

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            for s in socks:
                self._sockets.discard(s)
                s.close()

    def cut(self) -> None:
        """Close the listening socket and every open connection, as if the daemon went away. Idempotent;
        returns once every proxy thread has ended."""
        with self._lock:
            self._cut = True
            socks = [self._listener, *self._sockets]
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(10)
        with self._lock:
            for s in [self._listener, *self._sockets]:
                s.close()
            self._sockets.clear()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def close(self) -> None:
        """Cut the proxy and remove its folder."""
        self.cut()
        shutil.rmtree(self._dir, ignore_errors=True)


def proxied_client_fails(url: str) -> bool:
    """True when a fresh client cannot reach a daemon at `url` (a cut proxy)."""
    try:
        connect(url, timeout=5).close()
    except DockerUnavailable:
        return True
    except requests.RequestException:
        return True
    return False
