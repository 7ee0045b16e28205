"""NAS-Bench-101 cell specs: parse, validate, prune, canonicalise.

A cell is a DAG of at most 7 vertices given by an upper-triangular 0/1
adjacency matrix (``m[i][j] = 1``: edge i -> j) and one op per vertex; vertex 0
is 'input', the last is 'output', the others are conv3x3-bn-relu,
conv1x1-bn-relu or maxpool3x3.

Like NB101's ModelSpec, vertices not on an input -> output path are pruned
first; the 7-vertex / 9-edge limits are then checked on the pruned cell (NB101's
``is_valid`` does the same, so a raw spec with a dangling 10th edge is valid).

Canonical string: the pruned cell as ``ops|rows``, e.g.
``input,conv3x3-bn-relu,maxpool3x3,output|0110/0001/0001/0000``: the op of
each vertex, then each matrix row as a bit string. The vertex order is the one
NB101's graph generator stored (and trained) for the cell's isomorphism class:
among all orders that keep input first, output last and the matrix
upper-triangular, the first one its enumeration reaches. So isomorphic cells
get one string, the string parses back to the same cell, and the network built
from it is the one NB101 trained (channel splits depend on vertex order). It
plays the role of NB101's graph hash (also provided: ``nb101_hash``) while
staying readable.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import itertools
import json
from dataclasses import dataclass

from ..errors import InvalidArchError

INPUT, OUTPUT = "input", "output"
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
#: Ops an interior vertex may have.
INTERIOR_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: Op order of NASLib's 56-tuple (convert_spec_to_tuple): index i means NASLIB_OPS[i].
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)
MAX_VERTICES = 7
MAX_EDGES = 9


def _err(text: object, problem: str) -> InvalidArchError:
    return InvalidArchError(f"invalid nb101 architecture {text!r}: {problem}")


@dataclass(frozen=True)
class Cell101:
    """A validated, pruned NB101 cell (matrix rows as tuples, ops as names)."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def to_string(self) -> str:
        """``ops|rows`` in this cell's own vertex order (canonical only if the cell is)."""
        return ",".join(self.ops) + "|" + "/".join("".join(map(str, row)) for row in self.matrix)

    def to_dict(self) -> dict:
        """``{"matrix": [[...]], "ops": [...]}`` (NB101's ModelSpec arguments)."""
        return {"matrix": [list(r) for r in self.matrix], "ops": list(self.ops)}


# ------------------------------------------------------------------ validation


def _check_matrix(text: object, matrix: object) -> list[list[int]]:
    """A square 0/1 upper-triangular matrix of at most 7 rows, as lists of ints."""
    if not isinstance(matrix, (list, tuple)) or not matrix:
        raise _err(text, f"matrix must be a non-empty list of rows, got {matrix!r}")
    n = len(matrix)
    if n > MAX_VERTICES:
        raise _err(text, f"matrix has {n} vertices; NB101 cells have at most {MAX_VERTICES}")
    rows = []
    for i, row in enumerate(matrix):
        if not isinstance(row, (list, tuple)) or len(row) != n:
            got = len(row) if isinstance(row, (list, tuple)) else type(row).__name__
            raise _err(text, f"matrix must be square {n}x{n}; row {i} has {got} entries")
        for j, v in enumerate(row):
            if isinstance(v, bool) or v not in (0, 1) or isinstance(v, float):
                raise _err(text, f"matrix entry [{i}][{j}] is {v!r}; entries must be 0 or 1")
            if v and j <= i:
                raise _err(text, f"matrix is not upper-triangular: entry [{i}][{j}] is 1 "
                                 f"(edges must go from a lower to a higher vertex, i < j)")
        rows.append([int(v) for v in row])
    return rows


def _check_ops(text: object, ops: object, n: int) -> list[str]:
    if not isinstance(ops, (list, tuple)) or not all(isinstance(o, str) for o in ops):
        raise _err(text, f"ops must be a list of op names, got {ops!r}")
    if len(ops) != n:
        raise _err(text, f"{len(ops)} ops for a {n}x{n} matrix; give one op per vertex")
    if n < 2 or ops[0] != INPUT or ops[-1] != OUTPUT:
        raise _err(text, f"ops must start with {INPUT!r} and end with {OUTPUT!r}, got {list(ops)}")
    for k, op in enumerate(ops[1:-1], start=1):
        if op not in INTERIOR_OPS:
            raise _err(text, f"unknown op {op!r} at vertex {k}; valid ops: {', '.join(INTERIOR_OPS)}")
    return list(ops)


