"""Fixtures for engine tests: an engine built from inline entries, and a leak guard.

``engine_factory(**native_fields)`` returns an :class:`Engine` with one native executor
``t:native`` (or the entries given). At teardown the engine is shut down and the test fails if any
process group that one of its native runs created still has a live member.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.support import NATIVE, EngineFactory, assert_no_group_survives, native_entry
from tui.core.engine import Engine
from tui.core.entries.models import Entry, LoadResult
from tui.core.process import Process


@pytest.fixture
def engine_factory() -> Iterator[EngineFactory]:
    engines: list[Engine] = []
    processes: list[Process] = []

    def make(*entries: Entry, **fields: Any) -> Engine:
        chosen = entries or (native_entry(**fields),)
        engine = Engine(LoadResult(entries=tuple(chosen)), buffer_cap=1024 * 1024)
        engine.add_listener(processes.append)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown(grace=1.0)
    assert_no_group_survives([int(p.handle) for p in processes if p.handle and p.spec.kind == NATIVE.label])


@pytest.fixture
def engine(engine_factory: EngineFactory) -> Engine:
    """An engine with one native executor ``t:native`` and no configuration."""
    return engine_factory()
