"""How many visitors' consoles run at once: in all, and per client address.

A place is taken when a visitor's websocket is admitted, before its console process starts, and given
back when that console has ended (not when the websocket closed): a console that is still ending its
runs counts, so a visitor who reconnects at once cannot stack consoles past the limits.
The table lives on the server's event loop only; nothing here blocks or locks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """The options of ``execdeck serve``: ``idle_timeout`` in seconds without input from the browser."""

    max_sessions: int = 20
    max_per_address: int = 3
    idle_timeout: float = 900.0

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_per_address"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
        if self.idle_timeout <= 0:
            raise ValueError("--idle-timeout must be more than 0 seconds")


@dataclass(frozen=True, eq=False)
class Place:
    """One admitted session: who (the visitor's session id) from where (the client address)."""

    visitor: str
    address: str


class SessionTable:
    """The places taken now, against :class:`Limits`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._places: set[Place] = set()
        self._per_address: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._places)

    def count(self, address: str) -> int:
        """Places taken from ``address``."""
        return self._per_address[address]

    def refusal(self, address: str) -> str | None:
        """Why a new session from ``address`` cannot start now (one sentence for the visitor), or ``None``."""
        if len(self._places) >= self.limits.max_sessions:
            return f"all {self.limits.max_sessions} places are taken"
        if self._per_address[address] >= self.limits.max_per_address:
            return f"your address already has {self.limits.max_per_address} consoles open (the most per address)"
        return None

    def admit(self, visitor: str, address: str) -> Place | None:
        """Take a place, or ``None`` when :meth:`refusal` says no."""
        if self.refusal(address) is not None:
            return None
        place = Place(visitor, address)
        self._places.add(place)
        self._per_address[address] += 1
        return place

    def release(self, place: Place) -> None:
        """Give ``place`` back (once; a second call does nothing)."""
        if place in self._places:
            self._places.remove(place)
            self._per_address[place.address] -= 1
            if not self._per_address[place.address]:
                del self._per_address[place.address]
