"""Exceptions that carry a message a user can act on.

Every error names the bad value and, where there is a finite set, the valid ones.
"""
from __future__ import annotations


class ZcbenchError(Exception):
    """Base class of all errors zcbench raises on purpose."""


class UnknownNameError(ZcbenchError, KeyError):
    """A name (proxy, task, space, reader, ...) that no registry knows."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid {kind} names: {', '.join(self.valid)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class InvalidArchError(ZcbenchError, ValueError):
    """An architecture encoding that does not parse or is not in the space."""


class DataNotFoundError(ZcbenchError, FileNotFoundError):
    """A data file that is required and absent: says where it was looked for."""

    def __init__(self, what: str, searched: list[str] | str, hint: str = ""):
        searched = [searched] if isinstance(searched, str) else list(searched)
        msg = f"{what} not found; looked in: {', '.join(searched)}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)

    def __str__(self) -> str:
        return self.args[0]


class CacheError(ZcbenchError, OSError):
    """A score cache that is corrupt, foreign or inconsistent."""

    def __str__(self) -> str:
        return self.args[0]


class ProxyFailure(ZcbenchError, RuntimeError):
    """A proxy that could not produce a finite score for one network."""
