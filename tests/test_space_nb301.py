"""NAS-Bench-301 and DARTS spaces: encodings, validation, sampling, networks, readers, one run."""
from __future__ import annotations

import ast
import collections
import json
import random

import pandas as pd
import pytest
import torch
from conftest import data_root, missing_data

import zcbench
from zcbench.tasks import read_ground_truth
from zcbench.tasks.readers import GroundTruthFormatError
from zcbench.tasks.task import ground_truth, load_task
from zcbench.errors import DataNotFoundError, InvalidArchError, ZcbenchError
from zcbench.harness import compose, run
from zcbench.spaces import get_space
from zcbench.spaces.darts_genotype import COMPACT_OPS, DARTS_OPS
from zcbench.spaces.darts_network import DartsCell, NetworkCIFAR
from zcbench.spaces.darts_ops import FactorizedReduce, SepConv

SUITE_ZERO = "suite_zero/zc_nasbench301.json"
OLDER = "suite_zero/older/zc_nasbench301.43d9c95a.json"
SWAP_CSV = "nb301/DARTS_archs_CIFAR10.csv"

# The first Suite-Zero key, its Genotype (NASLib's conversion, pairs as listed) and its canonical form.
COMPACT = ("[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
           "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]")
GENOTYPE = ("Genotype(normal=[('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('avg_pool_3x3', 1), "
            "('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('skip_connect', 3)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 1), "
            "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('max_pool_3x3', 3), "
            "('avg_pool_3x3', 0), ('max_pool_3x3', 2), ('dil_conv_5x5', 3)], reduce_concat=[2, 3, 4, 5])")
CANONICAL = ("Genotype(normal=[('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('avg_pool_3x3', 0), "
             "('avg_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), "
             "('skip_connect', 3)], normal_concat=[2, 3, 4, 5], reduce=[('skip_connect', 0), "
             "('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), "
             "('max_pool_3x3', 3), ('max_pool_3x3', 2), ('dil_conv_5x5', 3)], reduce_concat=[2, 3, 4, 5])")


@pytest.fixture(scope="module")
def nb301():
    return get_space("nb301")


@pytest.fixture(scope="module")
def darts():
    return get_space("darts")


@pytest.fixture(scope="module")
def real_data_module():
    root = data_root()
    if root is None:
        missing_data("real data folder not found (set ZCBENCH_DATA)")
    return root


@pytest.fixture(scope="module")
def suite_zero(real_data_module) -> dict:
    with open(real_data_module / SUITE_ZERO) as f:
        return json.load(f)["cifar10"]


def _n_params(net: torch.nn.Module) -> float:
    return sum(p.numel() for p in net.parameters()) / 1e6


# ------------------------------------------------------------------ encodings


def test_op_tables():
    assert COMPACT_OPS == ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                           "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
    assert DARTS_OPS == ("none",) + COMPACT_OPS


def test_both_encodings_give_one_canonical_string(nb301):
    tuples = COMPACT.replace("[", "(").replace("]", ")")
    assert nb301.canonical(COMPACT) == nb301.canonical(tuples) == nb301.canonical(GENOTYPE) == CANONICAL
    assert nb301.from_benchmark_key(COMPACT) == CANONICAL
    assert nb301.canonical(CANONICAL) == CANONICAL
    assert nb301.canonical("  " + GENOTYPE.replace(", ", ",") + "\n") == CANONICAL
    # positional Genotype fields, as namedtuple order
    positional = GENOTYPE.replace("normal=", "").replace("normal_concat=", "").replace(
        "reduce=", "").replace("reduce_concat=", "")
    assert nb301.canonical(positional) == CANONICAL
    # DARTS' genotypes.py writes the concat as range(2, 6)
    assert nb301.canonical(GENOTYPE.replace("[2, 3, 4, 5]", "range(2, 6)")) == CANONICAL


def test_round_trip_compact_and_genotype(nb301):
    compact = nb301.to_compact(CANONICAL)
    assert nb301.canonical(str(compact)) == CANONICAL
    # the compact form of the canonical string lists each node's pairs sorted by input
    assert compact[0][:2] == ((0, 0), (1, 5)) and compact[0][2:4] == ((0, 1), (1, 1))
    rng = random.Random(1)
    for _ in range(200):
        arch = nb301.sample(rng)
        assert nb301.canonical(arch) == arch
        assert nb301.canonical(str(nb301.to_compact(arch))) == arch
        assert nb301.canonical(str([list(map(list, c)) for c in nb301.to_compact(arch)])) == arch


