"""Containers started ahead (``pool``): a run in a pooled container gives what a fresh container gives (output,
stderr, exit code, signals, time limit, stdin, limits), the pool refills, is emptied when its engine ends, and
what a killed engine's pool left is found by the orphan sweep. Against the real engines (Docker's, Podman's)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from tests import dockertools as dt
from tests.core.support import read_all
from tests.docker_exec.conftest import EngineMaker, docker_entry
from tui.core.entries import load_entries
from tui.core.errors import ExecError
from tui.core.executors.base import Executor
from tui.core.executors.docker_owner import find_orphans, kill_orphans
from tui.core.executors.docker_pool import POOL_RUN_LABEL, PooledBackend, exec_failure_message
from tui.core.executors.engine_api import EngineClient
from tui.core.labels import LABEL_ENTRY, LABEL_INSTANCE, LABEL_RUN

pytestmark = pytest.mark.docker

MIB = 1024 * 1024
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    """What a run gave, as the comparison between pooled and fresh runs sees it."""

    stdout: bytes
    stderr: bytes
    code: int | None
    error: str | None
    oom_killed: bool
    timed_out: bool


def pool_containers(client: docker.APIClient, instance_id: str, running_only: bool = True) -> list[dict[str, Any]]:
    """The pooled containers (not yet given to a run) of an engine instance."""
    labels = [f"{LABEL_INSTANCE}={instance_id}", f"{LABEL_RUN}={POOL_RUN_LABEL}"]
    return list(client.containers(all=not running_only, filters={"label": labels}))


def wait_ready(executor: Executor) -> None:
    """Until the executor's pool holds a started container (a first exec makes the pool)."""
    backend = executor.exec("true").backend
    assert isinstance(backend, PooledBackend)
    pool = backend.pool
    dt.poll_until(lambda: pool.ready >= 1, 60, f"a started container in the pool of {executor.id} ({pool.gave_up})")


def run(executor: Executor, command: str, *, pooled: bool, stdin: bytes | None = None,
        before_signal: bytes = b"", signum: int = 0, **options: Any) -> Outcome:
    """Run ``command`` (from the pool when ``pooled``, which is checked), feeding ``stdin`` (then its end) and
    sending ``signum`` once stdout has shown ``before_signal``."""
    if pooled:
        wait_ready(executor)
    process = executor.exec(command, **options)
    out, err = process.open_reader("stdout"), process.open_reader("stderr")
    process.start()
    backend = process.backend
    assert getattr(backend, "pooled", False) == pooled, f"{command!r} was not run as asked (pooled={pooled})"
    seen = b""
    if signum:
        while before_signal not in seen:
            chunk = out.read(65536, timeout=30)
            assert chunk, f"{command!r} ended or stayed silent before showing {before_signal!r}: {seen!r}"
            seen += chunk
        process.signal(signum)
    if stdin is not None:
        process.write_stdin(stdin)
        process.write_stdin(b"")
    assert process.wait_done(60), f"{command!r} did not end"
    status = process.exit_status
    assert status is not None
    return Outcome(seen + read_all(out), read_all(err), status.code, status.error, status.oom_killed,
                   status.timed_out)


Pair = tuple[Executor, Executor]


def same_both_ways(executors: Pair, command: str, **options: Any) -> Outcome:
    """Run ``command`` on the pooled executor of the pair and on its twin without a pool; the outcomes must
    be equal."""
    pooled = run(executors[0], command, pooled=True, **options)
    fresh = run(executors[1], command, pooled=False, **options)
    assert pooled == fresh, f"{command!r}: pooled {pooled} != fresh {fresh}"
    return pooled


@pytest.fixture
def pooled_executor(make_engine: EngineMaker, container_engine: dt.ContainerEngine) -> Callable[..., Pair]:
    """``pooled_executor(**fields)``: an executor with ``pool: 1`` and these fields and its twin without a pool,
    in one long-lived engine, on each engine in turn."""

    def make(**fields: Any) -> Pair:
        fields.setdefault("host", container_engine.url)
        fields.setdefault("auto_remove", True)
        pooled = docker_entry(container_engine.image, pool=1, **fields)
        fresh = docker_entry(container_engine.image, **fields)
        engine = make_engine(pooled, fresh, long_lived=True)
        return engine.get(pooled.id), engine.get(fresh.id)

    return make


