"""``execdeck prune``: remove the exited containers that execdeck made (every instance's).

Looks at the default daemon (``DOCKER_HOST``, else the local socket) and at every ``host`` of the
loaded docker entries, or only at the ``--host`` URLs given. Running containers are never touched;
``--dry-run`` lists what would go. Exit 1 when a daemon could not be reached, else 0.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.cli.common import error, load
from tui.core.entries.models import DockerSpec
from tui.core.errors import ExecError
from tui.core.executors.docker_client import DockerHost, resolve_host
from tui.core.executors.docker_owner import prune
from tui.core.labels import LABEL_ENTRY


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")
    parser.add_argument(
        "--host", action="append", default=[], metavar="URL",
        help="a daemon URL (repeatable); default: DOCKER_HOST or the local socket, and the docker entries' hosts",
    )


def _hosts(args: argparse.Namespace) -> list[str]:
    if args.host:
        return list(dict.fromkeys(args.host))
    hosts = [resolve_host("")]
    for entry in load(args).executors:
        if isinstance(entry.spec, DockerSpec):
            hosts.append(resolve_host(entry.spec.host))
    return list(dict.fromkeys(hosts))


def _describe(container: dict[str, Any]) -> str:
    names = ",".join(n.lstrip("/") for n in container.get("Names") or [])
    entry = (container.get("Labels") or {}).get(LABEL_ENTRY, "?")
    return f"{container['Id'][:12]}  {names}  {entry}  {container.get('Status', '')}".rstrip()


def run(args: argparse.Namespace) -> int:
    failed = False
    total = 0
    for url in _hosts(args):
        host = DockerHost(url)
        try:
            containers = prune(host.client(), dry_run=args.dry_run)
        except ExecError as err:
            error(err.message)
            failed = True
            continue
        except Exception as err:  # noqa: BLE001 - one host's failure must not stop the others
            error(f"{url}: {err}")
            failed = True
            continue
        finally:
            host.close()
        verb = "would remove" if args.dry_run else "removed"
        for container in containers:
            print(f"{verb} {_describe(container)}  on {url}")
        total += len(containers)
    if total == 0 and not failed:
        print("nothing to prune")
    sys.stdout.flush()
    return 1 if failed else 0
