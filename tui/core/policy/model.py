"""What access policies are made of: who acts (:class:`Access`), the rules (:class:`Policy`), and the
answer to one check (:class:`Decision`). Frozen values, shared between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from tui.core.entries.models import Location, frozen_map
from tui.core.structs import field, record

#: The two actions execdeck checks: acquiring an executor (the resource is its id) and creating a
#: process (the resource is the command string exactly as given).
EXEC_GET = "exec.get"
EXEC_RUN = "exec.run"
ACTIONS = (EXEC_GET, EXEC_RUN)

#: The reference's own denial messages, word for word: Lua scripts compare them.
DENIED_MESSAGES = {EXEC_GET: "permission denied: access executor", EXEC_RUN: "permission denied: execute command"}

POLICY_KIND = "security.policy"
EXPRESSION_POLICY_KIND = "security.policy.expr"

Effect = Literal["allow", "deny"]

#: Every condition operator, in the reference's names.
OPERATORS = ("eq", "ne", "lt", "gt", "lte", "gte", "in", "nin", "exists", "nexists", "contains", "ncontains",
             "matches", "nmatches")
#: Operators that take no value: they ask whether the field is there.
PRESENCE_OPERATORS = ("exists", "nexists")


@record(frozen=True)
class Condition:
    """``field operator value``: ``value_from`` (a field path) replaces ``value`` when it is set.

    ``pattern`` is the compiled regular expression of ``matches``/``nmatches`` with a literal value
    (compiled once, at load time); ``None`` otherwise.
    """

    field: str
    operator: str
    value: Any = None
    value_from: str = ""
    pattern: Any = None


@record(frozen=True)
class Policy:
    """One ``security.policy`` entry: it applies to a check when an action pattern matches the action,
    a resource pattern the resource, and every condition holds."""

    id: str
    location: Location
    effect: Effect
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...] = ()
    groups: tuple[str, ...] = ()


@record(frozen=True)
class Actor:
    """Who acts: an id (``user:alice``, ``visitor:3f2a``) and free-form meta for conditions."""

    id: str
    meta: Mapping[str, Any] = field(default_factory=frozen_map)


@record(frozen=True)
class Access:
    """The actor, the scope (the policy groups that apply) and strict mode of one engine.

    The default (no actor, no scope, not strict) is :attr:`unrestricted`: nothing is checked at all.
    """

    actor: Actor | None = None
    scope: tuple[str, ...] = ()
    strict: bool = False

    @property
    def unrestricted(self) -> bool:
        """True when every check allows without looking at a policy (the console as it always was)."""
        return not self.strict and (self.actor is None or not self.scope)

    def describe(self) -> str:
        """``actor user:alice · scope demo, ops · strict``: what the console's header and ``check`` show."""
        parts = [f"actor {self.actor.id}" if self.actor else "no actor",
                 f"scope {', '.join(self.scope)}" if self.scope else "no scope"]
        if self.strict:
            parts.append("strict")
        return " · ".join(parts)


@record(frozen=True)
class Decision:
    """The answer to one check. ``policy`` is the one that decided (the first matching deny, else the
    first matching allow); ``None`` when none did, and ``reason`` then says why."""

    allowed: bool
    action: str
    resource: str
    policy: Policy | None = None
    reason: str = ""

    def explain(self) -> str:
        """``denied by app:no_rm``, ``allowed by app:ops``, or the reason (``no policy allows it``)."""
        if self.policy is not None:
            return f"{'allowed' if self.allowed else 'denied'} by {self.policy.id}"
        return self.reason
