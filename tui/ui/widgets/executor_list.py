"""The executors, grouped by namespace: id, kind, status and the number of whitelisted commands."""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text, TextType
from textual.content import Content
from textual.message import Message
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


def entry_parts(entry: Entry, status: ExecutorStatus | None, colours: Mapping[str, str],
                access: EntryAccess | None = None) -> list[tuple[str, str]]:
    """The pieces of one line of the tree, ``(text, style)`` each: ``shell  native  ● ready  10 cmds``.

    With ``access`` (an actor under policies), an executor the actor may not get is dimmed and locked
    (``🔒 free  native  locked``), and the count says how many commands the actor may run (``2/10 cmds``).
    Styles name the current theme's ``colours``: tree labels are Rich ``Text``, which cannot name theme
    variables.
    """
    muted = colours.get("foreground-muted", "")
    if not entry.is_executor:
        return [(f"{entry.name}  not an executor ({entry.kind})", muted)]
    kind = kind_label(entry)
    if access is not None and access.locked:
        return [(f"🔒 {entry.name}  {kind}  locked", muted)]
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
    return [(entry.name, "bold"), ("  ", ""), (kind, muted), ("  ", ""), (mark, colour), (f" {text}  ", ""),
            (commands, muted)]


def entry_label(entry: Entry, status: ExecutorStatus | None, colours: Mapping[str, str],
                access: EntryAccess | None = None) -> Text:
    """One line of the tree as coloured text (see :func:`entry_parts`)."""
    return Text.assemble(*entry_parts(entry, status, colours, access))


class ExecutorTree(Tree[str]):
    """Namespaces as branches, entries as leaves (``node.data`` is the entry id).

    Selecting a leaf (Enter, click) posts Tree's ``NodeSelected``; the screen opens the run dialog. The
    list costs what is on screen, not what is in the files: a leaf's label is its plain text (what
    the tree measures its width by), coloured only when its line is drawn; a status updates one line;
    and :class:`InView` tells which executors are on screen, so only those are probed.
    """

    _adding = False  # while show() adds the leaves (see _invalidate)

    class InView(Message):
        """The executors whose lines are on screen now (after a rebuild, a scroll or a resize)."""

        def __init__(self, ids: tuple[str, ...]) -> None:
            super().__init__()
            self.ids = ids

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("executors", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._entries: tuple[Entry, ...] = ()
        self._statuses: Mapping[str, ExecutorStatus | None] = {}
        self._access: Mapping[str, EntryAccess] = {}
        self._leaves: dict[str, TreeNode[str]] = {}
        self._widths: dict[str, int] = {}
        self._by_id: dict[str, Entry] = {}
        self._in_view: tuple[str, ...] = ()

    def on_mount(self) -> None:
        # The signal, not a watch of `theme`: the theme's variables are only in place once it is published
        # (a watcher saw the old theme's colours, and the namespaces kept them).
        self.app.theme_changed_signal.subscribe(self, lambda _: self.show(self._entries, self._statuses, self._access))
        self.watch(self, "scroll_y", self._announce_view, init=False)

    def on_resize(self) -> None:
        self.call_after_refresh(self._announce_view)

    def _text(self, entry: Entry) -> str:
        """The plain text of ``entry``'s line (its leaf's label); its width is kept for get_label_width."""
        parts = entry_parts(entry, self._statuses.get(entry.id), {}, self._access.get(entry.id))
        self._widths[entry.id] = sum(cell_len(text) for text, _ in parts)
        return "".join(text for text, _ in parts)

    def _invalidate(self) -> None:
        # Tree invalidates (and lays itself out again) for every node added: once for a whole rebuild is
        # enough, and thousands of times cost more than the rest of the list.
        if not self._adding:
            super()._invalidate()

    def process_label(self, label: TextType) -> Text:
        # Labels here are one line: a plain string is taken as is (Tree would parse it as markup, line by
        # line), which keeps adding thousands of leaves cheap and a ``[`` in a name what it is.
        if isinstance(label, str):
            return Text(label)
        return label if "\n" not in label.plain else super().process_label(label)

    def render_label(self, node: TreeNode[str], base_style: Style, style: Style) -> Text:
        entry = self._by_id.get(node.data) if node.data is not None else None
        if entry is None:
            return super().render_label(node, base_style, style)
        label = entry_label(entry, self._statuses.get(entry.id), self.app.theme_variables, self._access.get(entry.id))
        label.stylize(style)
        return label

    def get_label_width(self, node: TreeNode[str]) -> int:
        if node.data is not None and node.data in self._widths:
            return self._widths[node.data]  # a leaf has no toggle, and its plain text is what is drawn
        return super().get_label_width(node)

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
        self._leaves, self._by_id, self._widths, self._in_view = {}, {}, {}, ()
        namespaces: dict[str, TreeNode[str]] = {}
        target: TreeNode[str] | None = None
        self._adding = True
        try:
            for entry in entries:
                branch = namespaces.get(entry.namespace)
                if branch is None:
                    label = Text(entry.namespace, style=f"bold {self.app.theme_variables.get('accent', '')}")
                    branch = namespaces[entry.namespace] = self.root.add(label, expand=True)
                leaf = branch.add_leaf(self._text(entry), data=entry.id)
                self._leaves[entry.id] = leaf
                self._by_id[entry.id] = entry
                if entry.id == keep or (target is None and keep is None and entry.is_executor):
                    target = leaf
        finally:
            self._adding = False
        self._invalidate()
        if target is not None:
            # Lines are laid out on the next refresh; the cursor can only move there after it.
            self.call_after_refresh(self.move_cursor, target)
        self.call_after_refresh(self._announce_view)

    def update_status(self, entry_id: str) -> None:
        """Redraw the line of ``entry_id`` after its status changed."""
        leaf = self._leaves.get(entry_id)
        if leaf is not None:
            leaf.set_label(self._text(self._by_id[entry_id]))

    def select_id(self, entry_id: str) -> bool:
        """Move the cursor to ``entry_id``; False when it is not listed."""
        leaf = self._leaves.get(entry_id)
        if leaf is None:
            return False
        self.call_after_refresh(self.move_cursor, leaf)
        return True

    def in_view(self) -> tuple[str, ...]:
        """The ids of the entries whose lines are on screen."""
        top = self.scroll_offset.y
        nodes = (self.get_node_at_line(line) for line in range(top, top + self.size.height))
        return tuple(node.data for node in nodes if node is not None and node.data is not None)

    def _announce_view(self) -> None:
        ids = self.in_view()
        if ids != self._in_view:
            self._in_view = ids
            self.post_message(self.InView(ids))
