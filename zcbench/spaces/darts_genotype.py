"""DARTS cell genotypes: parse, validate, canonicalise, sample.

A DARTS architecture is a normal and a reduction cell. Each cell has four
intermediate nodes; node k (0-3) sums two ops, each applied to one earlier
state: input 0 = c_{k-2}, 1 = c_{k-1}, j >= 2 = intermediate node j-2. The
cell outputs the concatenation of its four nodes.

Two encodings are read:
- the DARTS ``Genotype(normal=[('op', input), ...], normal_concat=[2, 3, 4, 5],
  reduce=[...], reduce_concat=[2, 3, 4, 5])`` repr;
- NASLib's compact form ``[[8 x (input, op)], [8 x (input, op)]]`` (lists or
  tuples), with op indices into COMPACT_OPS.

Text is parsed with ``ast`` (literals only), never evaluated. The canonical
string is the Genotype repr with each node's two pairs sorted by (input, op):
a node's output is the sum of its two inputs, so swapping them gives the same
network, and sorting makes both orderings one string.
"""
from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import InvalidArchError

#: NASLib's op order for the compact form (nasbench301/conversions.py); no 'none'.
COMPACT_OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                                "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
#: The DARTS op set with the zero op, as in DARTS' search and SWAP's benchmark.
DARTS_OPS: tuple[str, ...] = ("none",) + COMPACT_OPS
N_NODES = 4
N_PAIRS = 2 * N_NODES
CONCAT: tuple[int, ...] = (2, 3, 4, 5)
CELL_NAMES = ("normal", "reduce")
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")

Pair = tuple[str, int]  # (op name, input index)
Cell = tuple[Pair, ...]  # 8 pairs, node k = pairs 2k and 2k+1


@dataclass(frozen=True)
class Genotype:
    """A validated DARTS architecture: normal and reduction cell, 8 (op, input) pairs each."""

    normal: Cell
    reduce: Cell

    def cell(self, name: str) -> Cell:
        return self.normal if name == "normal" else self.reduce


@dataclass(frozen=True)
class CellRules:
    """What a DARTS-like space allows: its op set and whether a node may read one input twice."""

    space: str
    ops: tuple[str, ...]
    distinct_inputs: bool


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _err(rules: CellRules, text: str, problem: str) -> InvalidArchError:
    return InvalidArchError(f"invalid {rules.space} architecture {_short(text)!r}: {problem}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------ validation


def _check_cell(rules: CellRules, text: str, name: str, pairs: Any) -> Cell:
    """Validate one cell of (op, input) pairs; returns it as a tuple of tuples."""
    if not isinstance(pairs, (list, tuple)):
        raise _err(rules, text, f"{name} cell must be a list of {N_PAIRS} (op, input) pairs, "
                                f"got {type(pairs).__name__}")
    if len(pairs) != N_PAIRS:
        raise _err(rules, text, f"{name} cell has {len(pairs)} pairs; expected {N_PAIRS} "
                                f"(two per intermediate node, {N_NODES} nodes)")
    out: list[Pair] = []
    for p, pair in enumerate(pairs):
        node = p // 2
        where = f"{name} cell, pair {p} (node {node})"
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise _err(rules, text, f"{where} is {pair!r}; expected an (op, input) pair")
        op, index = pair
        if op not in rules.ops:
            raise _err(rules, text, f"{where} has unknown op {op!r}; valid ops: {', '.join(rules.ops)}")
        if not _is_int(index) or not 0 <= index <= node + 1:
            raise _err(rules, text, f"{where} has input {index!r}; valid inputs for node {node}: "
                                    f"{', '.join(str(i) for i in range(node + 2))} "
                                    "(0 = c_{k-2}, 1 = c_{k-1}, j >= 2 = node j-2)")
        out.append((op, index))
    if rules.distinct_inputs:
        for node in range(N_NODES):
            a, b = out[2 * node][1], out[2 * node + 1][1]
            if a == b:
                raise _err(rules, text, f"{name} cell, node {node} reads input {a} twice; "
                                        f"{rules.space} requires two distinct inputs per node")
    return tuple(out)


def _check_concat(rules: CellRules, text: str, name: str, concat: Any) -> None:
    if not isinstance(concat, (list, tuple, range)) or tuple(concat) != CONCAT:
        raise _err(rules, text, f"{name}_concat is {concat!r}; {rules.space} cells concatenate "
                                f"all four intermediate nodes, {list(CONCAT)}")


# --------------------------------------------------------------------- parsing


def _literal(node: ast.expr) -> Any:
    """A literal, or ``range(a, b)`` as DARTS' genotypes.py writes a concat."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords):
        span = range(*(ast.literal_eval(a) for a in node.args))
        if len(span) > 64:
            raise ValueError("range too long for a concat")
        return list(span)
    return ast.literal_eval(node)


def _parse_genotype_call(rules: CellRules, text: str, call: ast.Call) -> Genotype:
    """Fields of a ``Genotype(...)`` call node, read as literals."""
    if len(call.args) > len(_FIELDS):
        raise _err(rules, text, f"Genotype takes the 4 fields {', '.join(_FIELDS)}; "
                                f"got {len(call.args)} positional values")
    values: dict[str, Any] = dict(zip(_FIELDS, call.args))
    for kw in call.keywords:
        if kw.arg not in _FIELDS:
            raise _err(rules, text, f"unknown Genotype field {kw.arg!r}; fields: {', '.join(_FIELDS)}")
        if kw.arg in values:
            raise _err(rules, text, f"Genotype field {kw.arg!r} given twice")
        values[kw.arg] = kw.value
    missing = [f for f in _FIELDS if f not in values]
    if missing:
        raise _err(rules, text, f"Genotype needs the fields {', '.join(_FIELDS)}; missing {missing}")
    try:
        literal = {k: _literal(v) for k, v in values.items()}
    except (ValueError, TypeError):
        raise _err(rules, text, "Genotype fields must be literal lists of (op, input) pairs") from None
    cells = {}
    for name in CELL_NAMES:
        cells[name] = _check_cell(rules, text, name, literal[name])
        _check_concat(rules, text, name, literal[f"{name}_concat"])
    return Genotype(cells["normal"], cells["reduce"])


def _parse_compact(rules: CellRules, text: str, value: Any) -> Genotype:
    """NASLib compact form ``[[(input, op) x 8], [(input, op) x 8]]`` -> Genotype."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise _err(rules, text, "compact form must be [normal, reduce]: two lists of "
                                f"{N_PAIRS} (input, op) pairs")
    cells = []
    for name, pairs in zip(CELL_NAMES, value):
        if not isinstance(pairs, (list, tuple)) or len(pairs) != N_PAIRS:
            n = len(pairs) if isinstance(pairs, (list, tuple)) else type(pairs).__name__
            raise _err(rules, text, f"{name} cell has {n} pairs; expected {N_PAIRS} "
                                    f"(two per intermediate node, {N_NODES} nodes)")
        named = []
        for p, pair in enumerate(pairs):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise _err(rules, text, f"{name} cell, pair {p} is {pair!r}; expected (input, op)")
            index, op = pair
            if not _is_int(op) or not 0 <= op < len(COMPACT_OPS):
                raise _err(rules, text, f"{name} cell, pair {p} (node {p // 2}) has op index {op!r}; "
                                        "valid op indices: "
                                        + ", ".join(f"{i} {n}" for i, n in enumerate(COMPACT_OPS)))
            named.append((COMPACT_OPS[op], index))
        cells.append(_check_cell(rules, text, name, named))
    return Genotype(*cells)


