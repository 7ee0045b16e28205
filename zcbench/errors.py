"""Exceptions that carry a message a user can act on, and the failure contract.

Every error names the bad value and, where there is a finite set, the valid ones.
failure_reason() is the one rule for which exceptions met while building or scoring
a network are cached as that network's failure (ProxyFailure, out of memory, ...);
every other exception is a bug and stops the run.
"""
from __future__ import annotations

from typing import Callable


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


class ProxyFailure(ZcbenchError, ValueError):
    """Raised by a proxy to say "this network cannot be scored", with the reason.

    The documented way for a proxy to report a condition of one network that its
    definition cannot handle (no ReLU units to read, a constant input Jacobian, a
    singular kernel): the harness caches it as that arch's failure, with the reason,
    and goes on. It is a ValueError (the value is undefined for this network), so
    callers that caught ValueError from a proxy still catch it.
    """


class BadOptionError(ZcbenchError, ValueError):
    """A config key (n_archs, batch_size, seed, out_dir, shard, device, ...) with a value
    outside what is valid: the message names the key and the valid values."""


# ---------------------------------------------------------------- the failure contract
# The one place that says which exceptions raised while building or scoring a network are
# failures of that network (cached as a row with the reason, the run goes on) and which are
# bugs (re-raised: the run stops with its traceback, after checkpointing what it computed).
# A failure is a runtime event of a real network:
#   - ProxyFailure, raised by a proxy for a condition of the network (see above);
#   - out of memory (torch.OutOfMemoryError, MemoryError, "out of memory"/"can't allocate memory");
#   - an op without double backward (grasp's Hessian-vector product);
#   - torch's BatchNorm refusing a batch of one value per channel (a 1x1 map at batch 1);
#   - autograd finding the output independent of the input (a disconnected cell);
#   - a numerical breakdown: linear algebra that does not converge, a floating-point error
#     raised under np.errstate, and a NaN/inf score (checked by the scorer, not an exception).
# Everything else -- TypeError, KeyError, AttributeError, AssertionError, a ValueError or a
# RuntimeError with any other message -- is a bug and is never cached.
_RUNTIME_MESSAGES = (
    "out of memory", "can't allocate memory",                     # out of memory
    "double backward", "derivative for", "differentiate twice",   # an op without double backward
    "expected more than 1 value per channel when training",       # BatchNorm, one value per channel
    "appears to not have been used in the graph",                 # output independent of the input
)


def failure_reason(err: BaseException) -> str | None:
    """The text to cache if `err` is a runtime failure of the network (see the contract above), else None."""
    text = f"{type(err).__name__}: {err}"
    if isinstance(err, ProxyFailure):
        return text
    if isinstance(err, MemoryError) or type(err).__name__ in ("OutOfMemoryError", "LinAlgError"):
        return text
    if isinstance(err, FloatingPointError):
        return text
    if isinstance(err, (RuntimeError, ValueError)):
        message = str(err).lower()
        if any(m in message for m in _RUNTIME_MESSAGES):
            return text
    return None


def exit_on_error(prog: str, action: Callable[..., object], *args: object) -> None:
    """Run a command's `action`; a ZcbenchError (bad input) ends it with one line and exit code 2."""
    import sys

    try:
        action(*args)
    except ZcbenchError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(2)
