"""TransNAS-Bench-101 architecture encodings: parse, validate, canonicalise, enumerate.

Canonical forms are the benchmark's own arch strings:

* micro ``64-41414-a_bc_def``: one op digit per cell edge (0 none, 1 skip_connect,
  2 conv1x1, 3 conv3x3); positions are the edges 0->1 | 0->2, 1->2 | 0->3, 1->3, 2->3.
  The ground-truth files key micro archs as ``(a, b, c, d, e, f)``.
* macro ``64-<4 to 6 digits>-basic``: one layer type per residual layer (1 plain,
  2 channels x2, 3 stride 2, 4 stride 2 and channels x2), with 1-4 stride-2
  layers and 1-3 channel-doubling layers (3,256 nets). Suite-Zero writes the
  digits as a tuple padded with trailing zeros to 6; the full-space files write
  the unpadded tuple.
"""
from __future__ import annotations

import ast
import functools
import itertools
import re

from ..errors import InvalidArchError

BASE_CHANNELS = 64
MICRO_MACRO_CODE = "41414"  # the micro space's fixed skeleton: 5 modules, 3 of them downsample
MICRO_OPS: tuple[str, ...] = ("none", "skip_connect", "conv1x1", "conv3x3")
#: (from node, to node) of each micro digit position
MICRO_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
MACRO_LAYERS: dict[int, str] = {1: "plain", 2: "channels x2", 3: "stride 2", 4: "stride 2 + channels x2"}
MACRO_DEPTHS = (4, 5, 6)
MACRO_DOWNSAMPLES = (1, 2, 3, 4)
MACRO_DOUBLINGS = (1, 2, 3)

_MICRO_RE = re.compile(r"^(\d+)-(\d+)-(\d)_(\d\d)_(\d\d\d)$")
_MACRO_RE = re.compile(r"^(\d+)-(\d+)-basic$")


def _micro_err(text: object, problem: str) -> InvalidArchError:
    return InvalidArchError(f"invalid tnb101_micro architecture {text!r}: {problem}")


def _macro_err(text: object, problem: str) -> InvalidArchError:
    return InvalidArchError(f"invalid tnb101_macro architecture {text!r}: {problem}")


