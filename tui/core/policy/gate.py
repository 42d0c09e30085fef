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

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from tui.core.entries.models import Entry
from tui.core.errors import ErrorKind, ExecError
from tui.core.policy.match import PatternSet, any_pattern_matches, condition_holds, resolve
from tui.core.policy.model import DENIED_MESSAGES, EXEC_GET, EXEC_RUN, Access, Condition, Decision, Policy
from tui.core.structs import record

_NO_META: Mapping[str, Any] = {}

#: Decisions a gate keeps (the least recently used go first), for resources up to this many characters
#: (a long typed command is decided every time rather than held in memory).
KEPT_DECISIONS = 4096
KEPT_RESOURCE_CHARS = 1024

#: A policy as a gate keeps it: its compiled resource patterns, and the conditions to evaluate per check.
_Candidate = tuple[Policy, PatternSet, tuple[Condition, ...]]


def _on_actor(condition: Condition) -> bool:
    """True when ``condition`` reads the actor only (its field and any ``value_from``)."""
    return condition.field.startswith("actor.") and (not condition.value_from
                                                      or condition.value_from.startswith("actor."))


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
    """Decides checks for one :class:`Access` over a set of policies. Thread-safe; its policies never
    change (the engine swaps in a new gate when the entries are reloaded), so its decisions are kept: a
    hundred policies with regular expressions cost a few hundred microseconds for a new command, and
    nothing for one decided before (a console runs the same commands again and again)."""

    def __init__(self, access: Access | None = None, policies: Iterable[Policy] = ()) -> None:
        self.access = access or Access()
        scope = set(self.access.scope)
        #: The policies of the scope's groups, in file order (the first matching one is named).
        self.policies: tuple[Policy, ...] = tuple(p for p in policies if scope.intersection(p.groups))
        actor = self.access.actor
        self._actor = {"id": actor.id, "meta": actor.meta} if actor is not None else {}
        # Every check is one of two actions: keep, per action, only the policies that can speak to it,
        # each with its resource patterns compiled and the conditions left to evaluate per check.
        self._by_action: dict[str, tuple[_Candidate, ...]] = {
            action: self._candidates(action) for action in (EXEC_GET, EXEC_RUN)
        }
        # A decision depends on the action, the resource and the executor meta that conditions read:
        # the key holds exactly those, so a kept decision is always the one evaluation would give.
        self._meta_paths = tuple(sorted({
            path for candidates in self._by_action.values() for _, _, conditions in candidates
            for c in conditions for path in (c.field, c.value_from) if path == "meta" or path.startswith("meta.")
        }))
        self._kept: OrderedDict[Hashable, Decision] = OrderedDict()
        self._kept_lock = threading.Lock()

    def _candidates(self, action: str) -> tuple[_Candidate, ...]:
        """The policies that may speak to ``action``. A condition on the actor alone has the same answer
        on every check of this gate (the actor does not change), so it is decided here, once: a policy
        it rules out is dropped, and only the conditions on the check itself stay."""
        found: list[_Candidate] = []
        actor_only = {"actor": self._actor}
        for policy in self.policies:
            if not any_pattern_matches(policy.actions, action):
                continue
            fixed = [c for c in policy.conditions if _on_actor(c)]
            if self.access.actor is not None and not all(condition_holds(c, actor_only) for c in fixed):
                continue
            rest = tuple(c for c in policy.conditions if not _on_actor(c))
            found.append((policy, PatternSet(policy.resources), rest))
        return tuple(found)

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
        context = {"actor": self._actor, "action": action, "resource": resource,
                   "meta": meta if meta is not None else _NO_META}
        key: Hashable = (action, resource, *(resolve(context, path) for path in self._meta_paths)) \
            if self._meta_paths else (action, resource)
        try:
            hash(key)
        except TypeError:  # a condition reads a list or a map of the meta: evaluate every time
            return self._evaluate(action, resource, context)
        if len(resource) > KEPT_RESOURCE_CHARS:
            return self._evaluate(action, resource, context)
        with self._kept_lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        decision = self._evaluate(action, resource, context)
        with self._kept_lock:
            self._kept[key] = decision
            if len(self._kept) > KEPT_DECISIONS:
                self._kept.popitem(last=False)
        return decision

    def _evaluate(self, action: str, resource: str, context: Mapping[str, Any]) -> Decision:
        candidates = self._by_action.get(action)
        if candidates is None:
            candidates = self._candidates(action)
        allowed_by: Policy | None = None
        for policy, resources, conditions in candidates:
            if policy.effect == "allow" and allowed_by is not None:
                continue  # one allow is enough; only a deny can still change the answer
            if not resources(resource):
                continue
            if all(condition_holds(c, context) for c in conditions):
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


@record(frozen=True)
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
