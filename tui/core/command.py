"""From command string to argv, and the whitelist check: one place for both.

No shell is ever involved. The reference runtime splits commands with one tokenizer and two rules that
differ only for empty quoted arguments and unbalanced quotes: :func:`split_keeping_empty` (its native
executors) and :func:`split_dropping_empty` (its docker executors). A kind names the rule it follows;
``docs/reference-contract.md`` has the table of cases, ``tests/core/test_command.py`` tests every row.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.core.errors import ExecError, invalid

#: Go's ``unicode.IsSpace`` set: what ``strings.TrimSpace`` removes in the reference.
#: Python's ``str.strip()`` would also remove U+001C..U+001F, which Go keeps.
GO_SPACE = frozenset(
    "\t\n\v\f\r \u0085\u00a0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def go_trim_space(text: str) -> str:
    """Trim leading and trailing white space as Go's ``strings.TrimSpace`` does."""
    start, end = 0, len(text)
    while start < end and text[start] in GO_SPACE:
        start += 1
    while end > start and text[end - 1] in GO_SPACE:
        end -= 1
    return text[start:end]


def tokenize(command: str, *, keep_empty: bool = True) -> list[str]:
    """Split ``command`` into argv as the reference does.

    Only the ASCII space separates arguments, outside quotes; ``'`` and ``"`` quote, the same
    character closes; quoted text joins its neighbours; a backslash is literal. With ``keep_empty`` an
    empty quoted argument stays (``echo ''`` gives ``["echo", ""]``) and, for an unbalanced quote, the
    quote character is put back in front of the last argument; without it both are dropped. An empty
    list means "no command".
    """
    text = go_trim_space(command)
    args: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
                if keep_empty and not current:
                    args.append("")
            else:
                current.append(ch)
        elif ch in ("'", '"'):
            quote = ch
        elif ch == " ":
            if current:
                args.append("".join(current))
                current = []
        else:
            current.append(ch)
    if quote and keep_empty:
        args.append(quote + "".join(current))
    elif current:
        args.append("".join(current))
    return args


def split_keeping_empty(command: str) -> list[str]:
    """The reference's rule for host processes: ``x '' ''`` is three arguments, ``echo "`` keeps its quote."""
    return tokenize(command, keep_empty=True)


def split_dropping_empty(command: str) -> list[str]:
    """The reference's rule for container commands: ``x '' ''`` is one argument, ``echo "`` is ``echo``."""
    return tokenize(command, keep_empty=False)


def check_whitelist(command: str, whitelist: Sequence[str] | None) -> None:
    """Refuse ``command`` unless it is exactly one of ``whitelist`` (no trimming, no folding).

    An empty or absent whitelist allows everything. Every path that runs a command (console, command
    line, Lua) goes through this one check, before anything runs.

    Raises:
        ExecError: invalid ``command not allowed: <cmd>``, with the command in ``details``.
    """
    if whitelist and command not in whitelist:
        raise command_not_allowed(command)


def command_not_allowed(command: str) -> ExecError:
    """The whitelist refusal, shared so that every path words it the same."""
    return invalid(f"command not allowed: {command}", command=command)


def is_loader_variable(name: str) -> bool:
    """True for dynamic-loader variables (``LD_*``, ``DYLD_*``) that could hijack a whitelisted program."""
    return name.startswith(("LD_", "DYLD_"))


def join_words(words: Sequence[str]) -> str:
    """The command string that :func:`tokenize` splits back into ``words``.

    For a command given as separate words (``execdeck run ID sh -c 'exit 3'``, where the shell has
    already removed the quotes): a word with a space or a quote is quoted with the quote character it
    does not contain. The result of plain words is the words joined by one space, so a whitelisted
    ``uname -a`` typed as two words still matches.

    Raises:
        ExecError: invalid, for a word holding both quote characters and a space or quote (no quoting
        of the reference's tokenizer can express it; pass the command as one string).
    """
    parts: list[str] = []
    for word in words:
        if word and not any(ch in word for ch in " '\""):
            parts.append(word)
        elif "'" not in word:
            parts.append(f"'{word}'")
        elif '"' not in word:
            parts.append(f'"{word}"')
        else:
            raise invalid(f"cannot quote the argument {word!r}: pass the whole command as one string")
    return " ".join(parts)
