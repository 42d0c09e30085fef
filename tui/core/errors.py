"""Errors of the engine.

Every operation of the engine either returns a value or raises :class:`ExecError`; nothing else
escapes to an operator. The Lua layer turns an ``ExecError`` into the ``nil, err`` pair that scripts
written for the reference runtime expect; the command line and the console show its ``message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class ErrorKind(StrEnum):
    """The kinds the reference runtime's ``exec`` module reports (``errors.INVALID``, ``errors.INTERNAL``),
    spelt as it spells them: scripts compare them."""

    INVALID = "Invalid"
    INTERNAL = "Internal"


class ExecError(Exception):
    """An error for people: a kind, the plain reason, and details (the command, the id...).

    ``str(err)`` is the message alone, as ``tostring(err)`` is in Lua. ``retryable`` is always false
    for the errors of this module, as in the reference runtime (nothing here is worth retrying as is).
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        details: Mapping[str, str] | None = None,
        *,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.details: Mapping[str, str] = MappingProxyType(dict(details or {}))
        self.retryable = retryable

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ExecError({self.kind.value}, {self.message!r}, {dict(self.details)!r})"


def invalid(message: str, **details: str) -> ExecError:
    """An ``Invalid`` error: a pre-check failed (empty command, closed process...)."""
    return ExecError(ErrorKind.INVALID, message, details)


def internal(message: str, **details: str) -> ExecError:
    """An ``Internal`` error: something the backend (OS, Docker daemon) reported."""
    return ExecError(ErrorKind.INTERNAL, message, details)
