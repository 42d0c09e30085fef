"""Find entry files and load them into one :class:`LoadResult`.

Contract: nothing here raises for anything on disk. Every failure (a missing path, a file that is too
big, not UTF-8, not YAML, an alias bomb, a bad entry) becomes a :class:`Problem` naming the file and,
where one exists, the line; a bad file or entry never stops the good ones from loading. Loading is
pure (no global state), so it may run in a worker thread, and reloading is calling it again.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path

import yaml
from yaml.events import CollectionEndEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from tui.core.entries.models import Entry, LoadResult, Location, Problem
from tui.core.entries.validate import validate_document
from tui.core.policy.model import EXPRESSION_POLICY_KIND, POLICY_KIND, Policy

YAML_SUFFIXES = (".yaml", ".yml")

MAX_FILE_BYTES = 8 * 1024 * 1024
"""A bigger file is refused unread. 5,000 executors take about half a MiB, so this is room for tens of
thousands in one file; loading holds the file's node graph, about 35 times its size, for a moment."""

MAX_DEPTH = 100
"""How deeply collections may nest in an entry file (entries use about six levels).

PyYAML's C loader (``CSafeLoader``, ten times faster than the pure-Python one) builds the node graph by
recursing on the C stack and crashes the whole process (SIGSEGV) on a few tens of thousands of ``[[[[``;
validation recurses too. So the depth is bounded before a document reaches it (:func:`_too_deep`).
"""

MAX_ALIAS_EXPANSION = 100_000
"""How many nodes aliases may add once expanded ("billion laughs" adds billions in a few lines)."""

# libyaml when PyYAML was built with it (the wheels are), else the pure-Python loader: same nodes, same marks.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def find_entry_files(paths: Sequence[Path]) -> tuple[list[Path], list[Problem]]:
    """The entry files named by ``paths``, in a deterministic order, and the problems finding them.

    A file is taken whatever its suffix (it was named on purpose). A folder is searched recursively
    for ``*.yaml``/``*.yml``: names sorted, files of a folder before its subfolders, hidden files
    and folders skipped (editor backups, ``.git``), symlinked folders followed once. A path that does
    not exist is an error, a folder without entry files a warning. A file reached twice (named and
    inside a named folder) is listed once, so its entries are not reported as duplicates of
    themselves.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for given in paths:
        found: list[Path] = []
        if given.is_file():
            found = [given]
        elif given.is_dir():
            found = _walk(given, problems)
            if not found:
                problems.append(
                    Problem(Location(given), "no *.yaml or *.yml files in this folder", severity="warning")
                )
        elif given.exists():
            problems.append(Problem(Location(given), "not a file or a folder"))
        else:
            problems.append(Problem(Location(given), "no such file or folder"))
        for path in found:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                files.append(path)
    return files, problems


def _walk(root: Path, problems: list[Problem]) -> list[Path]:
    found: list[Path] = []
    visited: set[str] = set()

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        problems.append(Problem(Location(where), f"cannot read this folder: {exc.strerror}"))

    for folder, dirs, names in os.walk(root, onerror=unreadable, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:  # a symlink loop, or two links to one folder
            dirs[:] = []
            continue
        visited.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(
            Path(folder) / name
            for name in sorted(names)
            if not name.startswith(".") and name.endswith(YAML_SUFFIXES)
        )
    return found


def load_entries(paths: Sequence[Path]) -> LoadResult:
    """Load every entry file under ``paths`` (see :func:`find_entry_files`) into one result.

    Entries keep file order; problems are grouped by file, by line within a file. Two entries with
    one id: the first loads, the second is an error naming both places.
    """
    files, problems = find_entry_files(paths)
    entries: list[Entry] = []
    policies: list[Policy] = []
    by_id: dict[str, Entry] = {}
    for path in files:
        file_entries, file_problems, file_policies = load_file(path)
        problems.extend(file_problems)
        policies.extend(file_policies)
        for entry in file_entries:
            first = by_id.get(entry.id)
            if first is None:
                by_id[entry.id] = entry
                entries.append(entry)
                continue
            problems.append(
                Problem(
                    entry.location,
                    f"duplicate id '{entry.id}': declared at {first.location} and again at {entry.location};"
                    " the second is not loaded",
                    entry.id,
                    "name",
                    "rename one of them, or give the files different namespaces",
                )
            )
    # A policy is in force only when its entry is (the second of two with one id is not).
    kept = tuple(p for p in policies if by_id[p.id].location == p.location)
    return LoadResult(tuple(entries), tuple(problems), tuple(files), kept)


def load_file(path: Path) -> tuple[list[Entry], list[Problem], list[Policy]]:
    """The entries of one file, its problems (sorted by line) and its policies; duplicates across files
    are not seen."""
    problems: list[Problem] = []
    text = _read_text(path, problems)
    if text is None:
        return [], problems, []
    root = _compose(path, text, problems)
    if root is None:
        return [], problems, []
    try:
        entries, found = validate_document(path, text, root)
        policies: list[Policy] = []
        if any(entry.kind in (POLICY_KIND, EXPRESSION_POLICY_KIND) for entry in entries):
            from tui.core.policy.load import read_policies  # RE2 and the policy rules, only where used

            policies, policy_problems = read_policies(path, root, entries)
            found += policy_problems
    except RecursionError:
        return [], [Problem(Location(path, 1), "the YAML is nested too deeply")], []
    problems.extend(found)
    problems.sort(key=lambda p: p.location.line)
    return entries, problems, policies


def _read_text(path: Path, problems: list[Problem]) -> str | None:
    where = Location(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read forever
            problems.append(Problem(where, "not a regular file"))
            return None
        if info.st_size > MAX_FILE_BYTES:
            problems.append(Problem(where, _too_big(info.st_size)))
            return None
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        problems.append(Problem(where, f"cannot read the file: {exc.strerror or exc}"))
        return None
    if len(data) > MAX_FILE_BYTES:  # it grew after stat()
        problems.append(Problem(where, _too_big(len(data))))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(
            Problem(
                Location(path, line),
                f"not a UTF-8 text file (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                hint="save the file as UTF-8",
            )
        )
        return None
    if not text.strip():
        problems.append(Problem(Location(path, 1), "the file is empty", hint="add namespace: and entries:"))
        return None
    return text


def _too_big(size: int) -> str:
    mib = MAX_FILE_BYTES // (1024 * 1024)
    return f"the file is too big to be an entry file ({size:,} bytes; the limit is {mib} MiB), not read"


def _compose(path: Path, text: str, problems: list[Problem]) -> Node | None:
    """The document's node graph (lines kept), or ``None`` after reporting why there is none."""
    try:
        deep = _too_deep(text)
        if deep:
            problems.append(Problem(Location(path, deep), f"the YAML is nested too deeply (more than {MAX_DEPTH} "
                                    "levels of lists and mappings)", hint="flatten the structure"))
            return None
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = ", ".join(str(part) for part in (exc.context, exc.problem) if part)
        column = f" (column {mark.column + 1})" if mark is not None else ""
        line = mark.line + 1 if mark is not None else 0
        problems.append(Problem(Location(path, line), f"invalid YAML: {detail}{column}"))
        return None
    except yaml.reader.ReaderError as exc:
        problems.append(_reader_problem(path, text, exc))
        return None
    except yaml.YAMLError as exc:
        problems.append(Problem(Location(path), f"invalid YAML: {exc}"))
        return None
    except RecursionError:  # the pure-Python loader, where libyaml is missing
        problems.append(Problem(Location(path, 1), "the YAML is nested too deeply"))
        return None
    if root is None:
        problems.append(Problem(Location(path, 1), "the file is empty (only comments)"))
        return None
    refusal = _alias_refusal(root)
    if refusal:
        problems.append(Problem(Location(path, refusal[1]), refusal[0], hint="write the values out"))
        return None
    return root


