"""The executors, grouped by namespace: id, kind, status and the number of whitelisted commands."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.content import Content
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.core.entries.models import Entry
from tui.core.executors import registry
from tui.core.executors.base import ExecutorStatus
from tui.core.policy import EntryAccess


def kind_label(entry: Entry) -> str:
    """The short word for an entry's kind (``native``); the kind's full name when no kind claims it."""
    kind = registry.find(entry.kind)
    return kind.label if kind is not None else entry.kind


def status_content(status: ExecutorStatus | None, *, short: bool = False) -> Content:
    """A coloured mark and text for a status; ``None`` means the probe is still running. Not ready with
    a remedy (something the console can offer) is a warning, without one an error."""
    if status is None:
        return Content.from_markup("[$foreground-muted]… probing[/]")
    text = status.summary if short else status.text
    if status.ready:
        return Content.from_markup("[$success]●[/] $text", text=text)
    variable = "$warning" if status.remedy else "$error"
    return Content.from_markup(f"[{variable}]●[/] $text", text=text)


def entry_label(entry: Entry, status: ExecutorStatus | None, colours: Mapping[str, str],
                access: EntryAccess | None = None) -> Text:
    """One line of the tree: ``shell  native  ● ready  10 cmds``, coloured from the theme's ``colours``.

    With ``access`` (an actor under policies), an executor the actor may not get is dimmed and locked
    (``🔒 free  native  locked``), and the count says how many commands the actor may run (``2/10 cmds``).
    Tree labels are Rich ``Text``, which cannot name theme variables, so the current theme's values are
    put in; the tree rebuilds its labels when the theme changes.
    """
    muted = colours.get("foreground-muted", "")
    if not entry.is_executor:
        return Text(f"{entry.name}  not an executor ({entry.kind})", style=muted)
    kind = kind_label(entry)
    if access is not None and access.locked:
        return Text(f"🔒 {entry.name}  {kind}  locked", style=muted)
    count = len(entry.whitelist)
    commands = f"{count} cmd{'s' if count != 1 else ''}" if count else "any cmd"
    if access is not None and count:
        allowed = sum(1 for decision in access.commands.values() if decision.allowed)
        if allowed < count:
            commands = f"{allowed}/{commands}"
    if status is None:
        mark, text, colour = "…", "probing", muted
    else:
        variable = "success" if status.ready else ("warning" if status.remedy else "error")
        mark, text, colour = "●", status.summary, colours.get(variable, "")
    return Text.assemble(
        (entry.name, "bold"), "  ", (kind, muted), "  ",
        (mark, colour), f" {text}  ", (commands, muted),
    )


class ExecutorTree(Tree[str]):
    """Namespaces as branches, entries as leaves (``node.data`` is the entry id).

    Selecting a leaf (Enter, click) posts Tree's ``NodeSelected``; the screen opens the run dialog.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("executors", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._entries: tuple[Entry, ...] = ()
        self._statuses: Mapping[str, ExecutorStatus | None] = {}
        self._access: Mapping[str, EntryAccess] = {}

    def on_mount(self) -> None:
        self.watch(self.app, "theme", lambda: self.show(self._entries, self._statuses, self._access), init=False)

    def _label(self, entry: Entry) -> Text:
        return entry_label(entry, self._statuses.get(entry.id), self.app.theme_variables, self._access.get(entry.id))

    @property
    def selected_id(self) -> str | None:
        """The entry id under the cursor, or ``None`` on a namespace or an empty tree."""
        node = self.cursor_node
        return node.data if node is not None else None

    def show(self, entries: tuple[Entry, ...], statuses: Mapping[str, ExecutorStatus | None],
             access: Mapping[str, EntryAccess] | None = None) -> None:
        """Rebuild from ``entries``, keeping the cursor on the same entry id when it still exists.

        ``access`` holds what the actor may do per executor id; empty when no policy applies."""
        keep = self.selected_id
        self._entries, self._statuses, self._access = entries, statuses, access or {}
        self.clear()
        namespaces: dict[str, TreeNode[str]] = {}
        target: TreeNode[str] | None = None
        for entry in entries:
            branch = namespaces.get(entry.namespace)
            if branch is None:
                label = Text(entry.namespace, style=f"bold {self.app.theme_variables.get('accent', '')}")
                branch = namespaces[entry.namespace] = self.root.add(label, expand=True)
            leaf = branch.add_leaf(self._label(entry), data=entry.id)
            if entry.id == keep or (target is None and keep is None and entry.is_executor):
                target = leaf
        if target is not None:
            # Lines are laid out on the next refresh; the cursor can only move there after it.
            self.call_after_refresh(self.move_cursor, target)

    def update_status(self, entry_id: str) -> None:
        """Redraw the line of ``entry_id`` after its status changed."""
        entry = next((e for e in self._entries if e.id == entry_id), None)
        if entry is None:
            return
        for branch in self.root.children:
            for leaf in branch.children:
                if leaf.data == entry_id:
                    leaf.set_label(self._label(entry))
                    return

    def select_id(self, entry_id: str) -> bool:
        """Move the cursor to ``entry_id``; False when it is not listed."""
        for branch in self.root.children:
            for leaf in branch.children:
                if leaf.data == entry_id:
                    self.call_after_refresh(self.move_cursor, leaf)
                    return True
        return False