def test_equivalent_orderings_coincide(nb301):
    """Swapping the two pairs of any node gives the same canonical string; other changes do not."""
    cells = ast.literal_eval(COMPACT)
    seen = set()
    for mask in range(256):
        swapped = [list(cell) for cell in cells]
        for bit in range(8):
            if mask >> bit & 1:
                c, node = divmod(bit, 4)
                swapped[c][2 * node], swapped[c][2 * node + 1] = swapped[c][2 * node + 1], swapped[c][2 * node]
        seen.add(nb301.canonical(str(swapped)))
    assert seen == {CANONICAL}
    other = [list(cells[0]), list(cells[1])]
    other[0][7] = (3, 3)  # another op on one edge
    assert nb301.canonical(str(other)) != CANONICAL
    swapped_cells = str([cells[1], cells[0]])  # normal <-> reduce is another architecture
    assert nb301.canonical(swapped_cells) != CANONICAL


def test_darts_space_reads_none_and_repeated_inputs(darts, nb301):
    text = GENOTYPE.replace("('max_pool_3x3', 0), ('dil_conv_3x3', 1)", "('none', 0), ('dil_conv_3x3', 0)")
    arch = darts.canonical(text)
    assert "('dil_conv_3x3', 0), ('none', 0)" in arch  # sorted by (input, op)
    assert darts.canonical(arch) == arch
    with pytest.raises(InvalidArchError, match="no index in NASLib.s compact form"):
        darts.to_compact(arch)
    assert darts.canonical(COMPACT) == CANONICAL  # compact form (no 'none') is read too
    with pytest.raises(InvalidArchError, match="unknown op 'none'"):
        nb301.canonical(text)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty string"),
        ("Genotype(normal=[", "does not parse"),
        ("hello", "expected a Genotype(...) repr or a literal compact form"),
        ("Phenotype(normal=[])", "the only call accepted is Genotype(...)"),
        (GENOTYPE.replace("normal_concat=", "normal_cat="), "unknown Genotype field 'normal_cat'"),
        (GENOTYPE.replace(", reduce_concat=[2, 3, 4, 5]", ""), "missing ['reduce_concat']"),
        (GENOTYPE.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3, 5]"),
         "normal_concat is [2, 3, 5]; nb301 cells concatenate all four intermediate nodes"),
        (GENOTYPE.replace("('skip_connect', 3)]", "('skip_connect', 3), ('skip_connect', 0)]"),
         "normal cell has 9 pairs; expected 8"),
        (GENOTYPE.replace("('dil_conv_3x3', 1)", "('conv_3x3', 1)"),
         "normal cell, pair 1 (node 0) has unknown op 'conv_3x3'; valid ops: max_pool_3x3"),
        (GENOTYPE.replace("('dil_conv_3x3', 1)", "('dil_conv_3x3', 2)"),
         "normal cell, pair 1 (node 0) has input 2; valid inputs for node 0: 0, 1"),
        (GENOTYPE.replace("('skip_connect', 3)]", "('skip_connect', 5)]"),
         "normal cell, pair 7 (node 3) has input 5; valid inputs for node 3: 0, 1, 2, 3, 4"),
        (GENOTYPE.replace("('skip_connect', 3)]", "('skip_connect', -1)]"), "has input -1"),
        (GENOTYPE.replace("('skip_connect', 3)]", "('skip_connect', True)]"), "has input True"),
        (GENOTYPE.replace("('dil_conv_3x3', 1)", "('dil_conv_3x3', 0)"),
         "normal cell, node 0 reads input 0 twice; nb301 requires two distinct inputs"),
        (GENOTYPE.replace("('dil_conv_3x3', 1)", "('dil_conv_3x3',)"), "expected an (op, input) pair"),
        (GENOTYPE.replace("normal=[", "normal=[x, "), "must be literal lists"),
        (GENOTYPE.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 5)"),
         "normal_concat is [2, 3, 4]"),
        ("[[(0, 0), (1, 5)], []]", "normal cell has 2 pairs; expected 8"),
        (COMPACT.replace("(3, 6)", "(3, 7)"),
         "reduce cell, pair 7 (node 3) has op index 7; valid op indices: 0 max_pool_3x3"),
        (COMPACT.replace("(3, 6)", "(5, 6)"), "reduce cell, pair 7 (node 3) has input 5"),
        (COMPACT.replace("(3, 6)", "(3, 6.0)"), "has op index 6.0"),
        ("[[(0, 0)] * 8]", "expected a Genotype(...) repr or a literal compact form"),
        ("[" + COMPACT[1:COMPACT.index("], [")] + "]]", "compact form must be [normal, reduce]"),
    ],
)
def test_malformed_raise(nb301, text, fragment):
    with pytest.raises(InvalidArchError) as info:
        nb301.canonical(text)
    assert fragment in str(info.value)
    assert "invalid nb301 architecture" in str(info.value) or "must be a string" in str(info.value)


