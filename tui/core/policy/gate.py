"""The gate: the one place that decides ``exec.get`` and ``exec.run`` for an engine's actor.

The engine holds one :class:`Gate` and asks it before it hands out an executor (``Engine.get``) and
before an executor creates a process (``Executor.exec``), so the console, ``execdeck run``, Lua and the
REPL all pass through here. The rules, in order:

1. no actor or no scope: allowed, unless strict mode is on (then denied);
2. among the policies of the scope's groups whose action, resource and conditions match, any ``deny``
   decides (denied);
3. else any ``allow`` decides (allowed);
4. else nothing matched: denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tui.core.entries.models import Entry
from tui.core.errors import ErrorKind, ExecError
from tui.core.policy.match import any_pattern_matches, policy_applies
from tui.core.policy.model import DENIED_MESSAGES, EXEC_GET, EXEC_RUN, Access, Decision, Policy

_NO_META: Mapping[str, Any] = {}


class PermissionDenied(ExecError):
    """A check said no: kind ``Invalid``, the reference's message, not retryable.

    ``details`` name the action, the resource and the deciding policy (empty when none decided);
    :meth:`explain` is the one line the command line prints.
    """

    def __init__(self, decision: Decision, actor: str) -> None:
        details = {"action": decision.action, "resource": decision.resource,
                   "policy": decision.policy.id if decision.policy else ""}
        super().__init__(ErrorKind.INVALID, DENIED_MESSAGES[decision.action], details)
        self.decision = decision
        self.actor = actor

    def explain(self) -> str:
        """``permission denied: exec.run "rm -rf /" for user:alice: denied by app:no_rm``."""
        who = f" for {self.actor}" if self.actor else ""
        return f'permission denied: {self.decision.action} "{self.decision.resource}"{who}: {self.decision.explain()}'


class Gate:
    """Decides checks for one :class:`Access` over a set of policies. Immutable, so thread-safe: the
    engine swaps in a new gate when the entries are reloaded."""

    def __init__(self, access: Access | None = None, policies: Iterable[Policy] = ()) -> None:
        self.access = access or Access()
        scope = set(self.access.scope)
        #: The policies of the scope's groups, in file order (the first matching one is named).
        self.policies: tuple[Policy, ...] = tuple(p for p in policies if scope.intersection(p.groups))
        # Most checks are one of two actions: keep, per action, only the policies that can speak to it.
        self._by_action: dict[str, tuple[Policy, ...]] = {
            action: tuple(p for p in self.policies if any_pattern_matches(p.actions, action))
            for action in (EXEC_GET, EXEC_RUN)
        }
        actor = self.access.actor
        self._actor = {"id": actor.id, "meta": actor.meta} if actor is not None else {}

    def with_policies(self, policies: Iterable[Policy]) -> Gate:
        """The same actor and scope over newly loaded policies."""
        return Gate(self.access, policies)

    @property
    def unrestricted(self) -> bool:
        return self.access.unrestricted

    def decide(self, action: str, resource: str, meta: Mapping[str, Any] | None = None) -> Decision:
        """The decision for ``action`` on ``resource``; ``meta`` is the executor entry's meta (``meta.*``)."""
        access = self.access
        if access.actor is None or not access.scope:
            if not access.strict:
                return Decision(True, action, resource, reason="no actor or scope: policies do not apply")
            missing = "no actor" if access.actor is None else "no scope"
            return Decision(False, action, resource, reason=f"strict mode and {missing}")
        candidates = self._by_action.get(action)
        if candidates is None:
            candidates = tuple(p for p in self.policies if any_pattern_matches(p.actions, action))
        context = {"actor": self._actor, "action": action, "resource": resource,
                   "meta": meta if meta is not None else _NO_META}
        allowed_by: Policy | None = None
        for policy in candidates:
            if policy.effect == "allow" and allowed_by is not None:
                continue  # one allow is enough; only a deny can still change the answer
            if policy_applies(policy, action, resource, context):
                if policy.effect == "deny":
                    return Decision(False, action, resource, policy)
                allowed_by = policy
        if allowed_by is not None:
            return Decision(True, action, resource, allowed_by)
        return Decision(False, action, resource, reason="no policy allows it")

    def require(self, action: str, resource: str, meta: Mapping[str, Any] | None = None) -> None:
        """Return when allowed. Raises :class:`PermissionDenied` otherwise."""
        if self.access.unrestricted:
            return
        decision = self.decide(action, resource, meta)
        if not decision.allowed:
            actor = self.access.actor
            raise PermissionDenied(decision, actor.id if actor is not None else "")

    def entry_access(self, entry: Entry) -> EntryAccess:
        """What the actor may do with ``entry``: get it, and run each of its whitelisted commands."""
        get = self.decide(EXEC_GET, entry.id, entry.meta)
        commands = {command: self.decide(EXEC_RUN, command, entry.meta) for command in entry.whitelist}
        return EntryAccess(get, commands)


@dataclass(frozen=True)
class EntryAccess:
    """The dry run of one executor: ``get`` and one decision per whitelisted command."""

    get: Decision
    commands: Mapping[str, Decision]

    @property
    def locked(self) -> bool:
        return not self.get.allowed

    def runnable(self, command: str) -> bool:
        decision = self.commands.get(command)
        return self.get.allowed and (decision is None or decision.allowed)
