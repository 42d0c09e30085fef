"""B4, B5 and B8 (quality.md): the docker engine against the docker command line, in the same run.

Each figure alternates product and baseline and reports the median of the pair ratios, so a noisy
machine slows both sides of a pair alike. Both need a daemon, the ``docker`` command and the test
image (``tests/docker/build-images.sh``); without them they are skipped with the reason.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.pairs import measure_pairs, paired_result
from tui.core.engine import Engine
from tui.core.entries.models import Entry, LoadResult, Location
from tui.core.executors.docker import KIND, DockerSpec
from tui.core.executors.docker_client import host_for, inspect_image, resolve_host
from tui.core.executors.engine_api import EngineClient, ImageNotFound

IMAGE = "execdeck-test/busybox:latest"
MIB = 1024 * 1024
_ID = "bench:docker"


def _skip_reason() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command"
    url = resolve_host("")
    client = EngineClient(url, timeout=5)
    try:
        inspect_image(client, IMAGE)
    except ImageNotFound:
        return f"{IMAGE} is missing: run tests/docker/build-images.sh"
    except OSError as err:
        return f"no Docker daemon at {url} ({err})"
    finally:
        client.close()
    return None


def _engine(pool: int = 0) -> Engine:
    # auto_remove: the product's cycle includes the removal, as `docker run --rm` does.
    entry = Entry(id=_ID, namespace="bench", name="docker", kind=KIND.name, location=Location(Path("bench")),
                  spec=DockerSpec(image=IMAGE, auto_remove=True, pool=pool))
    # A pool lives only in a long-lived engine (the console's).
    return Engine(LoadResult(entries=(entry,)), long_lived=pool > 0)


def _cli(*args: str) -> list[str]:
    return ["docker", "-H", resolve_host(""), "run", "--rm", *args]


def _docker_run_true() -> float:
    """Seconds of `docker run --rm IMAGE true`: the baseline of B4 and B8."""
    start = time.perf_counter()
    subprocess.run(_cli(IMAGE, "true"), check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _result(products: list[float], baselines: list[float], unit: str, *, time_ratio: bool) -> dict[str, Any]:
    return paired_result(products, baselines, unit, 3 if time_ratio else 1)


def run_b4(runs: int = 20) -> dict[str, Any]:
    """Seconds per `true` container: create, attach, start, wait, remove vs `docker run --rm IMAGE true`.

    ``product`` is the time until ``wait()`` returns (the removal runs behind it, see docker_backend);
    ``product_with_removal`` also counts the removal, which is waited for before the next run.
    """
    reason = _skip_reason()
    if reason:
        return {"skipped": reason}
    engine = _engine()
    executor = engine.get(_ID)
    host = host_for(engine.scope, "")

    settled: list[float] = []

    def product() -> float:
        start = time.perf_counter()
        process = executor.exec("true")
        process.start()
        code = process.wait().code
        elapsed = time.perf_counter() - start
        assert code == 0
        # The removal runs behind wait(); measured apart, and never overlapping the next run.
        assert host.settle(30)
        settled.append(time.perf_counter() - start)
        return elapsed

    try:
        product()  # the first run connects to the daemon: not part of the figure
        products, baselines = measure_pairs(product, _docker_run_true, runs)
    finally:
        engine.shutdown()
    result = _result(products, baselines, "s", time_ratio=True)
    # For information: until the container is also gone (what `docker run --rm` waits for).
    settled = settled[1:]
    result["product_with_removal"] = round(statistics.median(settled), 3)
    result["ratio_with_removal"] = round(statistics.median(p / b for p, b in zip(settled, baselines, strict=True)), 3)
    return result


def run_b5(mib: int = 256, runs: int = 5) -> dict[str, Any]:
    """MB/s of 256 MiB of stdout out of a container through the attach stream (read by a Process reader)
    vs `docker run --rm IMAGE dd ...` with its output to /dev/null; whole runs, start included."""
    reason = _skip_reason()
    if reason:
        return {"skipped": reason}
    size = mib * MIB
    command = ["dd", "if=/dev/zero", f"bs={MIB}", f"count={mib}"]
    engine = _engine()
    executor = engine.get(_ID)

    def product() -> float:
        start = time.perf_counter()
        process = executor.exec(" ".join(command))
        reader = process.open_reader("stdout")
        process.start()
        total = 0
        while (chunk := reader.read(65536)) is not None:
            total += len(chunk)
        code = process.wait().code
        elapsed = time.perf_counter() - start
        assert code == 0 and total == size, (code, total)
        return size / elapsed / 1e6

    def baseline() -> float:
        start = time.perf_counter()
        subprocess.run(_cli(IMAGE, *command), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return size / (time.perf_counter() - start) / 1e6

    try:
        product()
        products, baselines = measure_pairs(product, baseline, runs)
    finally:
        engine.shutdown()
    return _result(products, baselines, "MB/s", time_ratio=False)


def run_b8(runs: int = 20, size: int = 2) -> dict[str, Any]:
    """Seconds per `true` in a container taken from a pool of started ones (exec, attach, exit code) vs
    `docker run --rm IMAGE true`.

    Neither side is measured while the other's aftermath still runs: before each run of either side, the
    pool is full again and the used container's removal has ended (the refill and the removal are the
    background's work, which a console does between an operator's runs).
    """
    from tui.core.executors.docker_pool import PooledBackend

    reason = _skip_reason()
    if reason:
        return {"skipped": reason}
    engine = _engine(pool=size)
    executor = engine.get(_ID)
    host = host_for(engine.scope, "")
    first = executor.exec("true")
    assert isinstance(first.backend, PooledBackend)
    pool = first.backend.pool
    first.close()

    def quiet() -> None:
        deadline = time.monotonic() + 60
        while pool.ready < size or not host.settle(0.5):
            assert time.monotonic() < deadline, f"the pool did not fill up again ({pool.gave_up})"
            time.sleep(0.01)

    fresh: list[str] = []

    def product() -> float:
        # A pooled container removed behind the pool's back (another test session's sweep of execdeck's
        # containers on this daemon) sends its run to a fresh container: measured again, and counted.
        for _ in range(3):
            quiet()
            start = time.perf_counter()
            process = executor.exec("true")
            process.start()
            status = process.wait()
            elapsed = time.perf_counter() - start
            assert status.code == 0, status
            if getattr(process.backend, "pooled", False):
                return elapsed
            fresh.append(pool.gave_up or "a pooled container was gone")
        raise AssertionError(f"no run from the pool: {fresh}")

    def baseline() -> float:
        quiet()
        return _docker_run_true()

    try:
        product()  # the first run connects to the daemon: not part of the figure
        products, baselines = measure_pairs(product, baseline, runs)
    finally:
        engine.shutdown()
    result = _result(products, baselines, "s", time_ratio=True)
    result["fresh_runs_measured_again"] = len(fresh)
    return result