def test_non_string_rejected(nb301):
    with pytest.raises(InvalidArchError, match="must be a string"):
        nb301.canonical(ast.literal_eval(COMPACT))


# ------------------------------------------------------------------ sampling


def test_nb301_sampling_is_uniform_with_distinct_inputs(nb301):
    rng = random.Random(0)
    n = 4000
    archs = [nb301.sample(rng) for _ in range(n)]
    assert [nb301.sample(random.Random(5)) for _ in range(2)] == [nb301.sample(random.Random(5))] * 2
    assert len(set(archs)) == n
    ops, pairs = collections.Counter(), collections.Counter()
    for arch in archs[:1000]:
        for cell in nb301.to_compact(arch):
            for node in range(4):
                (a, oa), (b, ob) = cell[2 * node], cell[2 * node + 1]
                assert a != b
                ops.update([oa, ob])
                pairs[(node, a, b)] += 1
    expected = sum(ops.values()) / 7
    assert sum((ops[o] - expected) ** 2 / expected for o in range(7)) < 30  # chi2, 6 dof
    # node 3 picks one of C(5, 2) = 10 input pairs uniformly
    node3 = [pairs[(3, a, b)] for a in range(5) for b in range(a + 1, 5)]
    assert sum((c - 200) ** 2 / 200 for c in node3) < 35  # chi2, 9 dof


def test_darts_sampling_ties_cells_and_allows_repeats(darts):
    rng = random.Random(0)
    repeated = 0
    for _ in range(300):
        g = darts.genotype(darts.sample(rng))
        assert g.normal == g.reduce
        repeated += sum(g.normal[2 * k][1] == g.normal[2 * k + 1][1] for k in range(4))
    # expected repeats per cell: 1/2 + 1/3 + 1/4 + 1/5 = 1.283
    assert 1.1 < repeated / 300 < 1.5


# ------------------------------------------------------------------ networks


def test_network_structure_and_shapes(nb301):
    net = nb301.build(CANONICAL, 10)
    cells = [m for m in net.modules() if isinstance(m, DartsCell)]
    assert [c.reduction for c in cells] == [False, False, True, False, False, True, False, False]
    assert isinstance(cells[3].preprocess0, FactorizedReduce) and isinstance(cells[6].preprocess0, FactorizedReduce)
    assert net.stem[0].out_channels == 96 and net.classifier.in_features == 512
    # CANONICAL has 3 sep_conv ops in the normal cell (6 copies) and 2 in the reduction cell (2 copies)
    assert sum(isinstance(m, SepConv) for m in net.modules()) == 6 * 3 + 2 * 2
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert all(not m.inplace for m in net.modules() if isinstance(m, torch.nn.ReLU))


def test_cell_semantics():
    """Node sums and the concatenation, checked on a cell of skip connections."""
    darts = get_space("darts")
    g = darts.genotype("Genotype(normal=[('skip_connect', 0), ('skip_connect', 1), ('skip_connect', 2), "
                       "('none', 0), ('skip_connect', 3), ('skip_connect', 2), ('skip_connect', 4), "
                       "('none', 1)], normal_concat=[2, 3, 4, 5], reduce=[('none', 0), ('none', 1), "
                       "('none', 0), ('none', 1), ('none', 0), ('none', 1), ('none', 0), ('none', 1)], "
                       "reduce_concat=[2, 3, 4, 5])")
    cell = DartsCell(g.normal, 4, 4, 4, reduction=False, reduction_prev=False)
    for pre in (cell.preprocess0, cell.preprocess1):  # make the preprocessing the identity on x >= 0
        torch.nn.init.dirac_(pre[1].weight)
    cell.eval()
    s0, s1 = torch.rand(1, 4, 3, 3), torch.rand(1, 4, 3, 3)
    n0 = s0 + s1
    n1 = n0
    n2 = n1 + n0
    n3 = n2
    expected = torch.cat([n0, n1, n2, n3], 1)
    assert torch.allclose(cell(s0, s1), expected, atol=1e-4)
    reduce = DartsCell(g.reduce, 4, 4, 4, reduction=True, reduction_prev=False)
    assert torch.equal(reduce(s0, s1), torch.zeros(1, 16, 2, 2))


