"""The entries cache: a file loaded again is read back without PyYAML, and only ever for the same bytes
and the same code; anything it cannot trust or keep is simply parsed again."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tui.core.entries import cache, load_entries
from tui.core.entries import parse as parse_module
from tui.core.entries.models import FileResult
from tui.core.executors.memory import MemoryKind

FIXTURES = Path(__file__).parent / "fixtures"
POLICIES = Path(__file__).parent.parent / "policy"
SAMPLE = """namespace: cached
entries:
  - name: shell
    kind: exec.native
    default_env: {PATH: /usr/bin:/bin}
    command_whitelist: [echo one, echo two]
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder of this test's own, so what it finds there is what it did."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files parsed (not read from the cache) from now on."""
    seen: list[Path] = []
    real: Callable[[Path, bytes], FileResult] = parse_module.parse_file

    def counting(path: Path, data: bytes) -> FileResult:
        seen.append(path)
        return real(path, data)

    monkeypatch.setattr(parse_module, "parse_file", counting)
    return seen


def cache_files() -> list[Path]:
    where = cache.folder()
    return sorted(where.iterdir()) if where is not None and where.exists() else []


@pytest.mark.parametrize("path", [
    FIXTURES / "good.yaml", FIXTURES / "meta_merge.yaml", FIXTURES / "unknown_field.yaml",
    FIXTURES / "mixed", Path(__file__).parent.parent.parent / "sample_entries", *sorted(POLICIES.rglob("*.yaml")),
], ids=lambda p: p.name)
def test_a_file_loaded_again_comes_from_the_cache_and_equals_its_parse(path: Path, parses: list[Path]) -> None:
    first = load_entries([path])
    parsed = len(parses)
    again = load_entries([path])
    assert again == first
    assert len(parses) == parsed  # nothing parsed the second time


def test_other_bytes_are_parsed_again_even_with_the_same_size_and_time(tmp_path: Path, parses: list[Path]) -> None:
    entry_file = tmp_path / "entries.yaml"
    entry_file.write_text(SAMPLE)
    before = os.stat(entry_file)
    assert [e.whitelist for e in load_entries([entry_file]).entries] == [("echo one", "echo two")]
    entry_file.write_text(SAMPLE.replace("echo two", "echo 2wo"))
    os.utime(entry_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert [e.whitelist for e in load_entries([entry_file]).entries] == [("echo one", "echo 2wo")]
    assert parses == [entry_file, entry_file]


def test_a_kind_registered_at_run_time_turns_the_cache_off(tmp_path: Path, memory_kind: MemoryKind,
                                                           parses: list[Path]) -> None:
    entry_file = tmp_path / "memory.yaml"
    entry_file.write_text("namespace: m\nentries:\n  - name: box\n    kind: exec.memory\n")
    for _ in range(2):
        entry = load_entries([entry_file]).get("m:box")
        assert entry is not None and entry.is_executor
    assert parses == [entry_file, entry_file]
    assert not any(p.name.startswith("memory.yaml") for p in cache_files())


def test_the_cache_is_private_and_not_used_once_others_may_write_it(tmp_path: Path, parses: list[Path]) -> None:
    entry_file = tmp_path / "entries.yaml"
    entry_file.write_text(SAMPLE)
    load_entries([entry_file])
    where = cache.folder()
    assert where is not None
    kept = [p for p in cache_files() if p.name.startswith("entries.yaml")]
    assert len(kept) == 1
    assert stat.S_IMODE(os.stat(where).st_mode) == 0o700 and stat.S_IMODE(os.stat(kept[0]).st_mode) == 0o600
    os.chmod(where, 0o777)
    try:
        assert load_entries([entry_file]).get("cached:shell") is not None
    finally:
        os.chmod(where, 0o700)
    assert parses == [entry_file, entry_file]


def test_a_damaged_cache_file_is_a_miss(tmp_path: Path, parses: list[Path]) -> None:
    entry_file = tmp_path / "entries.yaml"
    entry_file.write_text(SAMPLE)
    first = load_entries([entry_file])
    (kept,) = [p for p in cache_files() if p.name.startswith("entries.yaml")]
    kept.write_bytes(b"\x00garbage" * 100)
    assert load_entries([entry_file]) == first
    assert parses == [entry_file, entry_file]


def test_a_result_marshal_cannot_keep_is_parsed_each_time(tmp_path: Path, parses: list[Path]) -> None:
    entry_file = tmp_path / "dated.yaml"
    entry_file.write_text("namespace: d\nmeta: {since: 2024-05-01}\nentries:\n  - name: x\n    kind: note\n")
    first = load_entries([entry_file])
    assert first.get("d:x") is not None and str(first.entries[0].meta["since"]) == "2024-05-01"
    assert load_entries([entry_file]) == first
    assert parses == [entry_file, entry_file]
    assert not any(p.name.startswith("dated.yaml") for p in cache_files())


def test_execdeck_cache_off_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          parses: list[Path]) -> None:
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    entry_file = tmp_path / "uncached.yaml"
    entry_file.write_text(SAMPLE)
    load_entries([entry_file])
    load_entries([entry_file])
    assert parses == [entry_file, entry_file]
    assert not any(p.name.startswith("uncached.yaml") for p in cache_files())


RUN_AND_LIST_MODULES = """
import sys
from tui.cli import main
code = main(["--entries", sys.argv[1], "run", "cached:shell", "echo one"])
print(code, sorted(m for m in ("yaml", "textual", "docker", "lupa", "re2") if m in sys.modules))
"""


def test_execdeck_run_from_cached_entries_loads_no_yaml_parser(tmp_path: Path) -> None:
    entry_file = tmp_path / "entries.yaml"
    entry_file.write_text(SAMPLE)
    outputs = [subprocess.run([sys.executable, "-c", RUN_AND_LIST_MODULES, str(entry_file)], capture_output=True,
                              text=True, timeout=60, check=True).stdout.splitlines()
               for _ in range(2)]
    assert outputs[0] == ["one", "0 ['yaml']"]  # the first run parses the file
    assert outputs[1] == ["one", "0 []"]
