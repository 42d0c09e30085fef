"""B10A and B10B (quality.md): the entries at scale, 5,000 native executors with two whitelisted commands
each in one file (about 460 KB of YAML).

B10A runs ``execdeck check`` on that file as a whole process against a whole process that only loads the
same file with PyYAML's C loader (``CSafeLoader``): validation, line marks and the depth bound may cost at
most as much again as the parse itself. B10B is in :func:`run_b10b`.
"""

from __future__ import annotations

import os
import sys
import tempfile
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
