"""The REPL history file: multi-line entries, dedup, bound, prefix search, restarts, unwritable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.lua.history import History, default_history_path


def test_the_default_file_is_in_the_xdg_data_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_history_path() == tmp_path / "execdeck" / "repl_history"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_history_path() == tmp_path / ".local" / "share" / "execdeck" / "repl_history"


def test_entries_survive_a_restart_including_multi_line_ones(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "repl_history"
    first = History(path)
    first.add("x = 1")
    first.add("function f()\n  return 'a\\tb'\nend")
    assert History(path).entries == ["x = 1", "function f()\n  return 'a\\tb'\nend"]


def test_a_repeated_entry_is_kept_once_as_the_newest(tmp_path: Path) -> None:
    history = History(tmp_path / "h")
    for entry in ["a", "b", "a", "c", "b"]:
        history.add(entry)
    assert history.entries == ["a", "c", "b"]
    assert History(tmp_path / "h").entries == ["a", "c", "b"]


def test_blank_entries_are_ignored(tmp_path: Path) -> None:
    history = History(tmp_path / "h")
    history.add("   ")
    history.add("")
    assert len(history) == 0


def test_the_history_is_bounded_keeping_the_newest(tmp_path: Path) -> None:
    history = History(tmp_path / "h", limit=5)
    for index in range(12):
        history.add(f"entry {index}")
    assert history.entries == [f"entry {index}" for index in range(7, 12)]
    assert len(History(tmp_path / "h", limit=5)) == 5


def test_prefix_search_gives_the_newest_first(tmp_path: Path) -> None:
    history = History(tmp_path / "h")
    for entry in ["print(1)", "x = 2", "print(2)", "pairs(t)"]:
        history.add(entry)
    assert history.search_prefix("print") == ["print(2)", "print(1)"]
    assert history.search_prefix("p") == ["pairs(t)", "print(2)", "print(1)"]
    assert history.search_prefix("zzz") == []


def test_two_sessions_on_the_same_file_keep_each_others_entries(tmp_path: Path) -> None:
    path = tmp_path / "h"
    one, two = History(path), History(path)
    one.add("from one")
    two.add("from two")
    one.add("one again")
    assert History(path).entries == ["from one", "from two", "one again"]


def test_an_unwritable_file_never_breaks_the_repl(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    history = History(blocker / "repl_history")
    history.add("still works")
    assert history.entries == ["still works"]
    assert history.search_prefix("still") == ["still works"]
    assert history.last_error is not None and "cannot save" in history.last_error


def test_a_damaged_line_costs_only_that_entry(tmp_path: Path) -> None:
    path = tmp_path / "h"
    path.write_text('"good one"\n{not json\n"good two"\n42\n')
    assert History(path).entries == ["good one", "good two"]
