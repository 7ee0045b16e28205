"""NAS-Bench-201: a 4-node cell with 6 edges, 5 ops per edge, 15,625 cells.

Canonical form is the official NB201 arch string
``|o12~0|+|o13~0|o23~1|+|o14~0|o24~1|o34~2|``. NASLib's op-index tuples
``(o12, o13, o14, o23, o24, o34)`` (0 skip_connect, 1 none, 2 nor_conv_3x3,
3 nor_conv_1x1, 4 avg_pool_3x3) are accepted too; that is how the ground-truth
files key their architectures.
"""
from __future__ import annotations

import ast
import functools
import itertools
import random

import torch
from torch import nn

from ..errors import InvalidArchError
from . import SPACES
from .base import ReducedCellNetwork, SearchSpace

# Op names in NASLib's index order: OPS[i] is op index i of the tuple form.
OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
# (from, to) of each tuple position, NB201 node numbering (1 = input, 4 = output).
EDGES: tuple[tuple[int, int], ...] = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))
_POS = {e: k for k, e in enumerate(EDGES)}
_N_NODES = 4


def _err(text: str, problem: str) -> InvalidArchError:
    return InvalidArchError(f"invalid nb201 architecture {text!r}: {problem}")


def from_naslib_tuple(ops: tuple[int, ...] | list[int]) -> str:
    """Canonical string of a NASLib op-index tuple (edge order as in EDGES)."""
    text = str(tuple(ops))
    if len(ops) != len(EDGES):
        raise _err(text, f"expected {len(EDGES)} op indices (one per edge "
                         f"{', '.join(f'{a}-{b}' for a, b in EDGES)}), found {len(ops)}")
    for (a, b), o in zip(EDGES, ops):
        if isinstance(o, bool) or not isinstance(o, int) or not 0 <= o < len(OPS):
            raise _err(text, f"edge {a}-{b} has op index {o!r}; valid indices: "
                             + ", ".join(f"{i} {n}" for i, n in enumerate(OPS)))
    groups = []
    for j in range(2, _N_NODES + 1):
        groups.append("|" + "|".join(f"{OPS[ops[_POS[(i, j)]]]}~{i - 1}" for i in range(1, j)) + "|")
    return "+".join(groups)


def _parse_string(text: str, s: str) -> tuple[int, ...]:
    """Op-index tuple of an NB201 arch string (whitespace already removed)."""
    groups = s.split("+")
    if len(groups) != _N_NODES - 1:
        raise _err(text, f"expected {_N_NODES - 1} node groups separated by '+', found {len(groups)}")
    ops: list[int | None] = [None] * len(EDGES)
    for g, group in enumerate(groups):
        node = g + 1  # 0-based target node
        if len(group) < 2 or group[0] != "|" or group[-1] != "|":
            raise _err(text, f"node group {g + 1} {group!r} must start and end with '|'")
        tokens = group[1:-1].split("|")
        if len(tokens) != node:
            raise _err(text, f"node group {g + 1} must have {node} edge(s) (inputs ~0..~{node - 1}), "
                             f"found {len(tokens)}: {group!r}")
        seen: set[int] = set()
        for tok in tokens:
            name, sep, idx = tok.partition("~")
            if not sep:
                raise _err(text, f"token {tok!r} in node group {g + 1} is not of the form 'op~input'")
            if name not in OPS:
                raise _err(text, f"unknown op {name!r} in token {tok!r}; valid ops: {', '.join(OPS)}")
            if not idx.isdigit() or int(idx) >= node:
                raise _err(text, f"token {tok!r} in node group {g + 1} has input index {idx!r}; "
                                 f"valid inputs: {', '.join(f'~{i}' for i in range(node))}")
            if int(idx) in seen:
                raise _err(text, f"node group {g + 1} lists input ~{idx} twice")
            seen.add(int(idx))
            ops[_POS[(int(idx) + 1, node + 1)]] = OPS.index(name)
    return tuple(ops)  # type: ignore[arg-type]