COMMANDS = [
    "true",
    "false",
    "sh -c 'echo out; echo err >&2; exit 3'",
    "printf 'no newline'",
    "sh -c 'for i in 1 2 3; do echo line $i; echo warn $i >&2; done'",
    "id",
    "pwd",
    "sh -c 'env | grep -v ^HOSTNAME= | sort'",
    "sh -c 'echo $E $R'",
    "ls /nonexistent",
    "sh -c 'echo x > /made-here'",
    "sh -c 'touch /tmp/scratch && echo tmpfs works'",
    "sh -c 'cat /proc/self/status | grep -E ^Cap(Eff|Bnd)'",
    "sh -c 'kill -0 1 && echo init is there'",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_pooled_run_gives_what_a_fresh_container_gives(pooled_executor: Callable[..., Pair],
                                                         container_engine: dt.ContainerEngine, command: str) -> None:
    # Podman's pools serve only entries without a user (see the test below).
    user = "1000" if container_engine.name == "docker" else ""
    executors = pooled_executor(default_env={"E": "entry", "R": "entry"}, read_only_rootfs=True,
                                cap_drop=["ALL"], network_mode="none", user=user, default_work_dir="/tmp",
                                tmpfs={"/tmp": "rw,size=1m,mode=1777"})
    same_both_ways(executors, command, env={"R": "run"})


def test_the_runs_env_overlays_the_entrys_in_the_pooled_container(pooled_executor: Callable[..., Pair]) -> None:
    executors = pooled_executor(default_env={"A": "1", "B": "1"})
    outcome = same_both_ways(executors, "sh -c 'echo A=$A B=$B C=$C'", env={"A": "2", "C": "3"})
    assert outcome.stdout == b"A=2 B=1 C=3\n"


def test_stdin_reaches_the_command_and_its_end_ends_it(pooled_executor: Callable[..., Pair]) -> None:
    executors = pooled_executor()
    data = b"".join(b"line %d\n" % i for i in range(5000))
    assert same_both_ways(executors, "cat", stdin=data).stdout == data
    outcome = same_both_ways(executors, "sh -c 'read a; read b; echo got $b $a'", stdin=b"one\ntwo\n")
    assert outcome.stdout == b"got two one\n"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129),
                                              (signal.SIGKILL, 137)])
def test_a_signal_reaches_the_command(pooled_executor: Callable[..., Pair], signum: int, code: int) -> None:
    outcome = same_both_ways(pooled_executor(), "sh -c 'echo ready; exec sleep 30'", before_signal=b"ready\n",
                             signum=signum)
    assert outcome.code == code


def test_a_signal_the_command_traps_runs_its_handler(pooled_executor: Callable[..., Pair]) -> None:
    script = "sh -c 'trap \"echo got USR1; exit 7\" USR1; echo ready; while :; do sleep 0.1; done'"
    outcome = same_both_ways(pooled_executor(), script, before_signal=b"ready\n", signum=signal.SIGUSR1)
    assert (outcome.stdout, outcome.code) == (b"ready\ngot USR1\n", 7)


def test_a_signal_right_after_start_reaches_the_command(pooled_executor: Callable[..., Pair]) -> None:
    executor, _ = pooled_executor()
    wait_ready(executor)
    process = executor.exec("sleep 30")
    process.start()
    assert getattr(process.backend, "pooled", False)
    process.signal(signal.SIGTERM)
    assert process.wait().code == 143


def test_the_time_limit_ends_a_pooled_run(pooled_executor: Callable[..., Pair]) -> None:
    outcome = same_both_ways(pooled_executor(), "sleep 30", timeout=1)
    assert (outcome.timed_out, outcome.code) == (True, 143)


def test_the_memory_limit_kills_a_pooled_run_and_says_so(pooled_executor: Callable[..., Pair],
                                                         container_engine: dt.ContainerEngine) -> None:
    outcome = same_both_ways(pooled_executor(memory_limit=64 * MIB),
                             "sh -c 'head -c 300000000 /dev/zero | tail'")
    # Podman 4.3 on cgroup v1 never says out of memory (README), pooled or not; Docker always does.
    assert (outcome.code, outcome.oom_killed) == (137, container_engine.name == "docker")


def test_a_child_killed_for_memory_is_reported_though_the_command_outlived_it(
    pooled_executor: Callable[..., Pair], container_engine: dt.ContainerEngine
) -> None:
    outcome = same_both_ways(pooled_executor(memory_limit=64 * MIB),
                             "sh -c 'head -c 300000000 /dev/zero | tail; echo survived; exit 1'")
    assert (outcome.stdout, outcome.code) == (b"survived\n", 1)
    assert outcome.oom_killed == (container_engine.name == "docker")


def test_the_process_limit_allows_a_pooled_run_as_many_processes(pooled_executor: Callable[..., Pair]) -> None:
    # Each loop pass starts one more process, until a fork fails: as many passes pooled as fresh.
    outcome = same_both_ways(pooled_executor(pids_limit=8),
                             "sh -c 'for i in $(seq 20); do sleep 5 >/dev/null 2>&1 & echo $i; done'")
    assert outcome.code != 0 and b"20" not in outcome.stdout.split()


