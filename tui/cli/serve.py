"""``execdeck serve``: the console in a browser, one console per visitor, for sandbox demos (``tui.serve``).

Prints the URL to share (the token in it) once, alone on stdout; everything else (what visitors may do,
the limits, one line per visitor session) goes to stderr. The access options (``--actor``...) are the
presenter's own: visitors always act as ``visitor:<session>`` in ``--visitor-scope``.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tui.cli.common import error
from tui.cli.output import STDERR, STDOUT
from tui.cli.policy_report import scope_warnings
from tui.core.entries.loader import load_entries
from tui.core.entries.paths import resolve_entry_paths
from tui.core.policy import Gate
from tui.core.records import resolve_records_path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Share the printed URL: its token lets a browser in once, for a signed cookie. Each visitor gets a console "
        "of their own acting as visitor:<session> in the visitor scope; the policies of that scope decide what "
        "they may get and run. --actor and the other access options are the presenter's, not the visitors'.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=8000, help="the port (default: 8000; 0: any free one)")
    parser.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                        help="read the token from FILE (default: a random one, made at start)")
    parser.add_argument("--visitor-scope", default="demo", metavar="GROUP",
                        help="the policy group visitors act in (default: demo)")
    parser.add_argument("--max-sessions", type=int, default=20, metavar="N",
                        help="visitor consoles at once, in all (default: 20)")
    parser.add_argument("--max-per-address", type=int, default=3, metavar="N",
                        help="visitor consoles at once from one client address (default: 3)")
    parser.add_argument("--idle-timeout", type=float, default=900.0, metavar="SECONDS",
                        help="end a console after this long without input from its browser (default: 900)")


def note(line: str) -> None:
    """One line for the presenter, on stderr."""
    STDERR.line(f"execdeck serve: {line}")


def run(args: argparse.Namespace) -> int:
    # Imported here: `execdeck --help` and the other subcommands never load aiohttp.
    from tui.serve.guard import TokenError, make_token, read_token_file
    from tui.serve.limits import Limits
    from tui.serve.server import DemoServer, ServeError
    from tui.serve.visitor import gettable, visitor_access

    try:
        limits = Limits(args.max_sessions, args.max_per_address, args.idle_timeout)
        token = read_token_file(args.token_file) if args.token_file else make_token()
    except (ValueError, TokenError) as err:
        error(str(err))
        return 2
    scope = args.visitor_scope.strip()
    if not scope:
        error("--visitor-scope needs a policy group, such as demo")
        return 2
    entries = resolve_entry_paths(args.entries)
    result = load_entries(entries)
    access = visitor_access("<session>", scope)
    gate = Gate(access, result.policies)
    allowed = gettable(gate, result.executors)
    if result.problems:
        note(f"{len(result.problems)} problem(s) in the entry files (see execdeck check)")
    for warning in scope_warnings(result, access):
        note(f"warning: {warning}: visitors will be refused everything")
    note(f"visitors act as visitor:<session> in scope {scope}: they may get {len(allowed)} of "
         f"{len(result.executors)} executors ({', '.join(allowed) or 'none'}); the Lua REPL is "
         + ("offered" if allowed else "not offered (no executor to get)"))
    note(f"up to {limits.max_sessions} consoles, {limits.max_per_address} per address, each ended after "
         f"{limits.idle_timeout:g} s without input; ctrl+c ends the demo and every visitor's console")
    server = DemoServer(token=token, entries=entries, records=resolve_records_path(), visitor_scope=scope,
                        limits=limits, host=args.host, port=args.port, log=note)

    def ready(url: str) -> None:
        note("share this URL (the token in it lets a browser in):")
        STDOUT.write(f"{url}\n".encode())

    try:
        asyncio.run(server.run(ready))
    except ServeError as err:
        error(str(err))
        return 1
    return 0