def _literal_ints(text: str, err) -> tuple[int, ...]:
    """The integers of a tuple/list literal such as '(1, 0, 2, 3, 1, 0)'."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise err("not a valid tuple literal") from None
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise err("expected a tuple of integers")
    return tuple(value)


# --------------------------------------------------------------------------- micro


def micro_from_ops(ops: tuple[int, ...] | list[int]) -> str:
    """Canonical micro string of six op digits (edge order as in MICRO_EDGES)."""
    text = str(tuple(ops))
    if len(ops) != len(MICRO_EDGES):
        raise _micro_err(text, f"expected {len(MICRO_EDGES)} op digits (edges "
                               f"{', '.join(f'{a}->{b}' for a, b in MICRO_EDGES)}), found {len(ops)}")
    for (a, b), o in zip(MICRO_EDGES, ops):
        if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o < len(MICRO_OPS):
            raise _micro_err(text, f"edge {a}->{b} has op {o!r}; valid ops: "
                                   + ", ".join(f"{i} {n}" for i, n in enumerate(MICRO_OPS)))
    d = "".join(map(str, ops))
    return f"{BASE_CHANNELS}-{MICRO_MACRO_CODE}-{d[0]}_{d[1:3]}_{d[3:]}"


def micro_ops(text: str) -> tuple[int, ...]:
    """The six op digits of a micro arch given as a TNB string or a tuple."""
    if not isinstance(text, str):
        raise InvalidArchError(f"tnb101_micro architecture must be a string, got {type(text).__name__}")
    s = "".join(text.split())
    if not s:
        raise _micro_err(text, "empty string")
    if s[0] in "([":
        ops = _literal_ints(s, lambda p: _micro_err(text, p + "; expected '(a, b, c, d, e, f)' with ops 0-3"))
        micro_from_ops(ops)
        return ops
    m = _MICRO_RE.match(s)
    if not m:
        raise _micro_err(text, f"expected '{BASE_CHANNELS}-{MICRO_MACRO_CODE}-a_bc_def' (digits 0-3) "
                               "or a tuple '(a, b, c, d, e, f)'")
    if m.group(1) != str(BASE_CHANNELS) or m.group(2) != MICRO_MACRO_CODE:
        raise _micro_err(text, f"the micro space has base channels {BASE_CHANNELS} and skeleton "
                               f"{MICRO_MACRO_CODE}; found {m.group(1)}-{m.group(2)}")
    ops = tuple(int(c) for c in m.group(3) + m.group(4) + m.group(5))
    micro_from_ops(ops)
    return ops


@functools.lru_cache(maxsize=1)
def all_micro() -> tuple[str, ...]:
    """All 4,096 micro archs, in lexicographic order of their digits."""
    return tuple(micro_from_ops(t) for t in itertools.product(range(len(MICRO_OPS)), repeat=6))


# --------------------------------------------------------------------------- macro


def macro_from_layers(layers: tuple[int, ...] | list[int]) -> str:
    """Canonical macro string of 4-6 layer types, checking the space's constraints."""
    text = str(tuple(layers))
    if not MACRO_DEPTHS[0] <= len(layers) <= MACRO_DEPTHS[-1]:
        raise _macro_err(text, f"expected {MACRO_DEPTHS[0]}-{MACRO_DEPTHS[-1]} layers, found {len(layers)}")
    for i, t in enumerate(layers):
        if isinstance(t, bool) or not isinstance(t, int) or t not in MACRO_LAYERS:
            raise _macro_err(text, f"layer {i} has type {t!r}; valid types: "
                                   + ", ".join(f"{k} {v}" for k, v in MACRO_LAYERS.items()))
    down = sum(t in (3, 4) for t in layers)
    double = sum(t in (2, 4) for t in layers)
    if down not in MACRO_DOWNSAMPLES:
        raise _macro_err(text, f"{down} stride-2 layers (types 3, 4); the space allows "
                               f"{MACRO_DOWNSAMPLES[0]}-{MACRO_DOWNSAMPLES[-1]}")
    if double not in MACRO_DOUBLINGS:
        raise _macro_err(text, f"{double} channel-doubling layers (types 2, 4); the space allows "
                               f"{MACRO_DOUBLINGS[0]}-{MACRO_DOUBLINGS[-1]}")
    return f"{BASE_CHANNELS}-{''.join(map(str, layers))}-basic"


def macro_layers(text: str) -> tuple[int, ...]:
    """The layer types of a macro arch given as a TNB string or a (possibly zero-padded) tuple."""
    if not isinstance(text, str):
        raise InvalidArchError(f"tnb101_macro architecture must be a string, got {type(text).__name__}")
    s = "".join(text.split())
    if not s:
        raise _macro_err(text, "empty string")
    if s[0] in "([":
        values = _literal_ints(s, lambda p: _macro_err(text, p + "; expected 4-6 layer types 1-4, "
                                                                 "optionally padded with trailing zeros"))
        layers = values
        while layers and layers[-1] == 0:
            layers = layers[:-1]
        if len(values) > 6 or (len(layers) < len(values) and len(values) != 6):
            raise _macro_err(text, "zero padding is only the Suite-Zero form: 6 entries, trailing zeros")
        macro_from_layers(layers)
        return layers
    m = _MACRO_RE.match(s)
    if not m:
        raise _macro_err(text, f"expected '{BASE_CHANNELS}-<4-6 digits 1-4>-basic' or a tuple of layer types")
    if m.group(1) != str(BASE_CHANNELS):
        raise _macro_err(text, f"the macro space has base channels {BASE_CHANNELS}; found {m.group(1)}")
    layers = tuple(int(c) for c in m.group(2))
    macro_from_layers(layers)
    return layers


@functools.lru_cache(maxsize=1)
def all_macro() -> tuple[str, ...]:
    """All 3,256 macro archs (every valid layer sequence), sorted."""
    found = []
    for depth in MACRO_DEPTHS:
        for layers in itertools.product(sorted(MACRO_LAYERS), repeat=depth):
            down = sum(t in (3, 4) for t in layers)
            double = sum(t in (2, 4) for t in layers)
            if down in MACRO_DOWNSAMPLES and double in MACRO_DOUBLINGS:
                found.append(macro_from_layers(layers))
    return tuple(sorted(found))
