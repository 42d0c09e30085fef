"""``execdeck check``: every problem of every entry file, ``file:line: id.field: message``; with an actor
or a scope, the policy dry run of every executor and whitelisted command too."""

from __future__ import annotations

import argparse
import json

from tui.cli.common import load
from tui.cli.output import say
from tui.cli.policy_report import print_dry_run, report_json
from tui.core.policy import Access


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output (problems and the dry run)")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the files are clean, 2 when any problem (error or warning) was found."""
    result = load(args)
    access: Access = getattr(args, "access", None) or Access()
    code = 2 if result.problems else 0
    if getattr(args, "json", False):
        say(json.dumps(report_json(result, access), indent=2))
        return code
    for problem in result.problems:
        say(problem.format())
    executors = len(result.executors)
    summary = f"{len(result.files)} file(s), {len(result.entries)} entries, {executors} executor(s)"
    if result.problems:
        errors = len(result.errors)
        say(f"{summary}: {errors} error(s), {len(result.problems) - errors} warning(s)")
    else:
        say(f"{summary}: no problems")
    if access != Access():
        print_dry_run(result, access)
    return code
