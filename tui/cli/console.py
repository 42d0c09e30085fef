"""``execdeck`` / ``execdeck console``: the Textual console, imported only here."""

from __future__ import annotations

import argparse
import importlib
import importlib.util

from tui.cli.common import load


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("tui.ui.app") is not None:
        app_module = importlib.import_module("tui.ui.app")
        code: int = app_module.run_console(args)
        return code
    result = load(args)
    print("execdeck: the console is not built yet; the executors are:")
    for entry in result.executors:
        print(f"  {entry.id}  ({entry.kind}, {len(entry.whitelist) or 'any'} commands)")
    print("Run one with: execdeck run ID 'COMMAND'   (see `execdeck --help`)")
    return 0
