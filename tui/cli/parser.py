"""The command line's parser (argparse), for every form that :func:`tui.cli.quick_run_args` does not take.

Only the subcommand named gets its options, and only its module is imported for them (see
:func:`build_parser`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

from tui.cli import SUBCOMMANDS
from tui.cli.access import add_access_options
from tui.cli.common import add_entries_option, error


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


