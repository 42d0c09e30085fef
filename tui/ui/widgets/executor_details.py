"""Details of one executor: status, settings as loaded, source file and line, its YAML, its whitelist."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.widgets import Static

from tui.core.entries.models import Entry, Location
from tui.core.executors import registry
from tui.core.executors.base import PULL, ExecutorStatus
from tui.core.policy import EntryAccess
from tui.ui.widgets.executor_list import kind_label, status_content


def display_path(location: Location) -> str:
    """``file:line`` with the file relative to the current folder when it is inside it (shorter)."""
    path = location.path
    try:
        shown = str(Path(os.path.relpath(path.resolve(), Path.cwd()))) if path.is_absolute() else str(path)
    except ValueError:
        shown = str(path)
    if shown.startswith(".."):
        shown = str(path)
    return f"{shown}:{location.line}" if location.line else shown


def _value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value) or "-"
    if hasattr(value, "items"):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if value in ("", None):
        return "-"
    return str(value)


def settings_content(entry: Entry) -> Content:
    """The executor's settings as loaded, one ``field  value`` line each in the order of its kind's field
    table (the whitelist is shown apart)."""
    rows: list[tuple[str, str]] = [("id", entry.id), ("kind", entry.kind)]
    kind = registry.find(entry.kind)
    if entry.spec is not None and kind is not None:
        rows += [(f.name, _value(getattr(entry.spec, f.name))) for f in kind.fields if f.name != "command_whitelist"]
    if entry.meta:
        rows.append(("meta", _value(entry.meta)))
    width = max(len(name) for name, _ in rows)
    lines = [Content.from_markup("[$foreground-muted]$name[/]  $value", name=name.ljust(width), value=value)
             for name, value in rows]
    return Content("\n").join(lines)


def whitelist_content(entry: Entry, access: EntryAccess | None = None) -> Content:
    """The allowed commands, one a line, or a plain statement that any command runs.

    With ``access``, a command the actor may not run is shown disabled (dimmed, ✗) with the reason."""
    if not entry.whitelist:
        text = "no whitelist: any command runs (still without a shell)"
        if access is not None:
            text = "no whitelist: each command is checked against the policies when it runs (no shell)"
        return Content.from_markup("[$foreground-muted]$text[/]", text=text)
    lines = []
    for cmd in entry.whitelist:
        decision = access.commands.get(cmd) if access is not None else None
        if decision is not None and not decision.allowed:
            lines.append(Content.from_markup("[$foreground-muted][$error]✗[/] [strike]$cmd[/]  $why[/]",
                                             cmd=cmd, why=decision.explain()))
        else:
            lines.append(Content.from_markup("[$accent]•[/] $cmd", cmd=cmd))
    return Content("\n").join(lines)


def access_content(access: EntryAccess | None, actor: str) -> Content:
    """``🔒 locked for visitor:1: no policy allows it``; empty when the actor may get the executor."""
    if access is None or not access.locked:
        return Content("")
    return Content.from_markup("[$warning]🔒 locked[/] for $actor: $why", actor=actor or "no actor",
                               why=access.get.explain())


class ExecutorDetails(VerticalScroll, can_focus=True):
    """What the operator needs before running something on the selected executor."""

    def compose(self) -> ComposeResult:
        yield Static(id="details-title", classes="details-title")
        yield Static(id="details-status")
        lock = Static(id="details-access")
        lock.display = False  # takes no line unless there is a lock to show
        yield lock
        yield Static("Settings", classes="details-heading")
        yield Static(id="details-settings")
        yield Static("Whitelist", classes="details-heading")
        yield Static(id="details-whitelist")
        yield Static(id="details-source-heading", classes="details-heading")
        yield Static(id="details-yaml", classes="details-yaml")

    def show(self, entry: Entry | None, status: ExecutorStatus | None, access: EntryAccess | None = None,
             actor: str = "") -> None:
        """Show ``entry`` (``None``: nothing selected) with its current ``status``; ``access`` is what
        ``actor`` may do with it (``None`` when no policy applies)."""
        title = self.query_one("#details-title", Static)
        if entry is None:
            title.update("No executor selected")
            for name in ("status", "access", "settings", "whitelist", "source-heading", "yaml"):
                self.query_one(f"#details-{name}", Static).update("")
            self.query_one("#details-access", Static).display = False
            return
        kind = kind_label(entry)
        title.update(Content.from_markup("[b]$id[/]  [$foreground-muted]$kind[/]", id=entry.id, kind=kind))
        self.show_status(entry, status)
        lock = access_content(access, actor)
        shown = self.query_one("#details-access", Static)
        shown.update(lock)
        shown.display = bool(lock)
        self.query_one("#details-settings", Static).update(settings_content(entry))
        self.query_one("#details-whitelist", Static).update(whitelist_content(entry, access))
        self.query_one("#details-source-heading", Static).update(
            Content.from_markup("Source  [$foreground-muted]$where[/]", where=display_path(entry.location)))
        self.query_one("#details-yaml", Static).update(highlight(entry.source.rstrip("\n") or "", language="yaml"))

    def show_status(self, entry: Entry, status: ExecutorStatus | None) -> None:
        """Redraw the status line only (a probe finished)."""
        content = status_content(status) if entry.is_executor else Content("not an executor: the console ignores it")
        if status is not None and status.remedy == PULL:
            kind = registry.find(entry.kind)
            can_build = kind is not None and kind.build is not None and entry.spec is not None \
                and kind.build.offered(entry.spec)
            offer = "press p to pull it (or build it here)" if can_build else "press p to pull it"
            content = Content.assemble(content, Content.from_markup("  [$accent]$offer[/]", offer=offer))
        if status is not None and status.engine:
            content = Content.assemble(content, Content.from_markup("\n[$foreground-muted]engine[/] $engine",
                                                                    engine=status.engine))
        self.query_one("#details-status", Static).update(content)
