"""One entry file's bytes into its entries, problems and policies: decoding, YAML, validation.

Contract of :func:`parse_file`: it never raises for anything the bytes hold; every fault is a
:class:`Problem` naming the file and, where one exists, the line. The loader calls it for what the cache
(``tui.core.entries.cache``) does not hold; PyYAML is imported with this module, and only then.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.events import CollectionEndEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, SequenceNode

from tui.core.entries.models import FileResult, Location, Problem
from tui.core.entries.validate import validate_document
from tui.core.policy.model import EXPRESSION_POLICY_KIND, POLICY_KIND, Policy

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


def parse_file(path: Path, data: bytes) -> FileResult:
    """The entries of the file ``path`` whose bytes are ``data``, its problems (sorted by line) and its
    policies."""
    problems: list[Problem] = []
    text = _decode(path, data, problems)
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


def _decode(path: Path, data: bytes, problems: list[Problem]) -> str | None:
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
