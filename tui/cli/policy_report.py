"""The policy dry run of ``execdeck check --actor ID --scope G``: for every executor and every whitelisted
command, whether that actor may get it and run it, and which policy decided. Nothing is started."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tui.cli.access import half_set_notice
from tui.cli.output import say
from tui.core.entries.fields import did_you_mean
from tui.core.entries.models import LoadResult
from tui.core.policy import EXEC_GET, EXEC_RUN, Access, Decision, Gate
from tui.core.structs import record

#: Shown for an executor without a whitelist: its commands cannot be listed ahead.
ANY_COMMAND = "(any command)"


@record(frozen=True)
class Row:
    """One line of the dry run. ``decision`` is ``None`` for :data:`ANY_COMMAND`."""

    executor: str
    action: str
    command: str
    decision: Decision | None


def dry_run(result: LoadResult, access: Access) -> Iterator[Row]:
    """The rows, executor by executor in file order: its ``exec.get``, then each whitelisted command."""
    gate = Gate(access, result.policies)
    for entry in result.executors:
        decided = gate.entry_access(entry)
        yield Row(entry.id, EXEC_GET, "", decided.get)
        if not entry.whitelist:
            yield Row(entry.id, EXEC_RUN, ANY_COMMAND, None)
        for command, decision in decided.commands.items():
            yield Row(entry.id, EXEC_RUN, command, decision)


def scope_warnings(result: LoadResult, access: Access) -> list[str]:
    """A scope group that no policy is in is almost always a typo: it would deny everything."""
    known = sorted({group for policy in result.policies for group in policy.groups})
    warnings = []
    for group in access.scope:
        if group not in known:
            hint = did_you_mean(group, known)
            warnings.append(f"no policy is in group '{group}'" + (f" ({hint})" if hint else ""))
    return warnings


def print_dry_run(result: LoadResult, access: Access) -> None:
    """The dry run as an aligned table: ``allowed  run  app:shell › echo hi  by app:demo_run``."""
    say(f"\npolicy dry run for {access.describe()}")
    notice = half_set_notice(access)
    for line in ([notice] if notice else []) + scope_warnings(result, access):
        say(f"warning: {line}")
    rows = list(dry_run(result, access))
    if not rows:
        say("no executors")
        return
    cells = []
    for row in rows:
        target = row.executor if row.action == EXEC_GET else f"{row.executor} › {row.command}"
        if row.decision is None:
            cells.append(("-", "run", target, "each command is checked when it runs"))
            continue
        verdict = "allowed" if row.decision.allowed else "denied"
        why = f"by {row.decision.policy.id}" if row.decision.policy else row.decision.reason
        cells.append((verdict, "get" if row.action == EXEC_GET else "run", target, why))
    widths = [max(len(cell[i]) for cell in cells) for i in range(3)]
    for cell in cells:
        say("  ".join(text.ljust(width) for text, width in zip(cell[:3], widths, strict=True)) + "  " + cell[3])


def report_json(result: LoadResult, access: Access) -> dict[str, Any]:
    """``execdeck check --json``: the counts, every problem, the access and the dry run."""
    actor = access.actor
    return {
        "files": len(result.files),
        "entries": len(result.entries),
        "executors": len(result.executors),
        "problems": [
            {"file": str(p.location.path), "line": p.location.line, "id": p.entry_id, "field": p.field,
             "message": p.message, "hint": p.hint, "severity": p.severity, "text": p.format()}
            for p in result.problems
        ],
        "access": {"actor": actor.id if actor else None, "actor_meta": dict(actor.meta) if actor else {},
                   "scope": list(access.scope), "strict": access.strict,
                   "policies_apply": not access.unrestricted,
                   "warnings": [w for w in [half_set_notice(access), *scope_warnings(result, access)] if w]},
        "decisions": [
            {"executor": row.executor, "action": row.action,
             "resource": row.executor if row.action == EXEC_GET else row.command,
             "allowed": row.decision.allowed if row.decision else None,
             "policy": row.decision.policy.id if row.decision and row.decision.policy else None,
             "reason": (row.decision.explain() if row.decision else "each command is checked when it runs")}
            for row in dry_run(result, access)
        ],
    }
