"""``execdeck check``: every problem of every entry file, ``file:line: id.field: message``."""

from __future__ import annotations

import argparse

from tui.cli.common import load
from tui.cli.output import say


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the files are clean, 2 when any problem (error or warning) was found."""
    result = load(args)
    for problem in result.problems:
        say(problem.format())
    executors = len(result.executors)
    summary = f"{len(result.files)} file(s), {len(result.entries)} entries, {executors} executor(s)"
    if result.problems:
        errors = len(result.errors)
        say(f"{summary}: {errors} error(s), {len(result.problems) - errors} warning(s)")
        return 2
    say(f"{summary}: no problems")
    return 0
