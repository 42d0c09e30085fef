"""Entry files with policies, written for one test, and an engine acting for an actor over them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tui.core.engine import Engine
from tui.core.entries import LoadResult, load_entries
from tui.core.policy import Access, Actor

SHELL: dict[str, Any] = {
    "name": "shell", "kind": "exec.native", "meta": {"team": "ops", "tier": 2},
    "default_env": {"PATH": "/usr/bin:/bin"}, "command_whitelist": ["echo hi", "uname -a", "rm -rf /tmp/x"],
}
FREE: dict[str, Any] = {"name": "free", "kind": "exec.native", "default_env": {"PATH": "/usr/bin:/bin"}}


def policy(name: str, effect: str = "allow", actions: Any = "*", resources: Any = "*",
           conditions: list[dict[str, Any]] | None = None, groups: Any = ("g",)) -> dict[str, Any]:
    """A ``security.policy`` entry as a YAML-ready dict."""
    body: dict[str, Any] = {"actions": actions, "resources": resources, "effect": effect}
    if conditions is not None:
        body["conditions"] = conditions
    entry: dict[str, Any] = {"name": name, "kind": "security.policy", "policy": body}
    if groups is not None:
        entry["groups"] = list(groups) if not isinstance(groups, str) else groups
    return entry


def write(folder: Path, *entries: dict[str, Any], namespace: str = "app", name: str = "_index.yaml") -> Path:
    """An entry file holding ``entries``; returns its folder."""
    folder.mkdir(parents=True, exist_ok=True)
    document = {"version": "1.0", "namespace": namespace, "entries": list(entries)}
    (folder / name).write_text(yaml.safe_dump(document, sort_keys=False))
    return folder


def load(folder: Path, *entries: dict[str, Any]) -> LoadResult:
    return load_entries([write(folder, *entries)])


def access(actor: str | None = "user:alice", scope: tuple[str, ...] = ("g",), *, strict: bool = False,
           meta: dict[str, Any] | None = None) -> Access:
    """Acting as ``actor`` (``None``: no actor) with ``meta``, in ``scope`` (``()``: no scope)."""
    return Access(Actor(actor, meta or {}) if actor else None, scope, strict)


def engine(result: LoadResult, who: Access) -> Engine:
    return Engine(result, access=who)
