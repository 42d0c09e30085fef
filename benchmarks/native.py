"""B1, B2, B3 (quality.md): the native engine against plain ``subprocess`` in the same run.

Each figure alternates product and baseline and reports the median of the pair ratios, so a noisy
machine slows both sides of a pair alike. Nine pairs: on a small virtual machine single pairs of
B1 and B2 ranged over +-20%, and the median of five still moved by 0.1 from run to run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.pairs import measure_pairs, paired_result
from benchmarks.policies import bench_policies
from tui.core.engine import Engine
from tui.core.entries.models import Entry, LoadResult, Location
from tui.core.executors.native import KIND, NativeSpec

MIB = 1024 * 1024


def _engine(policies: bool = False) -> Engine:
    """An engine over one native entry; with ``policies``, acting under 100 of them (B2P)."""
    entry = Entry(id="bench:native", namespace="bench", name="native", kind=KIND.name,
                  location=Location(Path("bench")), spec=NativeSpec())
    if not policies:
        return Engine(LoadResult(entries=(entry,)))
    access, rules = bench_policies()
    return Engine(LoadResult(entries=(entry,), policies=rules), access=access)


def stream_through_reader(engine: Engine, size: int) -> float:
    """B1's product: ``size`` bytes of stdout read through a Process reader, in GB/s (B1R reuses it)."""
    process = engine.get("bench:native").exec(f"head -c {size} /dev/zero")
    reader = process.open_reader("stdout")
    start = time.perf_counter()
    process.start()
    total = 0
    while (chunk := reader.read(65536)) is not None:
        total += len(chunk)
    elapsed = time.perf_counter() - start
    process.wait()
    assert total == size
    return size / elapsed / 1e9


def run_b1(mib: int = 256, runs: int = 9) -> dict[str, Any]:
    """Throughput of 256 MiB of stdout through a Process reader vs a raw pipe read loop (GB/s)."""
    size = mib * MIB
    engine = _engine()

    def product() -> float:
        return stream_through_reader(engine, size)

    def baseline() -> float:
        start = time.perf_counter()
        child = subprocess.Popen(["head", "-c", str(size), "/dev/zero"], stdout=subprocess.PIPE)
        assert child.stdout is not None
        total = 0
        while chunk := child.stdout.read1(65536):
            total += len(chunk)
        child.wait()
        elapsed = time.perf_counter() - start
        assert total == size
        return size / elapsed / 1e9

    try:
        products, baselines = measure_pairs(product, baseline, runs)
    finally:
        engine.shutdown()
    return paired_result(products, baselines, "GB/s")


def run_b2(count: int = 200, runs: int = 9, policies: bool = False) -> dict[str, Any]:
    """Time of 200 create-start-wait cycles of ``true`` vs ``subprocess.run(["true"])`` (s)."""
    engine = _engine(policies)

    def product() -> float:
        executor = engine.get("bench:native")
        start = time.perf_counter()
        for _ in range(count):
            process = executor.exec("true")
            process.start()
            process.wait()
        return time.perf_counter() - start

    def baseline() -> float:
        start = time.perf_counter()
        for _ in range(count):
            subprocess.run(["true"], check=True)
        return time.perf_counter() - start

    try:
        products, baselines = measure_pairs(product, baseline, runs)
    finally:
        engine.shutdown()
    return paired_result(products, baselines, "s")


_B3_PRODUCT = """
import resource, time, sys, json
from benchmarks.native import _engine
engine = _engine()
process = engine.get("bench:native").exec("head -c %d /dev/zero")
reader = process.open_reader("stdout")
process.start()
total = 0
while (chunk := reader.read(65536)) is not None:
    total += len(chunk)
    time.sleep(0.0002)  # the slow reader of B3
process.wait()
engine.shutdown()
print(json.dumps({"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "total": total}))
"""

_B3_BASELINE = """
import resource, json, importlib.util
import tui.core.engine, tui.core.executors.native
if importlib.util.find_spec("tui.ui.app") is not None:
    import tui.ui.app
print(json.dumps({"rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_b3(gib: int = 1) -> dict[str, Any]:
    """Peak RSS (MiB) while a process writes 1 GiB and one reader reads slowly, vs the idle console."""
    size = gib * 1024 * MIB
    root = Path(__file__).resolve().parent.parent

    def measure(code: str) -> dict[str, int]:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
        result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    product = measure(_B3_PRODUCT % size)
    assert product["total"] == size
    baseline = measure(_B3_BASELINE)
    product_mib = product["rss"] / 1024
    baseline_mib = baseline["rss"] / 1024
    return {"ratio": round(product_mib / baseline_mib, 3), "product": round(product_mib, 1),
            "baseline": round(baseline_mib, 1), "over_baseline_mib": round(product_mib - baseline_mib, 1),
            "unit": "MiB", "runs": 1}
