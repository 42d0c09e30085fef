"""B2P, B7P: B2 and B7 with an actor acting under 100 policies in scope, so every ``exec.get`` and
``exec.run`` of the product side is decided by the gate (the baseline sides are unchanged).

The policies are the costly kind, all in scope: 25 denies whose patterns match every check and whose
condition on the resource (a regular expression) fails, so it is evaluated on every check; 25 denies
with a failing condition on the actor (decided once per gate); 49 denies whose resource pattern never
matches; one allow at the end. A deny can decide at any time, so every one is looked at on every check.
"""

from __future__ import annotations

import time
import timeit
from pathlib import Path
from typing import Any

from benchmarks.pairs import measure_pairs, paired_result
from tui.core.entries.models import Location
from tui.core.policy import EXEC_RUN, Access, Actor, Condition, Gate, Policy
from tui.core.policy.match import compile_pattern

COUNT = 100


def bench_policies(count: int = COUNT) -> tuple[Access, tuple[Policy, ...]]:
    """The actor and the ``count`` policies in its scope (see the module docstring)."""
    where = Location(Path("bench"), 1)
    role = Condition(field="actor.meta.role", operator="eq", value="nobody")
    command = Condition(field="resource", operator="matches", value="^rm ", pattern=compile_pattern("^rm "))
    policies = [Policy(f"bench:deny_if_{i}", where, "deny", ("exec.*",), ("*",), (command if i % 2 else role,),
                       ("bench",)) for i in range(count // 2)]
    policies += [Policy(f"bench:deny_other_{i}", where, "deny", ("exec.run", "exec.get"), (f"never-{i} *",), (),
                        ("bench",)) for i in range(count - count // 2 - 1)]
    policies.append(Policy("bench:allow", where, "allow", ("*",), ("*",), (), ("bench",)))
    return Access(Actor("bench:actor", {"role": "ops"}), ("bench",)), tuple(policies)


def check_cost_us(samples: int = 2000) -> tuple[float, float]:
    """Microseconds for one ``exec.run`` decision over these policies: a new command (every one
    different), and one decided before (for information)."""
    access, policies = bench_policies()
    gate = Gate(access, policies)
    commands = iter([f"true {i}" for i in range(samples)])
    new = timeit.timeit(lambda: gate.require(EXEC_RUN, next(commands), {}), number=samples)
    again = timeit.timeit(lambda: gate.require(EXEC_RUN, "true 0", {}), number=samples)
    return round(new / samples * 1e6, 1), round(again / samples * 1e6, 2)


def policy_cost_ratio(count: int = 200, runs: int = 9) -> float:
    """B2's product with the 100 policies over B2's product without, paired: what the checks add, with
    the machine's noise (which moves B2's own ratio by 0.1 from run to run here) cancelled out."""
    from benchmarks.native import _engine

    engines = {True: _engine(policies=True), False: _engine()}

    def cycles(policies: bool) -> float:
        executor = engines[policies].get("bench:native")
        start = time.perf_counter()
        for _ in range(count):
            process = executor.exec("true")
            process.start()
            process.wait()
        return time.perf_counter() - start

    try:
        with_policies, without = measure_pairs(lambda: cycles(True), lambda: cycles(False), runs)
    finally:
        for engine in engines.values():
            engine.shutdown()
    return float(paired_result(with_policies, without, "s")["ratio"])


def run_b2p() -> dict[str, Any]:
    from benchmarks.native import run_b2

    result = run_b2(policies=True)
    result["check_us"], result["repeat_check_us"] = check_cost_us()
    result["vs_no_policies"] = policy_cost_ratio()
    return result


def run_b7p() -> dict[str, Any]:
    from benchmarks.b7_lua import run_b7

    return run_b7(policies=True)
