"""``execdeck show RUN``: a recorded run's output, stdout to stdout and stderr to stderr, bytes exact.

``RUN`` is a run id or a unique prefix of at least 4 characters. ``--info`` prints the record's
fields instead (``--json`` as JSON). When the output went over the recording cap, one line on stderr
after it says how much was not recorded. Exit 0, 1 for an unknown run or unreadable records.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from tui.cli.common import error
from tui.cli.history import add_records_option, open_records
from tui.cli.output import STDERR, say, write_out
from tui.core.records import RecordsError, RunRecord, format_duration


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN", help="a run id, or a unique prefix of at least 4 characters")
    add_records_option(parser)
    parser.add_argument("--info", action="store_true", help="print the record's fields instead of the output")
    parser.add_argument("--json", action="store_true", help="with --info: machine-readable fields")


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="milliseconds")


def info_lines(record: RunRecord) -> list[str]:
    """``field: value`` lines for ``--info``."""
    fields = [
        ("run", record.run_id), ("executor", f"{record.executor_id} ({record.kind})"), ("command", record.command),
        ("argv", json.dumps(list(record.argv))), ("work dir", record.work_dir or "-"),
        ("env names", ", ".join(record.env_names) or "-"), ("user", record.user), ("source", record.source),
        ("handle", record.handle or "-"), ("status", record.status), ("result", record.result_text),
        ("started", _when(record.started_at)), ("ended", _when(record.ended_at)),
        ("duration", format_duration(record.duration)),
        ("exit code", "-" if record.exit_code is None else str(record.exit_code)),
        ("signal", "-" if record.signal is None else str(record.signal)),
        ("timed out", "yes" if record.timed_out else "no"), ("out of memory", "yes" if record.oom_killed else "no"),
        ("error", record.error or "-"),
        ("stdout", f"{record.stdout_bytes} bytes, {record.stdout_lines} lines"),
        ("stderr", f"{record.stderr_bytes} bytes, {record.stderr_lines} lines"),
        ("output kept", f"{record.output_kept} bytes"
         + (f" (truncated: {record.output_dropped} bytes not recorded)" if record.truncated else "")),
    ]
    width = max(len(name) for name, _ in fields)
    return [f"{name + ':':<{width + 1}} {value}" for name, value in fields]


def run(args: argparse.Namespace) -> int:
    try:
        store = open_records(args)
        if store is None:
            error(f"no recorded run {args.run!r} (nothing recorded yet)")
            return 1
        record = store.resolve(args.run)
        if args.info:
            if args.json:
                say(json.dumps(record.to_json(), indent=2))
            else:
                say("\n".join(info_lines(record)))
            return 0
        # Chunk by chunk, unbuffered: keeps the interleaving when both streams go to one terminal. A closed
        # stdout ends the command (exit 141); a closed stderr only silences stderr.
        for stream, data in store.iter_output(record.run_id):
            if stream == "stdout":
                write_out(data)
            else:
                STDERR.write(data)
    except RecordsError as err:
        error(str(err))
        return 1
    if record.truncated:
        error(f"output truncated: {record.output_dropped} more bytes were not recorded (over the cap)")
    return 0