def test_a_program_missing_from_the_image_is_the_same_error(pooled_executor: Callable[..., Pair]) -> None:
    executors = pooled_executor()
    outcomes = []
    for executor, pooled in zip(executors, (True, False), strict=True):
        if pooled:
            wait_ready(executor)
        process = executor.exec("no-such-program")
        process.start()
        assert getattr(process.backend, "pooled", False) == pooled
        with pytest.raises(ExecError) as raised:
            process.wait()
        assert process.exit_status is not None
        outcomes.append((raised.value.message, process.exit_status.code))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 'exec: "no-such-program": executable file not found in $PATH'


def test_each_pooled_container_serves_one_run_and_goes(pooled_executor: Callable[..., Pair],
                                                       container_engine: dt.ContainerEngine) -> None:
    executor, _ = pooled_executor()
    seen = set()
    for _ in range(3):
        outcome = run(executor, "sh -c 'cat /etc/hostname; ls /tmp'", pooled=True)
        assert outcome.code == 0
        hostname, *left = outcome.stdout.split()
        assert left == [], "a pooled run saw what an earlier run left"
        seen.add(hostname)
    assert len(seen) == 3
    client = container_engine.client
    dt.poll_until(lambda: not any(c["Id"].startswith(tuple(h.decode() for h in seen))
                                  for c in client.containers(all=True)), 10, "the used containers to go")


def test_a_run_whose_pooled_container_died_gets_a_fresh_one(make_engine: EngineMaker,
                                                             container_engine: dt.ContainerEngine) -> None:
    entry = docker_entry(container_engine.image, host=container_engine.url, pool=1, auto_remove=True)
    engine = make_engine(entry, long_lived=True)
    executor = engine.get(entry.id)
    wait_ready(executor)
    client = container_engine.client
    (waiting,) = pool_containers(client, engine.instance_id)
    client.kill(waiting["Id"], 9)
    dt.poll_until(lambda: pool_containers(client, engine.instance_id) == [], 30, "the pooled container to stop")
    process = executor.exec("echo still served")
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out) == b"still served\n"
    backend = process.backend
    assert isinstance(backend, PooledBackend) and not backend.pooled
    dt.poll_until(lambda: waiting["Id"] not in {c["Id"] for c in pool_containers(client, engine.instance_id, False)},
                  30, "the dead container to be removed")


def test_the_pool_is_emptied_when_its_engine_ends(make_engine: EngineMaker,
                                                  container_engine: dt.ContainerEngine) -> None:
    entry = docker_entry(container_engine.image, host=container_engine.url, pool=2)
    engine = make_engine(entry, long_lived=True)
    executor = engine.get(entry.id)
    wait_ready(executor)
    client = container_engine.client
    dt.poll_until(lambda: len(pool_containers(client, engine.instance_id)) == 2, 60, "two started containers")
    engine.shutdown()
    assert pool_containers(client, engine.instance_id, running_only=False) == []


@pytest.mark.parametrize("user", ["1000:1000", "1000"])
def test_a_podman_exec_as_a_named_user_would_get_other_groups_so_such_runs_are_fresh(
    make_engine: EngineMaker, podman_engine: docker.APIClient, podman_test_image: str, user: str
) -> None:
    entry = docker_entry(podman_test_image, host=dt.podman_url(), pool=1, user=user, auto_remove=True)
    engine = make_engine(entry, long_lived=True)
    process = engine.get(entry.id).exec("id")
    out = process.open_reader("stdout")
    process.start()
    assert process.wait().code == 0
    assert read_all(out).startswith(b"uid=1000(1000) ")
    backend = process.backend
    assert isinstance(backend, PooledBackend) and not backend.pooled
    dt.poll_until(lambda: backend.pool.gave_up != "", 30, "the pool to give up")
    assert "with other groups" in backend.pool.gave_up
    assert pool_containers(podman_engine, engine.instance_id) == []


def test_no_pool_in_a_one_shot_engine_nor_without_the_init(make_engine: EngineMaker,
                                                           container_engine: dt.ContainerEngine) -> None:
    one_shot = docker_entry(container_engine.image, host=container_engine.url, pool=2, auto_remove=True)
    no_init = docker_entry(container_engine.image, host=container_engine.url, pool=2, init=False, auto_remove=True)
    engines = [make_engine(one_shot), make_engine(no_init, long_lived=True)]
    for engine, entry in zip(engines, (one_shot, no_init), strict=True):
        process = engine.get(entry.id).exec("true")
        process.start()
        assert process.wait().code == 0
        assert not isinstance(process.backend, PooledBackend)
        assert pool_containers(container_engine.client, engine.instance_id) == []


