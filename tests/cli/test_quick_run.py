"""The common form of ``execdeck run`` is read without argparse (``tui.cli.quick_run_args``): it must read
exactly what the parser reads, hand every other form to the parser, and the run must then load none of
the modules it was made to avoid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli_docker_imports import imported
from tui.cli import quick_run_args
from tui.cli.parser import parse_words

TAKEN = [
    ["run", "app:free", "true"],
    ["run", "app:free", "echo", "hello world"],
    ["--entries", "a.yaml", "run", "app:free", "ls", "-la"],
    ["--entries=a.yaml", "--entries", "b", "run", "--entries", "c", "app:free", "true"],
    ["run", "--env", "A=1", "--env=B=2", "--work-dir", "/tmp", "--timeout", "2.5", "x:y", "sh", "-c", "exit 3"],
    ["run", "--timeout=1e3", "x:y", "--env", "A=1"],  # after the id, everything is the command
    ["--entries", "run", "run", "x:y", "true"],  # a path named like the subcommand
    ["run", "x:y", "--", "true"],
    ["run", "x:y", "--", "--", "true"],
    ["run", "x:y", "echo", "--", "a"],
    ["run", "x:y", "true", "--"],
    ["run", "x:y", "--"],
    ["run", "x:y"],  # no command: run() says so, as after the parser
]

REFUSED = [
    [],
    ["list"],
    ["run", "--help"],
    ["run", "--actor", "user:a", "x:y", "true"],
    ["--actor", "user:a", "run", "x:y", "true"],
    ["run", "--ent", "a.yaml", "x:y", "true"],  # an abbreviation: the parser's to accept
    ["run", "--timeout", "soon", "x:y", "true"],  # the parser explains the bad number
    ["run", "--env", "-x", "x:y", "true"],
    ["run", "--work-dir"],
    ["run", "-x", "x:y"],
    ["run"],
    ["check", "run"],
    ["--env", "A=1", "run", "x:y", "true"],  # run's options before `run`: the parser's error
]


@pytest.mark.parametrize("words", TAKEN, ids=" ".join)
def test_the_quick_parse_reads_what_the_parser_reads(words: list[str]) -> None:
    quick = quick_run_args(words)
    assert quick is not None
    assert vars(quick) == vars(parse_words(words))


@pytest.mark.parametrize("words", REFUSED, ids=lambda w: " ".join(w) or "(none)")
def test_every_other_form_goes_to_the_parser(words: list[str]) -> None:
    assert quick_run_args(words) is None


def test_a_native_run_loads_neither_argparse_nor_json_nor_dataclasses(tmp_path: Path) -> None:
    entries = tmp_path / "free.yaml"
    entries.write_text("namespace: t\nentries:\n  - name: free\n    kind: exec.native\n")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", "--entries", str(entries), "run", "t:free",
         "sh", "-c", "echo ran; exit 4"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "EXECDECK_RECORDS": str(tmp_path / "runs.sqlite3")},
    )
    assert (done.returncode, done.stdout) == (4, "ran\n"), done.stderr[-2000:]
    names = imported(done.stderr)
    assert "tui" in names and "sqlite3" in names  # the listing is there, and it covers the recorded run
    assert not names & {"argparse", "json", "dataclasses", "inspect"}, sorted(names)
