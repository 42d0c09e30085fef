"""A process that streams fast keeps its C heap (glibc) rather than handing memory back to the kernel after
every batch of reads and faulting it in again.

The reader of a fast pipe gets a fresh bytes object of up to 64 KiB per read; a subscriber that hears of
reads in batches (the run recorder) holds up to a batch of them, which are then freed together at the top
of the heap. glibc's default, dynamic thresholds trimmed that top off again and again: on a recorded
256 MiB stream, ~50,000 minor page faults and three times the reader's processor time; with the top kept,
a hundredfold fewer faults and the stream's throughput as without a subscriber. The memory kept is what the
process used anyway (at most :data:`TRIM_THRESHOLD` of it stays when it is freed).
"""

from __future__ import annotations

import contextlib

#: glibc's ``mallopt`` parameters (``malloc.h``).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Free memory at the top of the heap that is kept rather than handed back.
TRIM_THRESHOLD = 64 * 1024 * 1024
#: Allocations below this come from the heap. Fixed with the trim threshold, as setting either turns off
#: glibc's own adjustment of both (which would otherwise have raised it to the largest block freed, at most
#: this much): larger blocks joined from batches would otherwise be mapped and unmapped each time.
MMAP_THRESHOLD = 32 * 1024 * 1024

_done = False


def keep_heap() -> None:
    """Set the thresholds above, once per process; called when a pipe turns out to be a fast writer's (short
    runs never pay for loading ctypes). Does nothing where the C library has no ``mallopt`` (not glibc);
    never raises."""
    global _done
    if _done:
        return
    _done = True
    with contextlib.suppress(ImportError, OSError, AttributeError):
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