def _reachable(matrix: list[list[int]], start: int, forward: bool) -> set[int]:
    n, seen, todo = len(matrix), {start}, [start]
    while todo:
        v = todo.pop()
        nbrs = (w for w in range(n) if (matrix[v][w] if forward else matrix[w][v]))
        for w in nbrs:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def prune(text: object, matrix: list[list[int]], ops: list[str]) -> Cell101:
    """Drop vertices not on an input->output path (NB101 ModelSpec pruning) and check limits."""
    n = len(matrix)
    keep = sorted(_reachable(matrix, 0, True) & _reachable(matrix, n - 1, False))
    if 0 not in keep or n - 1 not in keep:
        raise _err(text, "no path from input to output (NB101 rejects disconnected cells)")
    pruned = tuple(tuple(matrix[i][j] for j in keep) for i in keep)
    cell = Cell101(pruned, tuple(ops[i] for i in keep))
    if cell.num_edges > MAX_EDGES:
        raise _err(text, f"{cell.num_edges} edges after pruning; NB101 cells have at most {MAX_EDGES}")
    return cell


# ------------------------------------------------------------------ canonical form


def _enumeration_key(cell: Cell101) -> tuple[int, tuple[int, ...]]:
    """Where NB101's generator meets this labelled graph: (edge bits, op labels).

    generate_graphs.py enumerates, per vertex count, matrices by an integer whose
    bit ``i + j*(j-1)/2`` is edge i -> j, and for each the op labellings in
    lexicographic order (conv3x3 < conv1x1 < maxpool3x3); the first graph of
    each hash is the one stored and trained. The smallest key over isomorphic
    orders is therefore NB101's own representative.
    """
    n = cell.num_vertices
    bits = sum(1 << (i + j * (j - 1) // 2) for i in range(n) for j in range(i + 1, n) if cell.matrix[i][j])
    return bits, tuple(INTERIOR_OPS.index(o) for o in cell.ops[1:-1])


@functools.lru_cache(maxsize=65536)
def canonical_cell(cell: Cell101) -> Cell101:
    """The isomorphic relabelling of a pruned cell that NB101 itself stored and trained.

    Over the vertex orders that keep input first, output last and the matrix
    upper-triangular, take the one NB101's enumeration reaches first. The vertex
    order matters beyond naming: when the output channels do not split evenly,
    the extra channels go to the first vertices, so the parameter count depends on it.
    """
    n = cell.num_vertices
    edges = [(i, j) for i in range(n) for j in range(n) if cell.matrix[i][j]]
    best: Cell101 | None = None
    best_key: tuple = ()
    for middle in itertools.permutations(range(1, n - 1)):
        order = (0, *middle, n - 1)  # order[k] = old vertex placed at position k
        pos = {v: k for k, v in enumerate(order)}
        if any(pos[i] > pos[j] for i, j in edges):
            continue
        m = [[0] * n for _ in range(n)]
        for i, j in edges:
            m[pos[i]][pos[j]] = 1
        candidate = Cell101(tuple(map(tuple, m)), tuple(cell.ops[v] for v in order))
        key = _enumeration_key(candidate)
        if best is None or key < best_key:
            best, best_key = candidate, key
    assert best is not None  # the identity order is always topological
    return best


def nb101_hash(cell: Cell101) -> str:
    """NB101's iso-invariant graph hash (the key of the official nasbench records).

    Vertex labels -1 (input), -2 (output) and the index into
    (conv3x3, conv1x1, maxpool3x3); n rounds of hashing each vertex with the
    sorted hashes of its in- and out-neighbours, then a hash of the sorted set.
    """
    n = cell.num_vertices
    labels = [-1] + [INTERIOR_OPS.index(o) for o in cell.ops[1:-1]] + [-2]
    md5 = lambda s: hashlib.md5(s.encode("utf-8")).hexdigest()  # noqa: E731
    hashes = [md5(str(label)) for label in labels]
    for _ in range(n):
        hashes = [md5("".join(sorted(hashes[w] for w in range(n) if cell.matrix[w][v])) + "|"
                      + "".join(sorted(hashes[w] for w in range(n) if cell.matrix[v][w])) + "|"
                      + hashes[v]) for v in range(n)]
    return md5(str(sorted(hashes)))


# ------------------------------------------------------------------ parsing


def _from_naslib_tuple(text: object, values: tuple) -> tuple[list[list[int]], list[str]]:
    """(matrix, ops) of NASLib's 56-tuple: 49 row-major matrix entries + 7 op indices."""
    size = MAX_VERTICES * MAX_VERTICES + MAX_VERTICES
    if len(values) != size:
        raise _err(text, f"a NASLib tuple has {size} entries (49 matrix entries, then 7 op indices), "
                         f"found {len(values)}")
    flat, op_idx = values[:49], values[49:]
    matrix = [list(flat[7 * i: 7 * i + 7]) for i in range(MAX_VERTICES)]
    ops = []
    for k, o in enumerate(op_idx):
        if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o < len(NASLIB_OPS):
            raise _err(text, f"op index {o!r} at vertex {k}; valid indices: "
                             + ", ".join(f"{i} {n}" for i, n in enumerate(NASLIB_OPS)))
        ops.append(NASLIB_OPS[o])
    return matrix, ops


def _from_ops_rows(text: str, s: str) -> tuple[list[list[int]], list[str]]:
    ops_part, sep, rows_part = s.partition("|")
    if not sep or "|" in rows_part:
        raise _err(text, "expected 'op,op,...|row/row/...' (one '|')")
    ops = ops_part.split(",")
    rows = rows_part.split("/")
    matrix = []
    for i, row in enumerate(rows):
        if not row or set(row) - {"0", "1"}:
            raise _err(text, f"matrix row {i} {row!r} must be a string of 0s and 1s")
        matrix.append([int(c) for c in row])
    if len(rows) != len(ops):
        raise _err(text, f"{len(ops)} ops but {len(rows)} matrix rows; give one op per vertex")
    return matrix, ops


def _from_mapping(text: object, value: dict) -> tuple[list[list[int]], list[str]]:
    missing = {"matrix", "ops"} - set(value)
    extra = set(value) - {"matrix", "ops"}
    if missing or extra:
        raise _err(text, f"a dict spec has exactly the keys 'matrix' and 'ops' "
                         f"(missing {sorted(missing)}, unknown {sorted(extra)})")
    return value["matrix"], value["ops"]


def _literal(text: str, s: str) -> object:
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError):
        raise _err(text, "not a valid JSON/Python literal") from None


def parse(text: str) -> Cell101:
    """Validate any accepted encoding and return its canonical pruned cell.

    Accepted: the canonical ``ops|rows`` string (any isomorphic vertex order),
    a JSON or Python dict ``{"matrix": [[...]], "ops": [...]}``, and NASLib's
    56-tuple ``(m00, ..., m66, op0, ..., op6)``.
    """
    if isinstance(text, dict):
        matrix, ops = _from_mapping(text, text)
    else:
        if not isinstance(text, str):
            raise InvalidArchError(f"nb101 architecture must be a string, got {type(text).__name__}")
        s = "".join(text.split())
        if not s:
            raise _err(text, "empty string")
        if s[0] == "{":
            value = _literal(text, s)
            if not isinstance(value, dict):
                raise _err(text, "expected a dict with keys 'matrix' and 'ops'")
            matrix, ops = _from_mapping(text, value)
        elif s[0] in "([":
            value = _literal(text, s)
            if not isinstance(value, (list, tuple)):
                raise _err(text, "expected a NASLib tuple of 56 integers")
            matrix, ops = _from_naslib_tuple(text, tuple(value))
        elif s.startswith(INPUT):
            matrix, ops = _from_ops_rows(text, s)
        else:
            raise _err(text, "expected 'input,<op>,...,output|<row>/<row>/...', a dict "
                             "{\"matrix\": [[...]], \"ops\": [...]} or a NASLib 56-tuple")
    rows = _check_matrix(text, matrix)
    return canonical_cell(prune(text, rows, _check_ops(text, ops, len(rows))))


def to_naslib_tuple(cell: Cell101) -> tuple[int, ...]:
    """A NASLib 56-tuple of the cell (one of many raw specs that prune to it).

    A cell of fewer than 7 vertices is padded with isolated 'maxpool3x3'
    vertices just before 'output'; pruning removes them again, so
    ``parse(str(to_naslib_tuple(c))) == c``.
    """
    n = cell.num_vertices
    full = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    index = list(range(n - 1)) + [MAX_VERTICES - 1]
    for i in range(n):
        for j in range(n):
            full[index[i]][index[j]] = cell.matrix[i][j]
    ops = list(cell.ops[:-1]) + [MAXPOOL3X3] * (MAX_VERTICES - n) + [OUTPUT]
    return tuple(v for row in full for v in row) + tuple(NASLIB_OPS.index(o) for o in ops)
