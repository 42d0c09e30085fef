"""B7 (quality.md): 200 x ``exec("true")`` start and wait from Lua vs the same through the Python engine.

Both sides use one engine over the same native entry; the Lua side is a script run as ``execdeck lua``
runs one (a :class:`LocalLua`), so the figure is what the Lua boundary (argument checks, the glue
functions, lupa's calls) adds to each create, start and wait. B7W (information) runs the same script in
a Lua worker process, as the console's REPL does: there each create, start and wait is also a round trip
over the channel to the engine's process. Pairs alternate which side goes first; the ratio is the
median of the pair ratios (product over baseline).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.pairs import paired_result
from benchmarks.policies import bench_policies
from tui.core.engine import Engine
from tui.core.entries.models import Entry, LoadResult, Location
from tui.core.executors.native import KIND, NativeSpec
from tui.lua.exec_service import ExecService
from tui.lua.host import LocalLua, LuaHost, LuaWorker
from tui.lua.runtime import DEFAULT_MAX_MEMORY

SCRIPT = """
local exec = require("exec")
local executor = assert(exec.get("bench:native"))
for _ = 1, %d do
  local proc = assert(executor:exec("true"))
  assert(proc:start())
  local code = assert(proc:wait())
  if code ~= 0 then error("true exited " .. code) end
end
"""


def _engine(policies: bool = False) -> Engine:
    """An engine over one native entry; with ``policies``, acting under 100 of them (B7P)."""
    entry = Entry(id="bench:native", namespace="bench", name="native", kind=KIND.name,
                  location=Location(Path("bench")), spec=NativeSpec())
    if not policies:
        return Engine(LoadResult(entries=(entry,)), source="lua")
    access, rules = bench_policies()
    return Engine(LoadResult(entries=(entry,), policies=rules), source="lua", access=access)


def run_b7(count: int = 200, runs: int = 11, policies: bool = False) -> dict[str, Any]:
    """Seconds for ``count`` create-start-wait cycles of ``true`` from a script, and from Python; with
    ``policies``, both sides act under 100 policies in scope."""
    return _measure(LocalLua, count, runs, policies)


def run_b7_worker(count: int = 200, runs: int = 11) -> dict[str, Any]:
    """The same from a Lua worker process (the console's REPL)."""
    return _measure(LuaWorker, count, runs, False)


def _measure(host: type[LuaHost], count: int, runs: int, policies: bool) -> dict[str, Any]:
    engine = _engine(policies)
    service = ExecService(engine)
    worker = host(service, {"max_memory": DEFAULT_MAX_MEMORY})
    script = SCRIPT % count

    def product() -> float:
        start = time.perf_counter()
        outcome = worker.command("run_chunk", script, "=b7")
        elapsed = time.perf_counter() - start
        if outcome[0] != "ok":
            raise RuntimeError(f"the Lua side failed: {outcome}")
        return elapsed

    def baseline() -> float:
        start = time.perf_counter()
        executor = engine.get("bench:native")
        for _ in range(count):
            process = executor.exec("true", source="lua")
            process.start()
            status = process.wait()
            if status.lua_code != 0:
                raise RuntimeError(f"true exited {status.lua_code}")
        return time.perf_counter() - start

    products: list[float] = []
    baselines: list[float] = []
    try:
        product()  # warm-up: first imports, first spawn, the reactor thread
        baseline()
        for run in range(runs):
            if run % 2 == 0:
                products.append(product())
                baselines.append(baseline())
            else:
                baselines.append(baseline())
                products.append(product())
    finally:
        worker.kill()
        service.close()
        engine.shutdown()
    return paired_result(products, baselines, "s")


if __name__ == "__main__":
    print(run_b7())
