"""B1R (issue 6): B1 with run recording on against B1 with it off, in the same run, alternating.

Both sides stream 256 MiB of stdout from a native process through a ``Process`` reader (B1's product);
"on" attaches a recorder to a temporary records file first, with the default output cap, so after
the first 8 MiB the recorder only counts. The ratio is throughput on / off (target >= 0.9), the
median of the pairs; the order inside a pair alternates (see :func:`run_b1_recording`). 32 pairs (a
pair takes under half a second): single pairs range from 0.7 to 1.3 here, as a 256 MiB stream runs in
one of two regimes (about 1 and about 2 GB/s, whichever side it is), and the median of eight moved from
0.95 to 1.11 between two runs of the same code, that of sixteen from 0.90 to 1.19.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from benchmarks.native import MIB, _engine, stream_through_reader
from benchmarks.pairs import paired_result
from tui.core.records import RecordStore, attach_recorder


def _stream(size: int, record_to: Path | None) -> float:
    engine = _engine()
    recorder = attach_recorder(engine, path=record_to) if record_to is not None else None
    assert recorder is None or recorder.active, recorder.problem if recorder else None
    try:
        return stream_through_reader(engine, size)
    finally:
        engine.shutdown()
        if recorder is not None:
            recorder.close()


def run_b1_recording(mib: int = 256, runs: int = 32) -> dict[str, Any]:
    """Throughput (GB/s) of B1 with recording on vs off; ``ratio`` is on / off (median of pairs)."""
    size = mib * MIB
    with tempfile.TemporaryDirectory(prefix="execdeck-b1r-") as tmp:
        path = Path(tmp) / "runs.sqlite3"
        products, baselines = [], []
        for i in range(runs):
            # Which side goes first alternates pair by pair: on this machine the first run of a pair
            # was measurably slower even with both sides the same (off/off: median ratio 0.81).
            if i % 2 == 0:
                products.append(_stream(size, path))
                baselines.append(_stream(size, None))
            else:
                baselines.append(_stream(size, None))
                products.append(_stream(size, path))
        store = RecordStore.open(path)
        recorded = store.list_runs(limit=None)
        store.close()
        # The figure is only worth something if every run was really recorded, and in full.
        assert len(recorded) == runs and all(r.stdout_bytes == size and r.status == "ok" for r in recorded)
    return paired_result(products, baselines, "GB/s")
