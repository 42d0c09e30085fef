"""B10A and B10B (quality.md): the entries at scale, 5,000 native executors with two whitelisted commands
each in one file (about 460 KB of YAML).

B10A runs ``execdeck check`` on that file as a whole process against a whole process that only loads the
same file with PyYAML's C loader (``CSafeLoader``): validation, line marks and the depth bound may cost at
most as much again as the parse itself. B10B starts the console on that file and on one of three executors,
and times each to the first paint of its executor list: the list must cost what is on screen.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.command_line import WARM_UP, compile_package, execdeck_script, timed
from benchmarks.pairs import measure_pairs, paired_result

EXECUTORS = 5000


def write_scale_entries(path: Path, count: int = EXECUTORS) -> Path:
    """An entry file of ``count`` native executors, two whitelisted commands each (``scale:nNNNN``)."""
    lines = ["namespace: scale", "entries:"]
    for i in range(count):
        lines += [f"  - name: n{i:04d}", "    kind: exec.native", "    command_whitelist:",
                  "      - uname -a", f"      - echo {i}"]
    path.write_text("\n".join(lines) + "\n")
    return path


C_LOAD = """import sys, yaml
with open(sys.argv[1], encoding="utf-8") as handle:
    yaml.load(handle, Loader=yaml.CSafeLoader)
"""


def run_b10a(runs: int = 10) -> dict[str, Any]:
    """Seconds of ``execdeck check`` on 5,000 executors vs loading the file with ``CSafeLoader``.

    The product parses the file every time (``EXECDECK_CACHE=off``): that is what the target is about.
    ``cached_ratio`` is the same check answered from the entries cache, for information.
    """
    script = execdeck_script()
    if script is None:
        return {"skipped": f"no execdeck script beside {sys.executable} (make install)"}
    compile_package()
    with tempfile.TemporaryDirectory(prefix="execdeck-b10a-") as tmp:
        entries = write_scale_entries(Path(tmp) / "scale.yaml")
        env = {**os.environ, "EXECDECK_RECORDS": "off", "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        check = [str(script), "--entries", str(entries), "check"]
        product = timed(check, {**env, "EXECDECK_CACHE": "off"})
        cached = timed(check, env)
        baseline = timed([sys.executable, "-c", C_LOAD, str(entries)], env)
        cached()  # fills the cache
        measure_pairs(product, baseline, WARM_UP, alternate=True)
        products, baselines = measure_pairs(product, baseline, runs, alternate=True)
        from_cache, baselines_too = measure_pairs(cached, baseline, runs, alternate=True)
        size_kb = round(entries.stat().st_size / 1000)
    return {**paired_result(products, baselines, "s"), "size_kb": size_kb,
            "cached_ratio": paired_result(from_cache, baselines_too, "s")["ratio"]}


# The console, headless, until the executor tree first paints a line with an executor on it; the time is
# taken there, in the console's process, and that process then ends at once (a native-only file: nothing
# of it outlives it). Argument: the entry file.
FIRST_PAINT = """
import os, sys, time
from pathlib import Path
from tui.ui.app import ExecdeckApp
from tui.ui.widgets.executor_list import ExecutorTree

render_line = ExecutorTree.render_line

def watched(self, y):
    strip = render_line(self, y)
    if self.root.children and strip.cell_length and "scale" not in strip.text and strip.text.strip():
        print(time.time(), flush=True)
        os._exit(0)
    return strip

ExecutorTree.render_line = watched
ExecdeckApp([Path(sys.argv[1])], sweep_orphans=False).run(headless=True, size=(120, 40))
print("the executor list was never painted", file=sys.stderr)
sys.exit(1)
"""


def first_paint(entries: Path, env: dict[str, str]) -> float:
    """Seconds from starting the console on ``entries`` to the first paint of an executor in its list."""
    start = time.time()
    done = subprocess.run([sys.executable, "-c", FIRST_PAINT, str(entries)], env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the console on {entries} exited {done.returncode}: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1]) - start


def run_b10b(runs: int = 8) -> dict[str, Any]:
    """Seconds to the first paint of the executor list: 5,000 executors vs 3, the same console.

    The console starts as an operator's does, with the entries cache warm (it was opened before on the
    same files); ``uncached_ratio`` is the same with every file parsed at the start, for information.
    """
    compile_package()
    with tempfile.TemporaryDirectory(prefix="execdeck-b10b-") as tmp:
        folder = Path(tmp)
        many = write_scale_entries(folder / "many.yaml")
        few = write_scale_entries(folder / "few.yaml", count=3)
        env = {**os.environ, "EXECDECK_RECORDS": str(folder / "runs.sqlite3"), "XDG_CACHE_HOME": str(folder / "cache"),
               "XDG_CONFIG_HOME": str(folder / "config"), "XDG_DATA_HOME": str(folder / "data")}
        uncached = {**env, "EXECDECK_CACHE": "off"}
        measure_pairs(lambda: first_paint(many, env), lambda: first_paint(few, env), WARM_UP, alternate=True)
        products, baselines = measure_pairs(lambda: first_paint(many, env), lambda: first_paint(few, env), runs,
                                            alternate=True)
        cold, cold_baselines = measure_pairs(lambda: first_paint(many, uncached), lambda: first_paint(few, uncached),
                                             runs, alternate=True)
    return {**paired_result(products, baselines, "s"),
            "uncached_ratio": paired_result(cold, cold_baselines, "s")["ratio"]}
