"""``execdeck prune``: remove what ended runs left behind (the exited containers execdeck made, every
instance's), for every kind that can prune.

Looks where each kind's entries point and at its default place (for Docker: ``DOCKER_HOST``, else the
local socket, and every ``host`` of the loaded entries), as the console's prune does; or only at the
``--host`` places given. Running containers are never touched; ``--dry-run`` lists what would go. Exit 1
when a place could not be reached, else 0.
"""

from __future__ import annotations

import argparse
import sys

from tui.cli.common import error, load
from tui.core.engine import Engine
from tui.core.entries import LoadResult
from tui.core.errors import ExecError
from tui.core.executors import registry

#: Seconds a place may take to answer before it counts as unreachable.
CONNECT_TIMEOUT = 5.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    parser.add_argument(
        "--host", action="append", default=[], metavar="URL",
        help="a daemon URL (repeatable); default: DOCKER_HOST or the local socket, and the entries' hosts",
    )


def run(args: argparse.Namespace) -> int:
    if args.host:
        prunes = [kind.prune for kind in registry.kinds() if kind.prune is not None]
        places = [(prune, url) for prune in prunes for url in dict.fromkeys(args.host)]
    else:
        places = registry.places(load(args).executors, lambda kind: kind.prune)
    engine = Engine(LoadResult(), source="cli")
    failed = False
    total = 0
    try:
        for prune, place in places:
            try:
                leftovers = prune.remove(place, engine.scope, args.dry_run, CONNECT_TIMEOUT)
            except ExecError as err:
                error(err.message)
                failed = True
                continue
            except Exception as err:  # noqa: BLE001 - one place's failure must not stop the others
                error(f"{place}: {err}")
                failed = True
                continue
            verb = "would remove" if args.dry_run else "removed"
            for leftover in leftovers:
                print(f"{verb} {leftover.text}  on {place}")
            total += len(leftovers)
    finally:
        engine.shutdown()
    if total == 0 and not failed:
        print("nothing to prune")
    sys.stdout.flush()
    return 1 if failed else 0
