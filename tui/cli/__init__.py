"""The command line: ``execdeck [check|list|run|lua|prune|...]``; no argument opens the console.

Parsing and dispatch only; each subcommand lives in its own module and the console is imported
lazily, so ``execdeck run`` never loads Textual. Errors are one line on stderr, never a traceback.
The common form of ``execdeck run`` is read without argparse (:func:`quick_run_args`); every other
form goes through the parser of :mod:`tui.cli.parser`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NoReturn

from tui.cli.access import choose, half_set_notice, resolve_access
from tui.cli.common import Interrupted, error
from tui.cli.output import EXIT_STDOUT_CLOSED, StdoutClosed, flush_print, stdout_closed_by
from tui.core.errors import ExecError
from tui.core.policy import PermissionDenied

if TYPE_CHECKING:
    import argparse

# subcommand -> (module, help). Each module has ``run(args) -> int`` and may have
# ``configure(parser)`` for its own options.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "console": ("tui.cli.console", "open the console (the default)"),
    "check": ("tui.cli.check", "validate the entry files; exit 2 when there are problems"),
    "list": ("tui.cli.listing", "list the executors with kind and status"),
    "run": ("tui.cli.run", "run one command through one executor, streaming its output"),
    "lua": ("tui.cli.lua", "run a Lua script with the exec module"),
    "prune": ("tui.cli.prune", "remove exited containers that execdeck made"),
    "history": ("tui.cli.history", "list recorded runs"),
    "show": ("tui.cli.show", "print a recorded run's output"),
    "serve": ("tui.cli.serve", "serve the console in a browser for sandbox demos (token, limits, policies)"),
}


def describe_error(err: ExecError) -> str:
    """The message, plus any detail (the id, the command...) that the message does not already name.

    A denial names the action, the resource, the actor and what decided instead.
    """
    if isinstance(err, PermissionDenied):
        return err.explain()
    extra = [f"{key} {value}" for key, value in err.details.items() if value and value not in err.message]
    return f"{err.message} ({', '.join(extra)})" if extra else err.message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: the process's arguments). Returns the exit code."""
    return _main(list(sys.argv[1:] if argv is None else argv))[1]


def script() -> NoReturn:
    """The ``execdeck`` command: :func:`main`, then the exit.

    A subcommand other than the console leaves with ``os._exit`` once it has returned: by then its runs
    have ended, its records are closed and its output is written (straight to the descriptors, and
    ``print``'s buffer is flushed here), and Python's own exit, which clears every module one by one,
    took a third of a short ``execdeck run``. The console exits the normal way: Textual and the REPL may
    leave work to it (``atexit``, finalizers).
    """
    name, code = _main(sys.argv[1:])
    if name in _NORMAL_EXIT:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a reader that went away: nothing more to say to it
            stream.flush()
    os._exit(code)


def _resume_collector() -> None:
    """The collector back on, if :mod:`tui.launch` paused it, with what the start made frozen (see there)."""
    import gc

    if not gc.isenabled():
        gc.freeze()
        gc.enable()


#: The subcommands that leave through Python's normal exit (see :func:`script`).
_NORMAL_EXIT = frozenset({"console"})


def _main(words: list[str]) -> tuple[str, int]:
    """The subcommand that ran, and its exit code."""
    args = quick_run_args(words)
    if args is None:
        from tui.cli.parser import parse_words

        args = parse_words(words)
    name: str = args.subcommand or "console"
    return name, _dispatch(name, args)


#: The options of ``run`` that :func:`quick_run_args` reads (each takes one value), by attribute.
_RUN_OPTIONS = {"--entries": "entries", "--env": "env", "--work-dir": "work_dir", "--timeout": "timeout"}


def quick_run_args(words: list[str]) -> Any:
    """The parse of ``[--entries P]... run [--entries P] [--env K=V] [--work-dir D] [--timeout S] ID COMMAND...``
    (options as ``--name value`` or ``--name=value``) without argparse: loading it and building the parser
    cost a short ``execdeck run`` a twentieth of its instructions. ``None`` for any other form (help, an
    abbreviated option, a value that looks like an option, a bad number...), which the parser then reads
    and, if need be, explains. The result has every attribute the parser's would have for the same words."""
    args = SimpleNamespace(
        subcommand="run", global_entries=[], entries=[], env=[], work_dir=None, timeout=None,
        global_actor=None, global_actor_meta=[], global_scope=[], global_strict=False,
        actor=None, actor_meta=[], scope=[], strict=False,
    )
    at = 0
    before = True  # before the word `run`
    while at < len(words):
        word = words[at]
        if before and word == "run":
            before = False
            at += 1
            continue
        name, equals, value = word.partition("=")
        option = _RUN_OPTIONS.get(name)
        if option is None or (before and option != "entries"):
            break
        if not equals:
            if at + 1 >= len(words):
                return None
            value = words[at + 1]
            at += 1
        at += 1
        if value.startswith("-"):
            return None
        if option == "entries":
            (args.global_entries if before else args.entries).append(value)
        elif option == "env":
            args.env.append(value)
        elif option == "work_dir":
            args.work_dir = value
        else:
            try:
                args.timeout = float(value)
            except ValueError:
                return None
    if before or at >= len(words) or words[at].startswith("-"):
        return None
    args.id = words[at]
    args.command = words[at + 1:]
    if args.command[:1] == ["--"]:
        del args.command[0]  # as argparse does with a "--" right after the id
    return args


def _dispatch(name: str, args: argparse.Namespace) -> int:
    # `--entries` given before the subcommand counts too.
    args.entries = list(args.global_entries) + list(getattr(args, "entries", []))
    try:
        args.access = resolve_access(args)
    except ValueError as err:
        error(str(err))
        return 2
    choose(args.access)
    notice = half_set_notice(args.access)
    if notice and name in ("console", "run", "lua"):  # where runs start (check says it in its report)
        error(notice)
    module_name = SUBCOMMANDS[name][0]
    try:
        module = importlib.import_module(module_name)
        _resume_collector()
        code: int = module.run(args)
        flush_print()
        return code
    except StdoutClosed:
        # Its reader went away (`| head`): end as a Unix tool does on its next write, quietly.
        return EXIT_STDOUT_CLOSED
    except ExecError as err:
        error(describe_error(err))
        return 1
    except Interrupted as sig:
        return 128 + sig.signum
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # noqa: BLE001 - no traceback ever reaches an operator
        if stdout_closed_by(err):
            return EXIT_STDOUT_CLOSED  # a print() into the closed pipe
        error(f"internal error: {type(err).__name__}: {err} (please report it)")
        return 70
