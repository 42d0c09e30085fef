"""Where entry files come from: ``--entries``, else ``$EXECDECK_ENTRIES``, else ``./sample_entries``,
else the samples shipped in the package (spec/console.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.core.entries.paths import ENTRIES_ENV, packaged_samples, resolve_entry_paths


@pytest.fixture
def bare_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without sample_entries, and no EXECDECK_ENTRIES."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENTRIES_ENV, raising=False)
    return tmp_path


def test_cli_paths_win_over_everything(bare_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENTRIES_ENV, "/from/env")
    (bare_dir / "sample_entries").mkdir()
    assert resolve_entry_paths(["one", "two/x.yaml"]) == [Path("one"), Path("two/x.yaml")]


def test_the_environment_variable_is_split_on_colons_ignoring_empty_parts(
    bare_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENTRIES_ENV, ":/a::/b/c.yaml:")
    (bare_dir / "sample_entries").mkdir()
    assert resolve_entry_paths([]) == [Path("/a"), Path("/b/c.yaml")]


def test_empty_cli_paths_fall_through_to_the_environment(
    bare_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENTRIES_ENV, "/a")
    assert resolve_entry_paths([""]) == [Path("/a")]


def test_a_tilde_is_expanded(bare_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(bare_dir))
    monkeypatch.setenv(ENTRIES_ENV, "~/entries")
    assert resolve_entry_paths([]) == [bare_dir / "entries"]


def test_local_sample_entries_are_used_when_they_exist(
    bare_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENTRIES_ENV, "::")
    (bare_dir / "sample_entries").mkdir()
    assert resolve_entry_paths([]) == [Path("sample_entries")]


def test_the_packaged_samples_are_the_last_resort(bare_dir: Path) -> None:
    paths = resolve_entry_paths([])
    assert paths == [packaged_samples()]
    assert (paths[0] / "_index.yaml").is_file()
