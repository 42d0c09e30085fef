"""The command line: ``execdeck [check|list|run|lua|prune|...]``; no argument opens the console.

Parsing and dispatch only; each subcommand lives in its own module and the console is imported
lazily, so ``execdeck run`` never loads Textual. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from tui.cli.access import add_access_options, choose, half_set_notice, resolve_access
from tui.cli.common import Interrupted, add_entries_option, error
from tui.cli.output import EXIT_STDOUT_CLOSED, StdoutClosed, flush_print, stdout_closed_by
from tui.core.errors import ExecError
from tui.core.policy import PermissionDenied

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


def _configure_run(parser: argparse.ArgumentParser) -> None:
    parser.usage = "execdeck run [--env K=V] [--work-dir DIR] [--timeout SECONDS] ID COMMAND..."
    parser.epilog = (
        "Options go before ID; everything after ID is the command: one string (quoted), or several words, "
        "which are joined back into one string (words with spaces are quoted). The whitelist matches that "
        "string exactly."
    )
    parser.add_argument("--env", action="append", default=[], metavar="K=V", help="extra environment (repeatable)")
    parser.add_argument("--work-dir", default=None, metavar="DIR")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS")
    parser.add_argument("id", help="executor id, namespace:name")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command")


def _configure_list(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


_BUILTIN_OPTIONS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "run": _configure_run,
    "list": _configure_list,
}


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal's width: left to find it, it imports shutil (and with it
    bz2 and lzma) for every option added, whether help is printed or not."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


def _columns() -> int:
    """``shutil.get_terminal_size().columns``, written out: ``$COLUMNS``, else the terminal's, else 80."""
    with contextlib.suppress(KeyError, ValueError):
        if (columns := int(os.environ["COLUMNS"])) > 0:
            return columns
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if (columns := os.get_terminal_size(sys.__stdout__.fileno()).columns) > 0:  # type: ignore[union-attr]
            return columns
    return 80


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        error(message)
        raise SystemExit(2)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser. Only the ``chosen`` subcommand gets its options (and only its module is imported for
    them); the others are listed, bare: building every subcommand's options cost ``execdeck run`` more
    than its whole run, and their modules would load the Docker SDK, lupa or Textual. Parse the words
    again with the subcommand found when it is not the one guessed (:func:`main` does)."""
    parser = _Parser(prog="execdeck", description="A terminal console for command executors.")
    add_entries_option(parser, dest="global_entries")
    add_access_options(parser, prefix="global_")
    # `prog` given: argparse would otherwise build a help formatter to work it out (importing shutil).
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=_Parser, prog="execdeck")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if (chosen is None or name == chosen) and importlib.util.find_spec(module_name) is None:
            continue  # a capability not installed in this build
        child = sub.add_parser(name, help=help_text, description=help_text)
        if name != chosen:
            continue
        add_entries_option(child)
        add_access_options(child)
        if name in _BUILTIN_OPTIONS:
            _BUILTIN_OPTIONS[name](child)
        else:
            module = importlib.import_module(module_name)
            configure = getattr(module, "configure", None)
            if configure is not None:
                configure(child)
    return parser


def parse_words(words: list[str]) -> argparse.Namespace:
    """The parsed command line. The subcommand is guessed as the first word that names one; when a
    path or a value had such a name (``--entries check run ...``), the words are parsed again for the
    subcommand found."""
    chosen = next((w for w in words if w in SUBCOMMANDS), None)
    args, extra = build_parser(chosen).parse_known_args(words)
    if args.subcommand == chosen and not extra:
        return args
    return build_parser(args.subcommand).parse_args(words)  # with its options, or to say what is wrong


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


#: The subcommands that leave through Python's normal exit (see :func:`script`).
_NORMAL_EXIT = frozenset({"console"})


def _main(words: list[str]) -> tuple[str, int]:
    """The subcommand that ran, and its exit code."""
    args = parse_words(words)
    name: str = args.subcommand or "console"
    return name, _dispatch(name, args)


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
