"""Run records keep the actor (``execdeck history --actor ID`` filters), and what execdeck writes is
private to its user: files 0600, folders 0700, whatever the umask; a looser database is tightened on
open, with a notice."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.policy.support import FREE, policy, write
from tui.core.records import RecordStore
from tui.ui.settings import Settings, save_settings

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def execdeck(*args: str, records: Path, umask: int = 0o022, env: dict[str, str] | None = None,
             ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("EXECDECK_")}
    full.update({"EXECDECK_RECORDS": str(records), **(env or {})})
    # The umask through a shell: preexec_fn is not safe in a process with threads.
    argv = ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh", sys.executable, "-m", "tui", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO, env=full, check=False)


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    chosen: int = request.param
    previous = os.umask(chosen)
    try:
        yield chosen
    finally:
        os.umask(previous)


def test_runs_keep_the_actor_and_history_filters_by_it(tmp_path: Path) -> None:
    entries = str(write(tmp_path / "e", FREE, policy("all")))
    records = tmp_path / "runs.sqlite3"
    for actor in ("user:alice", "user:bob"):
        done = execdeck("--actor", actor, "--scope", "g", "run", "--entries", entries, "app:free", f"echo {actor}",
                        records=records)
        assert done.returncode == 0, done.stderr
    assert execdeck("run", "--entries", entries, "app:free", "echo nobody", records=records).returncode == 0

    listed = execdeck("history", "--json", records=records)
    assert [r["actor"] for r in json.loads(listed.stdout)["runs"]] == ["", "user:bob", "user:alice"]
    alice = execdeck("history", "--actor", "user:alice", "--json", records=records)
    assert [r["command"] for r in json.loads(alice.stdout)["runs"]] == ["echo user:alice"]
    before = execdeck("--actor", "user:bob", "history", records=records)
    header, row = before.stdout.splitlines()
    assert header.split() == ["TIME", "RUN", "ACTOR", "EXECUTOR", "COMMAND", "DURATION", "RESULT"]
    assert "user:bob" in row and "echo user:bob" in row


def test_a_history_without_actors_has_no_actor_column(tmp_path: Path) -> None:
    entries = str(write(tmp_path / "e", FREE))
    records = tmp_path / "runs.sqlite3"
    assert execdeck("run", "--entries", entries, "app:free", "true", records=records).returncode == 0
    header = execdeck("history", records=records).stdout.splitlines()[0]
    assert header.split() == ["TIME", "RUN", "EXECUTOR", "COMMAND", "DURATION", "RESULT"]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077], indirect=True, ids=["000", "022", "077"])
def test_a_new_database_and_its_wal_and_shm_files_are_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "new" / "deeper" / "runs.sqlite3"
    store = RecordStore.open(path)
    try:
        with store.transaction() as conn:  # a write makes the WAL and shared-memory files
            conn.execute("DELETE FROM runs")
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert mode(name) == 0o600, name
        assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
        assert store.notices == ()
    finally:
        store.close()


def test_a_looser_database_is_tightened_on_open_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE x (y)")
    conn.commit()  # the connection stays open: its -wal and -shm files exist
    try:
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            os.chmod(name, 0o644)
        entries = str(write(tmp_path / "e", FREE))
        done = execdeck("run", "--entries", entries, "app:free", "true", records=path)
    finally:
        conn.close()
    assert done.returncode == 0
    assert done.stderr == (f"execdeck: {path}: run records were readable by other users (runs.sqlite3 was 0644, "
                           "runs.sqlite3-wal was 0644, runs.sqlite3-shm was 0644); now private (0600)\n")
    assert mode(path) == 0o600
    again = execdeck("run", "--entries", entries, "app:free", "true", records=path)
    assert again.stderr == ""


def test_the_default_data_folder_is_made_private_but_a_chosen_folder_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "execdeck").mkdir(parents=True)
    os.chmod(data / "execdeck", 0o755)
    entries = str(write(tmp_path / "e", FREE))
    env = {"XDG_DATA_HOME": str(data)}
    full = {k: v for k, v in os.environ.items() if not k.startswith("EXECDECK_")}
    done = subprocess.run([sys.executable, "-m", "tui", "run", "--entries", entries, "app:free", "true"],
                          capture_output=True, text=True, timeout=60, cwd=REPO, env={**full, **env}, check=False)
    assert done.returncode == 0
    assert mode(data / "execdeck") == 0o700 and mode(data / "execdeck" / "runs.sqlite3") == 0o600
    assert done.stderr == f"execdeck: {data / 'execdeck'}: was mode 0755; now private (0700)\n"

    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    assert execdeck("run", "--entries", entries, "app:free", "true", records=shared / "r.sqlite3").returncode == 0
    assert mode(shared) == 0o755 and mode(shared / "r.sqlite3") == 0o600


@pytest.mark.parametrize("umask", [0o000, 0o022], indirect=True, ids=["000", "022"])
def test_settings_are_written_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "config" / "execdeck" / "settings.yaml"
    save_settings(Settings(theme="execdeck-light"), path)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["settings.yaml"]  # no temporary left behind