_HOLDER = textwrap.dedent("""
    import sys
    from tests import dockertools as dt
    from tests.docker_exec.conftest import docker_entry
    from tui.core.engine import Engine
    from tui.core.entries.models import LoadResult

    image, url = sys.argv[1:3]
    entry = docker_entry(image, host=url, pool=2, auto_remove=True)
    engine = Engine(LoadResult(entries=(entry,)), long_lived=True)
    process = engine.get(entry.id).exec("true")
    process.start()
    process.wait()
    dt.poll_until(lambda: process.backend.pool.ready == 2, 60, "a full pool")
    print(engine.instance_id, flush=True)
    sys.stdin.read()  # held until killed
""")


def test_the_orphan_sweep_finds_the_pool_of_an_engine_killed_with_sigkill(
    container_engine: dt.ContainerEngine, docker_engine: docker.APIClient
) -> None:
    client = container_engine.client
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, container_engine.image, container_engine.url],
                              cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    instance = ""
    try:
        assert holder.stdout is not None
        instance = holder.stdout.readline().strip()
        assert instance, "the holder did not fill its pool"
        assert len(pool_containers(client, instance)) == 2
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)
        ours = EngineClient(container_engine.url, timeout=30)  # the product's own client
        try:
            orphans = [c for c in find_orphans(ours) if c["Labels"].get(LABEL_INSTANCE) == instance]
            assert len(orphans) == 2
            assert len(kill_orphans(ours, orphans)) == 2
        finally:
            ours.close()
        assert pool_containers(client, instance) == []
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
        if instance:
            found = client.containers(all=True, filters={"label": f"{LABEL_INSTANCE}={instance}"})
            dt.remove_containers(client, (c["Id"] for c in found))


# -- the field, and the daemon's words ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [("-1", "from 0 (no pool) to 8, not -1"),
                                                ("9", "from 0 (no pool) to 8, not 9"),
                                                ('"two"', "")])
def test_a_pool_size_out_of_range_is_refused(tmp_path: Path, value: str, message: str) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(f"namespace: app\nentries:\n  - name: box\n    kind: exec.docker\n    image: busybox\n"
                    f"    pool: {value}\n")
    result = load_entries([path])
    assert result.entries == ()
    (problem,) = result.problems
    assert problem.field == "pool" and message in problem.message


def test_the_daemons_report_of_a_failed_exec_becomes_a_short_error() -> None:
    docker_text = ('OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": '
                   "executable file not found in $PATH: unknown\r\n")
    podman_text = ('Error: runc: exec failed: unable to start container process: exec: "nope": executable file '
                   "not found in $PATH: OCI runtime attempted to invoke a command that was not found\n"
                   "Error: read unixpacket @->/proc/self/fd/16/attach: read: connection reset by peer\n")
    for text in (docker_text, podman_text):
        assert exec_failure_message(text) == 'exec: "nope": executable file not found in $PATH'


def test_a_lua_script_runs_from_the_pool_and_leaves_no_container(tmp_path: Path, docker_engine: docker.APIClient,
                                                                  test_image: str) -> None:
    name = f"box{os.urandom(4).hex()}"
    (tmp_path / "entries").mkdir()
    (tmp_path / "entries" / "_index.yaml").write_text(
        f"namespace: p\nentries:\n  - name: {name}\n    kind: exec.docker\n    image: {test_image}\n"
        "    auto_remove: true\n    pool: 2\n")
    # PID 1's command line says whether a run had its container started for it or took one from the pool.
    script = tmp_path / "pool.lua"
    script.write_text(textwrap.dedent(f"""
        local box = require("exec").get("p:{name}")
        for i = 1, 50 do
          local p = box:exec("cat /proc/1/cmdline")
          local out = p:stdout_stream()
          p:start()
          local text = out:read(4096) or ""
          p:wait()
          if text:find("sleep", 1, true) then print("pooled after " .. i) return end
        end
        print("never pooled")
    """))
    result = subprocess.run([sys.executable, "-m", "tui", "lua", "--entries", str(tmp_path / "entries"), str(script)],
                            cwd=REPO, capture_output=True, timeout=120, env={**os.environ, "EXECDECK_RECORDS": "off"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"pooled after "), result.stdout
    left = docker_engine.containers(all=True, filters={"label": f"{LABEL_ENTRY}=p:{name}"})
    dt.remove_containers(docker_engine, (c["Id"] for c in left))
    assert left == [], "the script's pool outlived it"
