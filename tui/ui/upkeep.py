"""The console's upkeep of what runs leave behind, for every kind that can: the orphan sweep at start-up
(offered, never done on its own) and prune from the palette. Both run on workers and ask the kinds'
capabilities, at the places :func:`tui.core.executors.registry.places` lists (as ``execdeck prune`` does).
"""

from __future__ import annotations

from typing import Any

from tui.core.executors import registry
from tui.core.executors.base import Leftover, OrphanSweep
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.widgets.run_tab import post_call

#: Seconds a place may take to answer: a daemon that is not there must not hold up the sweep.
CONNECT_TIMEOUT = 2.0


def sweep_orphans(app: Any) -> None:
    """Worker: find what still runs for console instances that are gone, and offer to end it.

    Only kinds with entries loaded are asked: a kind nobody configured is not contacted at start-up.
    """
    entries = app.load_result.executors
    used = {entry.kind for entry in entries}
    for sweep, place in registry.places(entries, lambda kind: kind.orphans if kind.name in used else None):
        try:
            orphans = sweep.find(place, app.engine.scope, CONNECT_TIMEOUT)
        except Exception:  # noqa: BLE001 - the sweep is an offer; a place that fails is just skipped
            continue
        if orphans:
            _offer_kill(app, sweep, place, orphans)


def _offer_kill(app: Any, sweep: OrphanSweep[Any], place: str, orphans: list[Leftover]) -> None:
    def answered(yes: bool | None) -> None:
        if yes:
            app.run_worker(lambda: sweep.kill(place, app.engine.scope, orphans), thread=True, exit_on_error=False)

    question = f"{len(orphans)} {sweep.noun} of execdeck consoles that are gone still run on {place}.\nKill them?"
    post_call(app, app.push_screen, ConfirmScreen(question, yes="Kill", title=sweep.title), answered)


def prune_leftovers(app: Any, kind_name: str) -> None:
    """Worker: remove what ended runs of kind ``kind_name`` left, at every place; notify the count."""
    removed = 0
    places = registry.places(app.load_result.executors, lambda kind: kind.prune if kind.name == kind_name else None)
    noun = places[0][0].noun if places else "item(s)"
    for prune, place in places:
        try:
            removed += len(prune.remove(place, app.engine.scope, False, CONNECT_TIMEOUT))
        except Exception as err:  # noqa: BLE001 - one place failing must not hide the others
            post_call(app, app.notify, f"prune on {place} failed: {_message(err)}", severity="error")
    post_call(app, app.notify, f"removed {removed} {noun}")


def _message(err: Exception) -> str:
    return str(getattr(err, "message", err))