def _reader_problem(path: Path, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow. libyaml gives the offset in the UTF-8 bytes and the code point,
    the pure-Python reader the offset in the text and the character."""
    if isinstance(exc.character, int):
        before = text.encode("utf-8", "surrogatepass")[: exc.position]
        line, code = before.count(b"\n") + 1, exc.character
    else:
        line = text[: exc.position].count("\n") + 1
        code = ord(exc.character) if exc.character else ord("?")
    return Problem(Location(path, line), f"not a YAML text: the character U+{code:04X} is not allowed in YAML")


def _block_run(length: int) -> re.Pattern[str]:
    # Searched after a newline rather than at ``^`` in multiline mode: five times faster, the newline
    # being a literal that the search skips to. The text gets one in front for its first line.
    return re.compile(rf"\n[ \t?:-]{{{length}}}")


def _too_deep(text: str) -> int:
    """The line where collections nest more than :data:`MAX_DEPTH` deep, or 0.

    A cheap bound first, from counts made in C: a flow collection opens at a ``[`` or ``{``, and each
    level of block collections starts at a column at least as far right as the one it is in (a sequence
    may share its mapping's column, nothing else), where only indentation and ``-``, ``?``, ``:`` may
    stand before it on its line. So the depth is at most the number of brackets plus twice the widest
    such run at the start of a line. Only a file over that bound is parsed (by libyaml, without building
    nodes, which does not recurse) to count exactly.
    """
    flow = text.count("[") + text.count("{")
    room = (MAX_DEPTH - flow) // 2 - 1  # the widest run that keeps the bound within MAX_DEPTH
    if room > 0 and not _block_run(room + 1).search("\n" + text):
        return 0
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark.line + 1 if event.start_mark is not None else 1
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return 0


class _Recursive(Exception):
    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node


def _alias_refusal(root: Node) -> tuple[str, int] | None:
    """Why the node graph is refused (message, line), or ``None``.

    ``yaml.compose`` shares the node of an anchor between its aliases, so the graph is small even for
    an alias bomb, and may even be cyclic (``&a [*a]``). Walking it as a tree (as validation and
    anyone printing ``meta`` do) would then never end: measure the expanded size with memoisation
    instead, and refuse cycles and large expansions before anything walks it.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in active:
            raise _Recursive(node)
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for child in node.value:
                total += size(child)
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                total += size(key_node) + size(value_node)
        active.discard(key)
        sizes[key] = total
        return total

    try:
        expanded = size(root)
    except _Recursive as exc:
        return "a recursive alias (an anchor used inside itself) is not allowed", exc.node.start_mark.line + 1
    except RecursionError:
        return "the YAML is nested too deeply", 1
    if expanded - len(sizes) > MAX_ALIAS_EXPANSION:
        limit = f"{MAX_ALIAS_EXPANSION:,}"
        return f"aliases expand to {expanded:,} values (the limit is {limit}): refused as an alias bomb", 1
    return None