def test_swap_network_shape(darts, real_data_module):
    task = load_task("darts_cifar10_swap")
    arch = ground_truth(task, real_data_module)["arch"].iloc[0]
    net = darts.build(arch, 10, **task.space_options)
    cells = [m for m in net.modules() if isinstance(m, DartsCell)]
    assert len(cells) == 1 and cells[0].reduction
    assert cells[0].preprocess0[1].in_channels == 3 and cells[0].preprocess0[1].out_channels == 6
    assert net.classifier.in_features == 24
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_build_rejects_unknown_or_bad_options(nb301):
    with pytest.raises(ZcbenchError, match=r"does not take options \['auxiliary'\].*channels"):
        nb301.build(CANONICAL, 10, auxiliary=True)
    with pytest.raises(ZcbenchError, match="option layers=0 must be a positive integer"):
        nb301.build(CANONICAL, 10, layers=0)
    with pytest.raises(ZcbenchError, match="option channels='32' must be a positive integer"):
        nb301.build(CANONICAL, 10, channels="32")


def test_darts_network_variants_differ_only_in_cell_batchnorm(nb301):
    """DARTS' own net (affine cell-op BN, no BN after pooling) has 2 more parameters per
    BN channel inside the cell ops; NASLib's NB301 net puts a parameter-free BN after each pool."""
    naslib = NetworkCIFAR(nb301.genotype(CANONICAL), 10, affine=False, pool_bn=True)
    darts_eval = NetworkCIFAR(nb301.genotype(CANONICAL), 10, affine=True, pool_bn=False)

    def op_bns(net):
        return [m for cell in net.cells for op in cell.ops for m in op.modules()
                if isinstance(m, torch.nn.BatchNorm2d)]

    pools = sum(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in naslib.modules())
    assert len(op_bns(naslib)) == len(op_bns(darts_eval)) + pools
    assert not any(m.affine for m in op_bns(naslib)) and all(m.affine for m in op_bns(darts_eval))
    extra = sum(p.numel() for p in darts_eval.parameters()) - sum(p.numel() for p in naslib.parameters())
    assert extra == 2 * sum(m.num_features for m in op_bns(darts_eval)) > 0


def _check_params(space, keys_params: list[tuple[str, float]]) -> list:
    bad = []
    for key, stored in keys_params:
        n = _n_params(space.build(space.from_benchmark_key(key), 10))
        if abs(n - stored) > 1e-6:
            bad.append((key, n, stored))
    return bad


def test_params_match_suite_zero_sample(nb301, suite_zero):
    """sum(numel)/1e6 equals Suite-Zero's `params` exactly (60 archs; all 725 in the slow test)."""
    keys = random.Random(0).sample(sorted(suite_zero), 60)
    bad = _check_params(nb301, [(k, suite_zero[k]["params"]["score"]) for k in keys])
    assert not bad, bad[:3]


@pytest.mark.slow
def test_params_match_suite_zero_all(nb301, suite_zero, real_data_module):
    bad = _check_params(nb301, [(k, r["params"]["score"]) for k, r in suite_zero.items()])
    assert not bad, f"{len(bad)} of {len(suite_zero)} mismatch, e.g. {bad[:3]}"
    older = json.loads((real_data_module / OLDER).read_text())["nasbench301"]["cifar10"]
    bad = _check_params(nb301, [(k, r["params"]) for k, r in older.items()])
    assert not bad, f"older file: {len(bad)} of {len(older)} mismatch"


NINE_X = "full_space/9x_all/params/benchmark--nasbench301--{}--0.json"
NINE_X_TASKS = {"svhn": (10, 3), "scifar100": (100, 3), "ninapro": (18, 1)}  # classes, image channels


def _nine_x_mismatches(root, task: str, n: int | None) -> tuple[list, int]:
    """Archs of NASLib's 9x_all NB301 file (tuple compact keys) whose params differ from ours."""
    space, (classes, channels) = get_space("nb301"), NINE_X_TASKS[task]
    records = json.loads((root / NINE_X.format(task)).read_text())[:n]
    bad = []
    for rec in records:
        net = space.build(space.from_benchmark_key(rec["arch"]), classes, in_channels=channels)
        if abs(_n_params(net) - rec["params"]["score"]) > 1e-6:
            bad.append((rec["arch"], _n_params(net), rec["params"]["score"]))
    return bad, len(records)


@pytest.mark.parametrize("task", sorted(NINE_X_TASKS))
def test_params_match_nine_x_tuple_keys(real_data_module, task):
    """The tuple-written keys of full_space/9x_all parse, and params match (NinaPro: 1 image channel)."""
    bad, n = _nine_x_mismatches(real_data_module, task, 15)
    assert n == 15 and not bad, bad[:3]


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(NINE_X_TASKS))
def test_params_match_nine_x_all(real_data_module, task):
    bad, n = _nine_x_mismatches(real_data_module, task, None)
    assert n == 199 and not bad, f"{len(bad)} of {n} mismatch, e.g. {bad[:3]}"


