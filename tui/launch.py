"""The ``execdeck`` command's entry point (and ``python -m tui``'s): the command line, with the cyclic
garbage collector paused while it starts.

A start allocates some hundred thousand objects (modules, functions, classes) and almost no garbage; the
collector, run every 700 allocations, walked them all again and again: measured with callgrind, a twentieth
of a short ``execdeck run``. The command line (:mod:`tui.cli`) freezes what the start made (moved out of the collector's
sight for good: it lives as long as the process) and turns the collector back on before any subcommand runs.
"""

from __future__ import annotations

import gc
from typing import NoReturn


def script() -> NoReturn:
    gc.disable()
    from tui.cli import script as command_line

    command_line()
