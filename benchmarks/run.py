"""``make bench``: every benchmark of quality.md, one line per figure that says whether its target is
met, JSON in results.json (``target_met`` per benchmark).

A benchmark whose prerequisite is missing (no Docker daemon) is reported as skipped with the reason.
``python -m benchmarks.run B1 B3`` runs only the named ones.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# id -> (module, function, target description, whether a result meets the target: None for information)
BENCHMARKS: dict[str, tuple[str, str, str, Callable[[dict[str, Any]], bool] | None]] = {
    "B1": ("benchmarks.native", "run_b1", "throughput ratio >= 0.8", lambda r: r["ratio"] >= 0.8),
    "B1R": ("benchmarks.records", "run_b1_recording", "recording costs <= 10% of B1 (ratio >= 0.9)",
            lambda r: r["ratio"] >= 0.9),
    "B2": ("benchmarks.native", "run_b2", "time ratio <= 1.3", lambda r: r["ratio"] <= 1.3),
    "B3": ("benchmarks.native", "run_b3", "< 100 MiB over baseline", lambda r: r["over_baseline_mib"] < 100),
    "B4": ("benchmarks.b4_b5_docker", "run_b4", "time ratio <= 0.95", lambda r: r["ratio"] <= 0.95),
    "B5": ("benchmarks.b4_b5_docker", "run_b5", "throughput ratio >= 0.8", lambda r: r["ratio"] >= 0.8),
    "B6": ("benchmarks.b6_pane", "run_b6", "lines/s ratio >= 1.0, key p95 < 100 ms",
           lambda r: r["ratio"] >= 1.0 and r["key_p95_ms"] < 100),
    "B6A": ("benchmarks.b6_app", "run_b6_app", "whole console, 2,000,000 lines: key p95 < 100 ms, every key answered",
            lambda r: r["key_p95_ms"] < 100 and r["unanswered"] == 0),
    "B7": ("benchmarks.b7_lua", "run_b7", "time ratio <= 1.2", lambda r: r["ratio"] <= 1.2),
    "B7W": ("benchmarks.b7_lua", "run_b7_worker", "the REPL's worker process (information)", None),
    "B9N": ("benchmarks.command_line", "run_b9n", "execdeck run of native true: time ratio <= 2.0",
            lambda r: r["ratio"] <= 2.0),
    "B9D": ("benchmarks.command_line", "run_b9d", "execdeck run of a container's true: time ratio <= 1.2",
            lambda r: r["ratio"] <= 1.2),
    "B10A": ("benchmarks.scale", "run_b10a", "execdeck check on 5,000 executors: time ratio <= 2.0",
             lambda r: r["ratio"] <= 2.0),
    "B10B": ("benchmarks.scale", "run_b10b", "the console's executor list, 5,000 executors vs 3: time ratio <= 1.5",
             lambda r: r["ratio"] <= 1.5),
    "B2P": ("benchmarks.policies", "run_b2p", "B2 under 100 policies in scope: time ratio <= 1.3",
            lambda r: r["ratio"] <= 1.3),
    "B7P": ("benchmarks.policies", "run_b7p", "B7 under 100 policies in scope: time ratio <= 1.2",
            lambda r: r["ratio"] <= 1.2),
    "BSV": ("benchmarks.serve", "run_bsv", "a served visitor's console: time to the list, memory (information)",
            None),
}

RESULTS = Path(__file__).resolve().parent / "results.json"


def _load(module: str, function: str) -> Callable[[], dict[str, Any]] | str:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name == module:
            return f"not built yet ({module} is missing)"
        raise
    fn: Callable[[], dict[str, Any]] = getattr(mod, function)
    return fn


def main(argv: list[str]) -> int:
    chosen = [a.upper() for a in argv] or list(BENCHMARKS)
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() and argv else {}
    failed = False
    for bench_id in chosen:
        module, function, target, meets = BENCHMARKS[bench_id]
        fn = _load(module, function)
        if isinstance(fn, str):
            result: dict[str, Any] = {"skipped": fn}
        else:
            try:
                result = fn()
            except Exception as err:  # noqa: BLE001 - one broken benchmark must not hide the others
                traceback.print_exc()
                result = {"error": f"{type(err).__name__}: {err}"}
                failed = True
        if "skipped" in result:
            print(f"{bench_id}: skipped: {result['skipped']}", flush=True)
        elif "error" in result:
            print(f"{bench_id}: error: {result['error']}", flush=True)
        else:
            verdict = f"(target: {target})"
            if meets is not None:
                result["target_met"] = met = meets(result)
                verdict = f"(target: {target}: {'met' if met else 'NOT MET'})"
            if "ratio" not in result:
                figures = " ".join(f"{k}={v}" for k, v in result.items() if k != "target_met")
                print(f"{bench_id}: {figures} {verdict}", flush=True)
            else:
                extra = "".join(f" {k}={result[k]}" for k in ("over_baseline_mib", "key_p95_ms", "check_us",
                                                                  "repeat_check_us", "vs_no_policies", "cached_ratio",
                                                                  "uncached_ratio") if k in result)
                print(f"{bench_id}: ratio={result['ratio']} product={result['product']} {result['unit']} "
                      f"baseline={result['baseline']} {result['unit']}{extra} runs={result['runs']} {verdict}",
                      flush=True)
        results[bench_id] = result
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
