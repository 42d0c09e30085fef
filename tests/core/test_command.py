"""The tokenizer and the whitelist: the cases of docs/reference-contract.md, as a table. The two
rules are reached through the kinds that follow them, as every caller does."""

from __future__ import annotations

from typing import Any

import pytest

from tui.core.command import check_whitelist, go_trim_space, join_words, split_keeping_empty
from tui.core.errors import ErrorKind, ExecError
from tui.core.executors import registry
from tui.core.executors.base import Kind

# (input, native argv, docker Cmd) from the spec's table, plus the rules around it.
VECTORS = [
    ("echo 'hello world'", ["echo", "hello world"], ["echo", "hello world"]),
    ("echo ''", ["echo", ""], ["echo"]),
    ("x '' ''", ["x", "", ""], ["x"]),
    ("''b x", ["", "b", "x"], ["b", "x"]),
    ('echo "hello', ["echo", '"hello'], ["echo", "hello"]),
    ('echo ab"cd', ["echo", '"abcd'], ["echo", "abcd"]),
    ('echo "', ["echo", '"'], ["echo"]),
    ('find . -name "*.go" | grep x', ["find", ".", "-name", "*.go", "|", "grep", "x"],
     ["find", ".", "-name", "*.go", "|", "grep", "x"]),
    ("DEBUG=true npm start", ["DEBUG=true", "npm", "start"], ["DEBUG=true", "npm", "start"]),
    ("   ", [], []),
    ('a"b c"d', ["ab cd"], ["ab cd"]),
    ("echo   a    b", ["echo", "a", "b"], ["echo", "a", "b"]),
    ("echo a\tb", ["echo", "a\tb"], ["echo", "a\tb"]),
    ("echo a\nb", ["echo", "a\nb"], ["echo", "a\nb"]),
    ("echo 'it\"s'", ["echo", 'it"s'], ["echo", 'it"s']),
    ('echo "it\'s"', ["echo", "it's"], ["echo", "it's"]),
    ("echo a\\ b", ["echo", "a\\", "b"], ["echo", "a\\", "b"]),
    ("echo $HOME > out; ls && rm *", ["echo", "$HOME", ">", "out;", "ls", "&&", "rm", "*"],
     ["echo", "$HOME", ">", "out;", "ls", "&&", "rm", "*"]),
    ("\t\n echo hi \u00a0\u3000", ["echo", "hi"], ["echo", "hi"]),
    ("", [], []),
]


def kind(name: str) -> Kind[Any]:
    found = registry.find(name)
    assert found is not None
    return found


@pytest.mark.parametrize(("command", "native", "docker"), VECTORS)
def test_commands_split_exactly_as_the_reference_does(command: str, native: list[str], docker: list[str]) -> None:
    assert kind("exec.native").tokenize(command) == native
    assert kind("exec.docker").tokenize(command) == docker


def test_trimming_uses_go_white_space_not_python_strip() -> None:
    # Python's strip() removes \x1c-\x1f; Go's TrimSpace keeps them.
    assert go_trim_space("\x1cecho\x1f") == "\x1cecho\x1f"
    assert split_keeping_empty("\x1fecho") == ["\x1fecho"]
    assert go_trim_space("\u0085\u2028x\u2029\u205f") == "x"


@pytest.mark.parametrize("command", ["ls -l", "git status"])
def test_the_exact_allowed_string_passes_the_whitelist(command: str) -> None:
    check_whitelist(command, ["ls -l", "git status"])


@pytest.mark.parametrize(
    "command",
    [
        "ls  -l", " ls -l", "ls -l ", "ls\t-l", "ls -l;", "ls -l; rm -rf /", "ls -l && id", "ls -l | sh",
        "'ls' -l", '"ls -l"', "ls '-l'", "LD_PRELOAD=x ls -l", "A=1 ls -l", "ls", "ls -la", "ls -l\n",
        "LS -L", "ls -l $(id)", "ls -l `id`", "ls\u00a0-l",
    ],
)
def test_strings_that_resemble_an_allowed_command_are_refused(command: str) -> None:
    with pytest.raises(ExecError) as caught:
        check_whitelist(command, ["ls -l", "git status"])
    assert caught.value.kind is ErrorKind.INVALID
    assert caught.value.message == f"command not allowed: {command}"
    assert caught.value.details["command"] == command


def test_an_empty_whitelist_allows_every_command() -> None:
    check_whitelist("anything at all", [])
    check_whitelist("anything at all", None)


@pytest.mark.parametrize(
    ("words", "command"),
    [
        (["uname", "-a"], "uname -a"),
        (["sh", "-c", "exit 3"], "sh -c 'exit 3'"),
        (["echo", "it's"], "echo \"it's\""),
        (["echo", ""], "echo ''"),
        (["echo", 'say "hi"'], "echo 'say \"hi\"'"),
    ],
)
def test_separate_words_are_joined_into_the_string_that_splits_back_into_them(
    words: list[str], command: str
) -> None:
    assert join_words(words) == command
    assert split_keeping_empty(command) == words


def test_a_word_with_both_quote_characters_cannot_be_joined() -> None:
    with pytest.raises(ExecError, match="pass the whole command as one string"):
        join_words(["echo", "it's \"x\""])
