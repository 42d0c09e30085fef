"""B7 (quality.md): 200 x ``exec("true")`` start and wait from Lua vs the same through the Python engine.

Both sides use one engine over the same native entry; the Lua side is a script in a sandbox with the
``exec`` module, so the figure is what the Lua boundary (argument checks, the glue functions, lupa's
calls) adds to each create, start and wait. Pairs alternate which side goes first; the ratio is the
median of the pair ratios (product over baseline).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.pairs import paired_result
from tui.core.engine import Engine
from tui.core.entries.models import Entry, LoadResult, Location
from tui.core.executors.native import KIND, NativeSpec
from tui.lua.exec_module import install_exec
from tui.lua.runtime import LuaSandbox

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


def _engine() -> Engine:
    entry = Entry(id="bench:native", namespace="bench", name="native", kind=KIND.name,
                  location=Location(Path("bench")), spec=NativeSpec())
    return Engine(LoadResult(entries=(entry,)), source="lua")


def run_b7(count: int = 200, runs: int = 11) -> dict[str, Any]:
    """Seconds for ``count`` create-start-wait cycles of ``true`` from Lua, and from Python."""
    engine = _engine()
    sandbox = LuaSandbox()
    binding = install_exec(sandbox, engine)
    script = SCRIPT % count

    def product() -> float:
        start = time.perf_counter()
        sandbox.run_chunk(script, "=b7")
        return time.perf_counter() - start

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
        binding.close()
        engine.shutdown()
    return paired_result(products, baselines, "s")


if __name__ == "__main__":
    print(run_b7())
