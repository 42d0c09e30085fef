"""B9N and B9D (quality.md): ``execdeck run`` as a whole process, from its start to its exit.

B9N runs ``true`` on a native executor against ``python -c "import subprocess; subprocess.run(['true'])"``;
B9D runs ``true`` in a container (``auto_remove``, as ``--rm``) against ``docker run --rm IMAGE true``. Both
sides are whole processes started the same way, alternating (the first of two process starts is measurably
slower here), and the ratio is the median of the pairs. The product is the installed ``execdeck`` script
beside the interpreter that runs the benchmarks, with run records on (into a temporary file), on an entry file
holding both executors, as an operator's would; the Python baseline runs on that same interpreter, called
directly (not through a shim such as pyenv's, which costs more than the whole command; its real path would
leave the virtual environment, and the site-packages of the system interpreter load things of their own).

The package is compiled to bytecode first, as an installed wheel is: a checkout run with
``PYTHONDONTWRITEBYTECODE`` set (as here) would otherwise compile every module of execdeck on every start.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.pairs import measure_pairs, paired_result

IMAGE = "execdeck-test/busybox:latest"
ENTRIES = f"""namespace: bench
entries:
  - name: native
    kind: exec.native
    default_env:
      PATH: /usr/bin:/bin
  - name: docker
    kind: exec.docker
    image: {IMAGE}
    auto_remove: true
"""
PYTHON_BASELINE = "import subprocess; subprocess.run(['true'])"
WARM_UP = 2


def execdeck_script() -> Path | None:
    """The ``execdeck`` script installed beside the interpreter that runs the benchmarks, if any."""
    script = Path(sys.executable).parent / "execdeck"
    return script if os.access(script, os.X_OK) else None


def compile_package() -> None:
    """Bytecode for every module of ``tui`` (quietly; what a wheel's installation does)."""
    package = Path(__file__).resolve().parent.parent / "tui"
    compileall.compile_dir(package, quiet=2)


def timed(argv: list[str], env: dict[str, str]) -> Callable[[], float]:
    """A side of a pair: seconds from starting ``argv`` to its exit, which must be 0."""

    def run() -> float:
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=120)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
        return elapsed

    return run


def _pairs(product: list[str], baseline: list[str], runs: int, env: dict[str, str]) -> dict[str, Any]:
    product_run, baseline_run = timed(product, env), timed(baseline, env)
    measure_pairs(product_run, baseline_run, WARM_UP, alternate=True)  # caches warm, records file made
    products, baselines = measure_pairs(product_run, baseline_run, runs, alternate=True)
    return paired_result(products, baselines, "s")


def _session(folder: Path) -> tuple[Path, dict[str, str]]:
    entries = folder / "bench.yaml"
    entries.write_text(ENTRIES)
    env = {**os.environ, "EXECDECK_RECORDS": str(folder / "runs.sqlite3"),
           "XDG_CACHE_HOME": str(folder / "cache")}
    return entries, env


def run_b9n(runs: int = 20) -> dict[str, Any]:
    """Seconds of ``execdeck run bench:native true`` vs the three-line ``subprocess.run`` script."""
    script = execdeck_script()
    if script is None:
        return {"skipped": f"no execdeck script beside {sys.executable} (make install)"}
    compile_package()
    with tempfile.TemporaryDirectory(prefix="execdeck-b9n-") as tmp:
        entries, env = _session(Path(tmp))
        product = [str(script), "--entries", str(entries), "run", "bench:native", "true"]
        return _pairs(product, [sys.executable, "-c", PYTHON_BASELINE], runs, env)


def docker_skip_reason() -> str | None:
    """Why B9D cannot run here (no docker command, no daemon, no test image), or ``None``."""
    if shutil.which("docker") is None:
        return "no docker command"
    try:
        found = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "the Docker daemon did not answer within 20 s"
    if found.returncode != 0:
        return f"{IMAGE} is not available ({found.stderr.strip()[:200]}): run tests/docker/build-images.sh"
    return None


def run_b9d(runs: int = 10) -> dict[str, Any]:
    """Seconds of ``execdeck run bench:docker true`` vs ``docker run --rm IMAGE true``."""
    script = execdeck_script()
    if script is None:
        return {"skipped": f"no execdeck script beside {sys.executable} (make install)"}
    reason = docker_skip_reason()
    if reason:
        return {"skipped": reason}
    compile_package()
    with tempfile.TemporaryDirectory(prefix="execdeck-b9d-") as tmp:
        entries, env = _session(Path(tmp))
        product = [str(script), "--entries", str(entries), "run", "bench:docker", "true"]
        return _pairs(product, ["docker", "run", "--rm", IMAGE, "true"], runs, env)


if __name__ == "__main__":
    print(run_b9n())
