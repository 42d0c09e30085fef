"""Access policies: the reference's ``exec.get`` and ``exec.run`` permissions (``docs/policy.md``).

* :mod:`~tui.core.policy.model`: :class:`Access` (actor, scope, strict), :class:`Policy`, :class:`Decision`;
* :mod:`~tui.core.policy.load`: ``security.policy`` entries read from the entry files;
* :mod:`~tui.core.policy.match`: patterns, field paths, condition operators;
* :mod:`~tui.core.policy.gate`: :class:`Gate`, the one place that decides, and :class:`PermissionDenied`.
"""

from tui.core.policy.gate import EntryAccess, Gate, PermissionDenied
from tui.core.policy.model import EXEC_GET, EXEC_RUN, Access, Actor, Condition, Decision, Policy

__all__ = [
    "EXEC_GET",
    "EXEC_RUN",
    "Access",
    "Actor",
    "Condition",
    "Decision",
    "EntryAccess",
    "Gate",
    "PermissionDenied",
    "Policy",
]
