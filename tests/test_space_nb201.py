"""NAS-Bench-201 space: encodings, sampling, network shape and parameter counts."""
from __future__ import annotations

import ast
import collections
import json
import os
import random
from pathlib import Path

import pytest
import torch
from torch import nn

from zcbench.errors import InvalidArchError
from zcbench.spaces import SPACES, get_space
from zcbench.spaces.nb201 import OPS, Cell, NB201Space, all_archs, from_naslib_tuple, to_naslib_tuple

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_TUPLE = "(0, 2, 3, 2, 3, 1)"
EXAMPLE = "|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|"


def _data_dir() -> Path:
    env = os.environ.get("ZCBENCH_DATA")
    if env:
        return Path(env)
    default = Path("/work/shared/data")
    return default if default.is_dir() else (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return get_space("nb201")


@pytest.fixture(scope="module")
def suite_zero() -> dict:
    path = _data_dir() / "suite_zero" / "zc_nasbench201.json"
    if not path.is_file():
        from conftest import missing_data

        missing_data(f"NB201 ground truth not found at {path} (set ZCBENCH_DATA)")
    with open(path) as f:
        return json.load(f)["cifar10"]


# ---------------------------------------------------------------- encodings


def test_registered(space):
    assert "nb201" in SPACES and isinstance(space, NB201Space) and space.name == "nb201"
    assert OPS == ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")


def test_example_both_ways(space):
    assert space.canonical(EXAMPLE_TUPLE) == EXAMPLE
    assert space.from_benchmark_key(EXAMPLE_TUPLE) == EXAMPLE
    assert space.canonical(EXAMPLE) == EXAMPLE
    assert to_naslib_tuple(EXAMPLE) == (0, 2, 3, 2, 3, 1)
    assert space.canonical("  " + EXAMPLE.replace("|+|", "| + |") + "\n") == EXAMPLE
    assert space.canonical("(0,2,3,2,3,1)") == space.canonical("[0, 2, 3, 2, 3, 1]") == EXAMPLE


def test_inputs_in_any_order_are_canonicalised(space):
    shuffled = "|skip_connect~0|+|nor_conv_3x3~1|nor_conv_3x3~0|+|none~2|nor_conv_1x1~0|nor_conv_1x1~1|"
    assert space.canonical(shuffled) == EXAMPLE


def test_round_trip_all_archs(space):
    archs = all_archs()
    assert len(archs) == 5**6 == len(set(archs))
    assert archs == all_archs()  # deterministic
    tuples = set()
    for arch in archs:
        t = to_naslib_tuple(arch)
        tuples.add(t)
        assert from_naslib_tuple(t) == arch
        assert space.canonical(str(t)) == arch
        assert space.canonical(arch) == arch
    assert len(tuples) == 5**6


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("|skip_connect~0|+|conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|", "unknown op 'conv_3x3'"),
        ("|skip_connect~0|+|none~0|none~1|", "expected 3 node groups"),
        ("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "expected 3 node groups"),
        ("|skip_connect~0|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "node group 1 must have 1 edge"),
        ("|skip_connect~0|+|none~0|+|none~0|none~1|none~2|", "node group 2 must have 2 edge"),
        ("|skip_connect~0|+|none~0|none~2|+|none~0|none~1|none~2|", "input index '2'"),
        ("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~x|", "input index 'x'"),
        ("|skip_connect~0|+|none~0|none~0|+|none~0|none~1|none~2|", "lists input ~0 twice"),
        ("|skip_connect|+|none~0|none~1|+|none~0|none~1|none~2|", "not of the form 'op~input'"),
        ("skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|", "expected an NB201 string"),
        ("|skip_connect~0+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
        ("hello world", "expected an NB201 string"),
        ("", "empty string"),
        ("(0, 2, 3, 2, 3)", "expected 6 op indices"),
        ("(0, 2, 3, 2, 3, 5)", "edge 3-4 has op index 5"),
        ("(0, 2, 3, 2, -1, 1)", "edge 2-4 has op index -1"),
        ("(0, 2.0, 3, 2, 3, 1)", "edge 1-3 has op index 2.0"),
        ("(0, 2, 3, 2, 3, 1", "not a valid tuple literal"),
    ],
)
def test_malformed_raise(space, text, fragment):
    with pytest.raises(InvalidArchError) as info:
        space.canonical(text)
    assert fragment in str(info.value)


def test_unknown_op_error_lists_valid_ops(space):
    with pytest.raises(InvalidArchError, match="valid ops: skip_connect, none, nor_conv_3x3"):
        space.canonical(EXAMPLE.replace("none", "max_pool_3x3"))
    with pytest.raises(InvalidArchError, match="valid inputs: ~0, ~1"):
        space.canonical(EXAMPLE.replace("nor_conv_3x3~1", "nor_conv_3x3~5"))


def test_benchmark_keys_parse(space, suite_zero):
    for key in suite_zero:
        arch = space.from_benchmark_key(key)
        assert to_naslib_tuple(arch) == ast.literal_eval(key)


def test_edge_order_matches_data(suite_zero):
    """Archs at chance accuracy (10%) are exactly those with no input->output path."""

    def connected(t: tuple[int, ...]) -> bool:
        reach = {1}
        for (a, b), o in zip(((1, 2), (1, 3), (2, 3), (1, 4), (2, 4), (3, 4)), (t[0], t[1], t[3], t[2], t[4], t[5])):
            if a in reach and OPS[o] != "none":
                reach.add(b)
        return 4 in reach

    for key, row in suite_zero.items():
        assert (row["val_accuracy"] == 10.0) == (not connected(ast.literal_eval(key))), key


# ----------------------------------------------------------------- sampling


def test_sampling_deterministic_and_uniform(space):
    a = [space.sample(random.Random(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert [space.sample(r) for r in [random.Random(3)] for _ in range(50)] == [
        space.sample(r) for r in [random.Random(3)] for _ in range(50)
    ]
    rng = random.Random(0)
    n = 20_000
    samples = [space.sample(rng) for _ in range(n)]
    assert all(space.canonical(s) == s for s in samples[:200])
    counts = collections.Counter((e, o) for s in samples for e, o in enumerate(to_naslib_tuple(s)))
    for e in range(6):  # each op on each edge ~ n/5; chi-square with 4 dof, p ~ 1e-6 cutoff
        chi2 = sum((counts[(e, o)] - n / 5) ** 2 / (n / 5) for o in range(5))
        assert chi2 < 33.0, (e, [counts[(e, o)] for o in range(5)])
    assert len(set(samples)) > 0.5 * n  # not stuck on a few cells


# ----------------------------------------------------------------- networks


@pytest.mark.parametrize("num_classes", [10, 100, 120])
@pytest.mark.parametrize("size", [32, 16])
def test_build_output_shape(space, num_classes, size):
    torch.manual_seed(0)
    net = space.build(EXAMPLE, num_classes)
    out = net(torch.randn(2, 3, size, size))
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()


def test_build_accepts_tuple_and_structure(space):
    net = space.build(EXAMPLE_TUPLE, 10)
    cells = [m for m in net.modules() if isinstance(m, Cell)]
    assert len(cells) == 15
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    # per cell 2 conv3x3 + 2 conv1x1 = 4 ReLUs; 2 per basic block; 1 before pooling
    assert len(relus) == 15 * 4 + 2 * 2 + 1
    assert all(not r.inplace for r in relus)


def test_cell_semantics():
    x = torch.randn(2, 4, 5, 5)
    skip = Cell((0,) * 6, 4)  # n1 = x, n2 = x + x, n3 = x + x + 2x
    assert torch.allclose(skip(x), 4 * x)
    none = Cell((1,) * 6, 4)
    assert torch.equal(none(x), torch.zeros_like(x))
    # only the 1->4 edge is live
    only_direct = Cell((1, 1, 0, 1, 1, 1), 4)
    assert torch.equal(only_direct(x), x)


def test_disconnected_arch_keeps_gradients(space):
    """'none' edges stay in the graph: every parameter gets a gradient (zeros upstream)."""
    net = space.build("(2, 1, 1, 1, 1, 1)", 10)
    net(torch.randn(2, 3, 16, 16)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_param_counts_match_benchmark(space, suite_zero):
    """sum(numel)/1e6 equals the NASLib `params` score for every suite_zero arch."""
    bad = []
    for key, row in suite_zero.items():
        n = sum(p.numel() for p in space.build(space.from_benchmark_key(key), 10).parameters()) / 1e6
        if abs(n - row["params"]["score"]) > 1e-6:
            bad.append((key, n, row["params"]["score"]))
    assert not bad, f"{len(bad)} of {len(suite_zero)} mismatch, e.g. {bad[:3]}"
