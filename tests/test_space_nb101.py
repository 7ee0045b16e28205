"""NAS-Bench-101 space: encodings, pruning, canonical form, network, params, readers, a run."""
from __future__ import annotations

import ast
import collections
import itertools
import json
import random

import numpy as np
import pytest
import torch
from torch import nn

import zcbench
from zcbench.tasks import READERS, GroundTruthFormatError, read_ground_truth
from zcbench.tasks.task import ground_truth, load_task
from zcbench.errors import DataNotFoundError, InvalidArchError, ZcbenchError
from zcbench.harness import compose, run
from zcbench.spaces import SPACES, get_space
from zcbench.spaces.nb101 import NB101Space
from zcbench.spaces.nb101_net import BN_EPS, BN_MOMENTUM, NB101Cell, parameter_count, vertex_channels
from zcbench.spaces.nb101_spec import (INTERIOR_OPS, NASLIB_OPS, _from_naslib_tuple, nb101_hash, parse, prune,
                                       to_naslib_tuple)

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
# The README's MLFE row 0 (7 vertices, vertex 2 and 3 dangling).
ROW0 = {"matrix": [[0, 1, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0],
                   [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
        "ops": ["input", C1, C1, C3, MP, C3, "output"]}
DIAMOND = {"matrix": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], "ops": ["input", C3, MP, "output"]}


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return get_space("nb101")


@pytest.fixture(scope="module")
def mlfe() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from conftest import data_root, missing_data

    root = data_root()
    if root is None or not (root / "nb101" / "keep_indi_all.npy").is_file():
        missing_data("MLFE nb101 arrays not found (set ZCBENCH_DATA)")
    d = root / "nb101"
    return (np.load(d / "keep_matrix_list_all.npy"), np.load(d / "keep_arc_all.npy"),
            np.load(d / "keep_indi_all.npy"))


@pytest.fixture(scope="module")
def suite_zero() -> dict:
    from conftest import data_root, missing_data

    root = data_root()
    path = None if root is None else root / "suite_zero" / "zc_nasbench101.json"
    if path is None or not path.is_file():
        missing_data("Suite-Zero NB101 file not found (set ZCBENCH_DATA)")
    return json.loads(path.read_text())["nasbench101"]["cifar10"]


def _relabel(spec: dict, middle: tuple[int, ...]) -> dict | None:
    """The spec with interior vertices placed in order `middle`; None if not upper-triangular."""
    n = len(spec["ops"])
    order = (0, *middle, n - 1)
    pos = {v: k for k, v in enumerate(order)}
    m = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if spec["matrix"][i][j]:
                if pos[i] > pos[j]:
                    return None
                m[pos[i]][pos[j]] = 1
    return {"matrix": m, "ops": [spec["ops"][v] for v in order]}


# ---------------------------------------------------------------- encodings


def test_registered(space):
    assert "nb101" in SPACES and isinstance(space, NB101Space)
    assert NASLIB_OPS == ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")


def test_round_trip_and_forms(space):
    canon = space.canonical(json.dumps(DIAMOND))
    assert canon == "input,conv3x3-bn-relu,maxpool3x3,output|0110/0001/0001/0000"  # conv3x3 before maxpool
    assert space.canonical(canon) == canon
    assert parse(canon) == parse(json.dumps(DIAMOND)) == parse(DIAMOND)
    assert parse(canon).to_string() == canon
    assert space.canonical(str(DIAMOND)) == canon  # Python dict literal (single quotes)
    assert space.canonical("  input,conv3x3-bn-relu,maxpool3x3,output | 0110/0001/0001/0000\n") == canon
    assert space.canonical(str(to_naslib_tuple(parse(canon)))) == canon
    assert parse(parse(canon).to_dict()) == parse(canon)


def test_isomorphic_specs_share_one_string(space):
    strings = {space.canonical(json.dumps(s)) for mid in itertools.permutations(range(1, 6))
               if (s := _relabel(ROW0, mid)) is not None}
    assert len(strings) == 1
    rng = random.Random(1)
    for _ in range(30):
        arch = space.sample(rng)
        cell = parse(arch).to_dict()
        n = len(cell["ops"])
        hashes, strings = set(), set()
        for mid in itertools.permutations(range(1, n - 1)):
            spec = _relabel(cell, mid)
            if spec is not None:
                strings.add(space.canonical(json.dumps(spec)))
                hashes.add(nb101_hash(prune("t", spec["matrix"], spec["ops"])))
        assert strings == {arch} and len(hashes) == 1


def test_pruning_removes_dangling_vertices(space):
    cell = parse(ROW0)
    # vertices 2 and 3 have no edges at all: both go, the 7 edges stay
    assert cell.num_vertices == 5 and cell.num_edges == 7
    assert sorted(cell.ops) == sorted(["input", C1, MP, C3, "output"])
    # a vertex reachable from input but with no way to the output is dropped too
    dead_end = {"matrix": [[0, 1, 1], [0, 0, 0], [0, 0, 0]], "ops": ["input", C3, "output"]}
    assert space.canonical(json.dumps(dead_end)) == "input,output|01/00"
    assert parse(dead_end) == parse({"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]})


def test_edge_limit_counts_pruned_edges():
    # 10 edges, two of them into dead-end vertex 4: 8 after pruning, valid (as NB101's is_valid)
    m = [[0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 0, 1], [0, 0, 0, 0, 0, 1],
         [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
    assert sum(map(sum, m)) == 10
    assert parse({"matrix": m, "ops": ["input", C3, C3, C3, C1, "output"]}).num_edges == 8


FULL5 = [[0, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]


@pytest.mark.parametrize("spec, fragment", [
    ({"matrix": [[0, 1, 1], [0, 0, 1]], "ops": ["input", C3, "output"]}, "must be square 2x2; row 0 has 3"),
    ({"matrix": [[0, 1], [0, 0]], "ops": ["input", C3, "output"]}, "3 ops for a 2x2 matrix"),
    ({"matrix": [[0, 1, 1], [0, 0, 1], [0, 0]], "ops": ["input", C3, "output"]}, "row 2 has 2 entries"),
    ({"matrix": [[0, 1, 1], [1, 0, 1], [0, 0, 0]], "ops": ["input", C3, "output"]},
     "not upper-triangular: entry [1][0]"),
    ({"matrix": [[1, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", C3, "output"]},
     "not upper-triangular: entry [0][0]"),
    ({"matrix": [[0, 2, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", C3, "output"]}, "entry [0][1] is 2"),
    ({"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv5x5", "output"]},
     "unknown op 'conv5x5' at vertex 1; valid ops: conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3"),
    ({"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": [C3, C3, "output"]}, "must start with 'input'"),
    ({"matrix": FULL5, "ops": ["input", C3, C3, C3, "output"]}, "10 edges after pruning; NB101 cells have at most 9"),
    ({"matrix": [[0, 1, 0], [0, 0, 0], [0, 0, 0]], "ops": ["input", C3, "output"]}, "no path from input to output"),
    ({"matrix": [[0] * 8 for _ in range(8)], "ops": ["input"] + [C3] * 6 + ["output"]}, "at most 7"),
    ({"matrix": [[0, 1], [0, 0]]}, "missing ['ops']"),
    ({"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"], "hash": 1}, "unknown ['hash']"),
])
def test_invalid_specs_raise(space, spec, fragment):
    with pytest.raises(InvalidArchError) as info:
        space.canonical(json.dumps(spec))
    assert fragment in str(info.value)


@pytest.mark.parametrize("text, fragment", [
    ("(0, 1, 1)", "56 entries"),
    (str(tuple([0] * 49 + [0, 4, 4, 9, 4, 4, 1])), "op index 9 at vertex 3; valid indices: 0 input"),
    ("input,conv3x3-bn-relu,output|011/002/000", "row 1 '002'"),
    ("input,conv3x3-bn-relu,output|011/001", "3 ops but 2 matrix rows"),
    ("conv3x3", "expected 'input,<op>,...,output|<row>/<row>/...'"),
    ("{'matrix': [[0, 1]", "not a valid JSON/Python literal"),
    ("", "empty string"),
])
def test_malformed_text_raises(space, text, fragment):
    with pytest.raises(InvalidArchError) as info:
        space.canonical(text)
    assert fragment in str(info.value)


def test_suite_zero_keys(space, suite_zero):
    archs = [space.from_benchmark_key(k) for k in suite_zero]
    assert len(archs) == 500 and len(set(archs)) == 292  # many raw specs are one cell
    for key, arch in zip(suite_zero, archs):
        assert space.canonical(arch) == arch
        assert space.canonical(str(space.to_naslib_tuple(arch))) == arch
        assert list(ast.literal_eval(key)[49:])[0] == 0  # input first, as the data README says


def test_canonical_order_is_the_one_nb101_stored():
    """NB101's README queries an Inception-like cell; the record it returns holds the stored
    module_adjacency / module_operations (another vertex order) and 2,694,282 trainable parameters."""
    query = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                        [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             "ops": ["input", C1, C3, C3, C3, MP, "output"]}
    stored = {"matrix": [[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                         [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
              "ops": ["input", C3, C1, MP, C3, C3, "output"]}
    assert parse(query).to_dict() == stored
    assert parameter_count(parse(query)) == 2_694_282


def test_canonical_partition_equals_nb101_hash(mlfe):
    """On MLFE's 2,000 raw specs, canonical strings and NB101's graph hash give the same 846 classes."""
    mats, arcs, _ = mlfe
    raw = [{"matrix": m.tolist(), "ops": a.tolist()} for m, a in zip(mats, arcs)]
    canon = [parse(s).to_string() for s in raw]
    hashes = [nb101_hash(prune("t", s["matrix"], s["ops"])) for s in raw]
    assert len(set(canon)) == len(set(hashes)) == len(set(zip(canon, hashes))) == 846


def test_hash_of_canonical_is_stable(space):
    arch = space.canonical(json.dumps(ROW0))
    assert space.hash(arch) == nb101_hash(prune("t", ROW0["matrix"], ROW0["ops"]))
    assert len(space.hash(arch)) == 32


# ----------------------------------------------------------------- sampling


def test_sampling_matches_the_nb101_generator(space, mlfe):
    """Deterministic, valid, ops uniform, and cell sizes distributed like MLFE's 2,000 NB101 draws."""
    from scipy.stats import chi2_contingency

    assert space.sample(random.Random(5)) == space.sample(random.Random(5))
    rng = random.Random(0)
    samples = [space.sample(rng) for _ in range(2000)]
    cells = [parse(s) for s in samples]
    assert all(space.canonical(s) == s for s in samples)
    assert all(c.num_edges <= 9 and c.num_vertices <= 7 for c in cells)
    ops = collections.Counter(o for c in cells for o in c.ops[1:-1])
    n = sum(ops.values())  # ops are drawn independently of the matrix: uniform after pruning too
    assert sum((ops[o] - n / 3) ** 2 / (n / 3) for o in INTERIOR_OPS) < 20.0, ops
    # raw draws prune to small cells often (about 10% are input->output only), in MLFE's data too
    mats, arcs, _ = mlfe
    theirs = collections.Counter(min(parse({"matrix": m.tolist(), "ops": a.tolist()}).num_vertices, 6)
                                 for m, a in zip(mats, arcs))
    ours = collections.Counter(min(c.num_vertices, 6) for c in cells)
    table = [[ours[k] for k in range(2, 7)], [theirs[k] for k in range(2, 7)]]
    assert chi2_contingency(table).pvalue > 1e-3, table
    assert 600 < len(set(samples)) < 1200  # MLFE's 2,000 draws hold 846 distinct cells


# ----------------------------------------------------------------- networks


def test_vertex_channels_rule():
    three = ((0, 1, 1, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert vertex_channels(64, 128, three) == [64, 43, 43, 42, 128]
    chain = ((0, 1, 0, 0), (0, 0, 1, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert vertex_channels(128, 256, chain) == [128, 128, 128, 256]
    # vertex 1 does not feed the output: it takes the channels of the vertex it feeds (4: 42)
    inner = ((0, 1, 1, 1, 0, 0), (0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 1),
             (0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0))
    assert vertex_channels(128, 128, inner) == [128, 42, 43, 43, 42, 128]


def test_cell_forward_truncates_and_concatenates():
    # vertex 1 (43 ch) feeds vertex 3 (42 ch): the extra channel is dropped
    cell = parse({"matrix": [[0, 1, 1, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                  "ops": ["input", C1, MP, C3, "output"]})
    block = NB101Cell(cell, 16, 128)
    out = block(torch.randn(2, 16, 4, 4))
    assert out.shape == (2, 128, 4, 4)
    only_skip = NB101Cell(parse({"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]}), 16, 32)
    assert only_skip(torch.randn(2, 16, 4, 4)).shape == (2, 32, 4, 4)


def test_network_shape_bn_and_init(space):
    arch = space.canonical(json.dumps(DIAMOND))
    torch.manual_seed(0)
    net = space.build(arch, 10)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(b.momentum == pytest.approx(0.003) and b.eps == 1e-5 for b in bns)
    assert BN_MOMENTUM == pytest.approx(0.003) and BN_EPS == 1e-5
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.bias is None for m in convs)
    stem = convs[0].weight  # TF variance scaling: std 1/sqrt(fan_in), truncated at 2 std
    assert abs(stem.std().item() - (1 / 27) ** 0.5) < 0.03 and stem.abs().max() <= 2 * (1 / 27) ** 0.5 / 0.8796 + 1e-6
    naslib = space.build(arch, 10, init="naslib")
    w = [m for m in naslib.modules() if isinstance(m, nn.Linear)][0].weight
    assert abs(w.std().item() - 0.01) < 0.002
    with pytest.raises(ZcbenchError, match="init='tf'; valid inits: nb101, naslib"):
        space.build(arch, 10, init="tf")
    with pytest.raises(ZcbenchError, match=r"does not take options \['stem'\]"):
        space.build(arch, 10, stem=64)


def test_parameter_count_matches_built_networks(space, mlfe):
    mats, arcs, indi = mlfe
    for i in (0, 37, 1300, 1999):
        arch = space.canonical(json.dumps({"matrix": mats[i].tolist(), "ops": arcs[i].tolist()}))
        built = sum(p.numel() for p in space.build(arch, 10).parameters() if p.requires_grad)
        assert built == parameter_count(parse(arch)) == int(indi[i, 0]), i


def test_params_exact_on_every_mlfe_row(mlfe):
    """NB101's recorded trainable_parameters, all 2,000 rows, in NB101's own vertex order."""
    mats, arcs, indi = mlfe
    counts = [parameter_count(parse({"matrix": m.tolist(), "ops": a.tolist()})) for m, a in zip(mats, arcs)]
    assert counts == [int(v) for v in indi[:, 0]]
    # the files' own (raw, pruned) vertex order is not what NB101 trained: 98 rows would miss
    raw = [parameter_count(prune("t", m.tolist(), a.tolist())) for m, a in zip(mats, arcs)]
    assert sum(r == int(v) for r, v in zip(raw, indi[:, 0])) == 1902


def test_params_against_suite_zero(suite_zero):
    """Suite-Zero's `params` (M) are NASLib builds in each raw spec's own vertex order: all 500 match
    that order; the canonical (NB101-trained) order differs only where the channel split depends on it."""
    raw_ok = canon_ok = 0
    for key, row in suite_zero.items():
        m, o = _from_naslib_tuple(key, ast.literal_eval(key))
        raw = parameter_count(prune(key, m, o)) / 1e6
        canon = parameter_count(parse(key)) / 1e6
        raw_ok += abs(raw - row["params"]) < 1e-9
        canon_ok += abs(canon - row["params"]) < 1e-9
        if abs(canon - row["params"]) >= 1e-9:
            feeders = sum(r[-1] for r in parse(key).matrix[1:])
            assert 128 % feeders, key  # only uneven splits can make the order matter
    assert raw_ok == 500 and canon_ok == 472


# ------------------------------------------------------------------ readers


def test_mlfe_reader(real_data):
    assert {"mlfe_nb101", "suite_zero_nb101"} <= set(READERS.names())
    df = read_ground_truth("mlfe_nb101", real_data)
    assert len(df) == 846 and df["key"].is_unique and list(df.columns) == ["key", "accuracy", "ref_params"]
    assert 77.0 < df["accuracy"].min() and df["accuracy"].max() < 95.0
    first = read_ground_truth("mlfe_nb101", real_data, repeat="first").set_index("key")
    test = read_ground_truth("mlfe_nb101", real_data, column="test_acc").set_index("key")
    row0 = parse(ROW0).to_string()
    assert first.loc[row0, "accuracy"] == pytest.approx(92.7885)  # README: indi[0] valid_acc 0.927885
    assert first.loc[row0, "ref_params"] == pytest.approx(4.779018)
    assert (test["accuracy"] != df.set_index("key")["accuracy"]).mean() > 0.9
    assert (first["accuracy"] != df.set_index("key")["accuracy"]).any()  # some cells have differing repeats
    with pytest.raises(GroundTruthFormatError, match="column='valid'; valid columns: train_acc, valid_acc, test_acc"):
        read_ground_truth("mlfe_nb101", real_data, column="valid")
    with pytest.raises(GroundTruthFormatError, match="repeat='last'; valid values: mean, first"):
        read_ground_truth("mlfe_nb101", real_data, repeat="last")


def test_mlfe_reader_missing_files(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"keep_indi_all.npy.*NingW3028/MLFE"):
        read_ground_truth("mlfe_nb101", tmp_path)


def test_suite_zero_readers(real_data):
    raw = read_ground_truth("suite_zero", real_data, file="suite_zero/zc_nasbench101.json", dataset="cifar10")
    cells = read_ground_truth("suite_zero_nb101", real_data)
    assert len(raw) == 500 and len(cells) == 292 and cells["key"].is_unique
    space = get_space("nb101")
    raw["arch"] = [space.from_benchmark_key(k) for k in raw["key"]]
    mean = raw.groupby("arch")["accuracy"].mean()
    assert np.allclose(cells.set_index("key").loc[mean.index, "accuracy"], mean)


@pytest.mark.parametrize("task, n", [("nb101_cifar10", 292), ("nb101_cifar10_mlfe", 846)])
def test_tasks_ground_truth(real_data, task, n):
    t = load_task(task)
    assert t.space == "nb101" and t.batch_size == 64 and t.loss == "cross_entropy" and t.dataset == "cifar10"
    frame = ground_truth(t, real_data)
    assert len(frame) == n and frame["arch"].is_unique and frame["accuracy"].between(10, 100).all()


# ------------------------------------------------------------------- a run


def test_end_to_end_run_joins_ground_truth(tmp_path, real_data):
    result = run(compose([f"out_dir={tmp_path}", f"data_root={real_data}", "progress=false",
                          "task=nb101_cifar10", "proxy=[params,nwot]", "n_archs=2", "batch_size=8"]))
    assert result.n_computed == 2 and result.n_failed == 0
    frame = zcbench.load_scores(tmp_path)
    assert len(frame) == 4 and frame["accuracy"].notna().all() and (frame["error"] == "").all()
    truth = ground_truth(load_task("nb101_cifar10"), real_data).set_index("arch")
    for row in frame[frame["proxy"] == "params"].itertuples():
        assert row.accuracy == truth.loc[row.arch, "accuracy"]
        assert row.score == parameter_count(parse(row.arch))  # the params proxy counts every tensor


def test_archs_file_accepts_every_encoding(tmp_path, space):
    from zcbench.harness import read_arch_file

    canon = space.canonical(json.dumps(DIAMOND))
    swapped = {"matrix": DIAMOND["matrix"], "ops": ["input", MP, C3, "output"]}  # same cell, other order
    path = tmp_path / "archs.txt"
    path.write_text(f"# nb101 archs\n{json.dumps(DIAMOND)}\n{canon}\n{json.dumps(swapped)}\n"
                    f"{to_naslib_tuple(parse(canon))}\n{json.dumps(ROW0)}\n")
    assert read_arch_file(path, space) == [canon, parse(ROW0).to_string()]
    path.write_text(f"{canon}\n{{\"matrix\": [[0, 1], [0, 0]], \"ops\": [\"input\", \"conv\"]}}\n")
    with pytest.raises(InvalidArchError, match=r"archs.txt, line 2: .*must start with 'input' and end with 'output'"):
        read_arch_file(path, space)