def _parse(text: str) -> tuple[int, ...]:
    if not isinstance(text, str):
        raise InvalidArchError(f"nb201 architecture must be a string, got {type(text).__name__}")
    s = "".join(text.split())
    if not s:
        raise _err(text, "empty string")
    if s[0] in "([":
        try:
            value = ast.literal_eval(s)
        except (ValueError, SyntaxError):
            raise _err(text, "not a valid tuple literal; expected '(o12, o13, o14, o23, o24, o34)' "
                             "with op indices 0-4") from None
        if not isinstance(value, (tuple, list)):
            raise _err(text, f"expected a tuple of {len(EDGES)} op indices")
        from_naslib_tuple(tuple(value))  # validates, raises with the edge at fault
        return tuple(value)
    if s[0] == "|":
        return _parse_string(text, s)
    raise _err(text, "expected an NB201 string '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|' "
                     "or a NASLib tuple '(o12, o13, o14, o23, o24, o34)'")


def to_naslib_tuple(arch: str) -> tuple[int, ...]:
    """NASLib op-index tuple (o12, o13, o14, o23, o24, o34) of any accepted encoding."""
    return _parse(arch)


@functools.lru_cache(maxsize=1)
def _all_archs() -> tuple[str, ...]:
    return tuple(from_naslib_tuple(t) for t in itertools.product(range(len(OPS)), repeat=len(EDGES)))


def all_archs() -> list[str]:
    """All 15,625 canonical strings, in lexicographic order of their NASLib tuples."""
    return list(_all_archs())


# ---------------------------------------------------------------- network


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d, as in NB201."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )


class Zero(nn.Module):
    """The 'none' op: zeros shaped like the input, still attached to the graph."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _make_op(name: str, c: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise InvalidArchError(f"unknown nb201 op {name!r}; valid ops: {', '.join(OPS)}")


class Cell(nn.Module):
    """NB201 inference cell: node j = sum_{i<j} op_{i->j}(node i); output is node 3.

    'none' edges are computed (x * 0) rather than skipped, so every parameter stays
    in the autograd graph and gets a (zero) gradient, as in NB201 and NASLib.
    """

    def __init__(self, ops: tuple[int, ...], c: int):
        super().__init__()
        self.edges = nn.ModuleDict({f"{a - 1}_{b - 1}": _make_op(OPS[o], c) for (a, b), o in zip(EDGES, ops)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, _N_NODES):
            nodes.append(sum(self.edges[f"{i}_{j}"](nodes[i]) for i in range(j)))
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """Stride-2 reduction block: shortcut(x) + conv_b(conv_a(x))."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """NB201 macro skeleton: stem, 3 stages of 5 cells (C=16/32/64), 2 reduction blocks, head."""

    def __init__(self, ops: tuple[int, ...], num_classes: int, c: int = 16, cells_per_stage: int = 5):
        super().__init__()
        self.ops = tuple(ops)
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage:
                layers.append(ResNetBasicBlock(c, 2 * c))
                c *= 2
            layers += [Cell(ops, c) for _ in range(cells_per_stage)]
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))

    def tenas_thin_copy(self) -> nn.Module:
        """TE-NAS's reduced network for counting linear regions (its NB201 `model_config_thin`:
        C=1, N=1, depth=1, no stem): this architecture's cell at width 1 on 1-channel inputs,
        then the last BatchNorm+ReLU, pooling and classifier. New, untrained weights."""
        return ReducedCellNetwork(Cell(self.ops, 1), self.classifier.out_features)


# ------------------------------------------------------------------ space


class NB201Space(SearchSpace):
    """NAS-Bench-201 search space (canonical = official NB201 arch string)."""

    name = "nb201"

    def canonical(self, text: str) -> str:
        return from_naslib_tuple(_parse(text))

    def sample(self, rng: random.Random) -> str:
        return from_naslib_tuple(tuple(rng.randrange(len(OPS)) for _ in EDGES))

    def build(self, arch: str, num_classes: int, **options) -> nn.Module:
        self.check_options(options)
        return TinyNetwork(_parse(arch), num_classes)

    def from_benchmark_key(self, key: str) -> str:
        return self.canonical(key)

    def to_naslib_tuple(self, arch: str) -> tuple[int, ...]:
        return to_naslib_tuple(arch)

    def mutate(self, arch: str, rng: random.Random) -> str:
        """One edge's op replaced by another op (NB201's and REA's mutation)."""
        ops = list(_parse(arch))
        edge = rng.randrange(len(EDGES))
        ops[edge] = rng.choice([o for o in range(len(OPS)) if o != ops[edge]])
        return from_naslib_tuple(tuple(ops))


SPACES.add("nb201", NB201Space())