# ------------------------------------------------------------------ readers


def test_suite_zero_truth_joins_every_key(nb301, suite_zero, real_data_module):
    task = load_task("nb301_cifar10")
    assert "SURROGATE" in task.truth["metric"] and "surrogate" in task.description
    truth = ground_truth(task, real_data_module)
    assert len(truth) == len(suite_zero) == 725 and truth["arch"].is_unique
    assert truth["accuracy"].between(91.0, 95.0).all()
    by_arch = dict(zip(truth["arch"], truth["accuracy"]))
    for key, row in suite_zero.items():
        assert by_arch[nb301.canonical(key)] == row["val_accuracy"]
    assert {"ref_nwot", "ref_synflow", "ref_params"} <= set(truth.columns)


def test_older_suite_zero_file(nb301, suite_zero, real_data_module):
    older = read_ground_truth("suite_zero", real_data_module, file=OLDER, dataset="cifar10")
    assert len(older) == 500 and "ref_nwot" not in older
    archs = {nb301.from_benchmark_key(k): a for k, a in zip(older["key"], older["accuracy"])}
    newer = {nb301.from_benchmark_key(k): r["val_accuracy"] for k, r in suite_zero.items()}
    shared = set(archs) & set(newer)
    assert len(shared) == 7
    assert max(abs(archs[a] - newer[a]) for a in shared) < 0.2  # the surrogate's noise between files


def test_swap_csv_joins_every_row(darts, real_data_module):
    raw = read_ground_truth("swap_darts_csv", real_data_module, file=SWAP_CSV)
    assert len(raw) == 1000 and list(raw.columns) == ["key", "accuracy"]
    assert raw["accuracy"].min() == pytest.approx(10.22, abs=0.01)
    assert raw["accuracy"].max() == pytest.approx(86.61, abs=0.01)
    truth = ground_truth(load_task("darts_cifar10_swap"), real_data_module)
    assert len(truth) == 1000 and truth["arch"].is_unique
    for key, arch in zip(raw["key"], truth["arch"]):
        assert darts.canonical(key) == arch
        g = darts.genotype(arch)
        assert g.normal == g.reduce
    with pytest.raises(InvalidArchError, match="unknown op 'none'"):
        get_space("nb301").canonical(raw["key"].iloc[0])


def test_swap_csv_errors(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"looked in: .*missing.csv.*pym1024/SWAP"):
        read_ground_truth("swap_darts_csv", tmp_path, file="missing.csv")
    (tmp_path / "bad.csv").write_text('"Genotype(...)",85.0\n"Genotype(...)",eighty\n')
    with pytest.raises(GroundTruthFormatError, match=r"bad.csv, line 2: accuracy 'eighty'"):
        read_ground_truth("swap_darts_csv", tmp_path, file="bad.csv")
    (tmp_path / "short.csv").write_text('"Genotype(...)"\n')
    with pytest.raises(GroundTruthFormatError, match="line 1: expected 2 fields"):
        read_ground_truth("swap_darts_csv", tmp_path, file="short.csv")


# ------------------------------------------------------------------ end to end


@pytest.mark.parametrize("task", ["nb301_cifar10", "darts_cifar10_swap"])
def test_run_two_archs_joins_ground_truth(tmp_path, real_data_module, task, capsys):
    cfg = compose([f"task={task}", f"out_dir={tmp_path}", f"data_root={real_data_module}", "progress=false",
                   "proxy=[params,nwot]", "n_archs=2", "batch_size=8"])
    result = run(cfg)
    assert result.n_computed == 2 and result.n_failed == 0
    assert "CIFAR-10 training images (real" in capsys.readouterr().out
    frame = zcbench.load_scores(tmp_path)
    assert len(frame) == 4 and frame["accuracy"].notna().all() and (frame["error"] == "").all()
    space = get_space(load_task(task).space)
    options = load_task(task).space_options
    for arch, score in frame[frame["proxy"] == "params"][["arch", "score"]].itertuples(index=False):
        assert score == sum(p.numel() for p in space.build(arch, 10, **options).parameters())
    truth = ground_truth(load_task(task), real_data_module).set_index("arch")["accuracy"]
    for arch, acc in frame[["arch", "accuracy"]].itertuples(index=False):
        assert acc == truth[arch]
    assert (frame["settings"].str.contains("space.layers=")).all()
    assert set(pd.read_csv(tmp_path / "correlations.csv")["proxy"]) == {"params", "nwot"}
