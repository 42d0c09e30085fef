"""Who acts: ``--actor``, ``--actor-meta``, ``--scope``, ``--strict`` and their environment variables.

Like ``--entries``, the options are accepted before the subcommand and after it; values given after it
win for ``--actor``, and are added to those given before for the repeatable ones. A flag wins over its
environment variable. The command line is one command per process: :func:`main` decides the access
once (:func:`choose`), and every engine the command makes (:func:`chosen`) acts for that actor.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tui.core.entries.models import frozen_map
from tui.core.policy.model import Access, Actor

if TYPE_CHECKING:
    import argparse  # annotations only: `execdeck run` in its common form never loads argparse

ACTOR_ENV = "EXECDECK_ACTOR"
SCOPE_ENV = "EXECDECK_SCOPE"
STRICT_ENV = "EXECDECK_STRICT"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")

_chosen = Access()


def add_access_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The four options, stored under ``prefix + name`` (the top-level parser uses ``global_``)."""
    group = parser.add_argument_group("access policies (who acts)")
    group.add_argument("--actor", dest=f"{prefix}actor", default=None, metavar="ID",
                       help=f"who acts, e.g. user:alice (default: ${ACTOR_ENV}); for history: whose runs to list")
    group.add_argument("--actor-meta", dest=f"{prefix}actor_meta", action="append", default=[], metavar="KEY=VALUE",
                       help="the actor's meta for policy conditions (repeatable; KEY may be dotted: team.name=ops)")
    group.add_argument("--scope", dest=f"{prefix}scope", action="append", default=[], metavar="GROUP",
                       help=f"a policy group that applies (repeatable, or comma-separated; default: ${SCOPE_ENV})")
    group.add_argument("--strict", dest=f"{prefix}strict", action="store_true", default=False,
                       help=f"refuse everything when there is no actor or no scope (default: ${STRICT_ENV}=1)")


def parse_meta_value(text: str) -> Any:
    """A number, ``true``/``false`` or a JSON-quoted string as such; anything else as text.

    So ``level=3`` compares with ``gte: 3``, and ``team="007"`` stays the text 007.
    """
    import json  # only here: `execdeck run` without --actor-meta never loads json

    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, bool | int | float | str) else text


def parse_actor_meta(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs into a nested map (``team.name=ops`` gives ``{"team": {"name": "ops"}}``).

    Raises:
        ValueError: for a pair without ``=`` or with an empty key part.
    """
    meta: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ValueError(f"--actor-meta {pair!r}: expected KEY=VALUE")
        target = meta
        for part in parts[:-1]:
            inner = target.get(part)
            if not isinstance(inner, dict):
                inner = target[part] = {}
            target = inner
        target[parts[-1]] = parse_meta_value(value)
    return meta


def _scope(values: list[str]) -> list[str]:
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def resolve_access(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Access:
    """The access chosen by the options (both places) and the environment.

    Raises:
        ValueError: a bad value, with the one line to show.
    """
    env = os.environ if env is None else env
    given = getattr(args, "actor", None)
    if given is None:
        given = getattr(args, "global_actor", None)
    if given is not None and not given.strip():
        raise ValueError("--actor needs an id, such as user:alice")
    actor_id = (given if given is not None else env.get(ACTOR_ENV, "")).strip()
    meta_pairs = [*getattr(args, "global_actor_meta", []), *getattr(args, "actor_meta", [])]
    meta = parse_actor_meta(meta_pairs)
    if meta_pairs and not actor_id:
        raise ValueError("--actor-meta needs an actor: add --actor ID")
    scope = _scope([*getattr(args, "global_scope", []), *getattr(args, "scope", [])])
    if not scope:
        scope = _scope([env.get(SCOPE_ENV, "")])
    strict_text = env.get(STRICT_ENV, "").strip().lower()
    if strict_text not in _TRUE + _FALSE:
        raise ValueError(f"{STRICT_ENV}={env[STRICT_ENV]!r}: expected 1 or 0")
    strict = bool(getattr(args, "global_strict", False) or getattr(args, "strict", False) or strict_text in _TRUE)
    actor = Actor(actor_id, frozen_map(meta)) if actor_id else None
    return Access(actor=actor, scope=tuple(dict.fromkeys(scope)), strict=strict)


def half_set_notice(access: Access) -> str | None:
    """The line that says an actor without a scope (or the reverse) changes nothing, or ``None``."""
    if access.strict or (access.actor is None) == (not access.scope):
        return None
    if access.actor is None:
        return "--scope without an actor: policies do not apply (add --actor ID, or --strict to refuse everything)"
    return "--actor without a scope: policies do not apply (add --scope GROUP, or --strict to refuse everything)"


def choose(access: Access) -> None:
    """Set the access of this command (called once, by ``main``)."""
    global _chosen
    _chosen = access


def chosen() -> Access:
    """The access of this command; unrestricted unless ``main`` chose one."""
    return _chosen