def parse(text: str, rules: CellRules) -> Genotype:
    """Validate a Genotype repr or a NASLib compact string; raises InvalidArchError saying why."""
    if not isinstance(text, str):
        raise InvalidArchError(f"{rules.space} architecture must be a string, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise _err(rules, text, "empty string")
    try:
        tree = ast.parse(s, mode="eval").body
    except SyntaxError:
        raise _err(rules, text, "does not parse; expected \"Genotype(normal=[('op', input), ...], "
                                "normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])\" "
                                "or NASLib's compact [[(input, op), ...], [...]]") from None
    if isinstance(tree, ast.Call):
        if not isinstance(tree.func, ast.Name) or tree.func.id != "Genotype":
            raise _err(rules, text, "the only call accepted is Genotype(...)")
        return _parse_genotype_call(rules, text, tree)
    try:
        value = ast.literal_eval(tree)
    except ValueError:
        raise _err(rules, text, "expected a Genotype(...) repr or a literal compact form "
                                "[[(input, op), ...], [...]]") from None
    return _parse_compact(rules, text, value)


# ------------------------------------------------------------------ canonical


def sorted_cell(cell: Cell) -> Cell:
    """The cell with each node's two pairs in (input, op) order."""
    out: list[Pair] = []
    for node in range(N_NODES):
        out += sorted(cell[2 * node: 2 * node + 2], key=lambda pair: (pair[1], pair[0]))
    return tuple(out)


def to_string(genotype: Genotype) -> str:
    """Canonical string: the DARTS Genotype repr with each node's pairs sorted."""
    def cell_repr(cell: Cell) -> str:
        return "[" + ", ".join(f"({op!r}, {i})" for op, i in sorted_cell(cell)) + "]"

    concat = str(list(CONCAT))
    return (f"Genotype(normal={cell_repr(genotype.normal)}, normal_concat={concat}, "
            f"reduce={cell_repr(genotype.reduce)}, reduce_concat={concat})")


def to_compact(genotype: Genotype) -> tuple[tuple[tuple[int, int], ...], ...]:
    """NASLib compact tuple ``((input, op) x 8, (input, op) x 8)`` of the canonical pair order."""
    out = []
    for name in CELL_NAMES:
        cell = sorted_cell(genotype.cell(name))
        missing = sorted({op for op, _ in cell} - set(COMPACT_OPS))
        if missing:
            raise InvalidArchError(f"op(s) {missing} have no index in NASLib's compact form "
                                   f"(ops there: {', '.join(COMPACT_OPS)})")
        out.append(tuple((i, COMPACT_OPS.index(op)) for op, i in cell))
    return tuple(out)


# ------------------------------------------------------------------- sampling


def sample_cell(rng: random.Random, rules: CellRules) -> Cell:
    """One cell: per node two inputs among its predecessors and an op for each, uniformly.

    With distinct_inputs the two inputs are drawn without replacement (as NASLib
    samples NB301); otherwise independently.
    """
    pairs: list[Pair] = []
    for node in range(N_NODES):
        if rules.distinct_inputs:
            inputs: Sequence[int] = rng.sample(range(node + 2), 2)
        else:
            inputs = [rng.randrange(node + 2), rng.randrange(node + 2)]
        pairs += [(rules.ops[rng.randrange(len(rules.ops))], i) for i in inputs]
    return tuple(pairs)
