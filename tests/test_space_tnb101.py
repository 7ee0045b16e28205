"""TransNAS-Bench-101 micro and macro: encodings, sampling, networks vs Suite-Zero, tasks end to end."""
from __future__ import annotations

import collections
import glob
import json
import random

import numpy as np
import pytest
import torch
from PIL import Image

import zcbench
from zcbench.tasks.task import LOSSES, ground_truth, load_task
from zcbench.inputs.datasets import Batch, clear_cache, load_batch
from zcbench.errors import DataNotFoundError, InvalidArchError, UnknownNameError, ZcbenchError
from zcbench.harness import compose, run
from zcbench.tasks.tnb101_targets import cut_tiles, jigsaw_permutations
from zcbench.proxies.size import count_flops
from zcbench.spaces import SPACES, get_space
from zcbench.spaces.tnb101_encoding import all_macro, all_micro
from zcbench.tasks.targets import make_targets

from conftest import data_root, missing_data

TASKS = ("class_object", "class_scene", "jigsaw", "room_layout", "segmentsemantic", "normal", "autoencoder")
SPACES_TNB = ("micro", "macro")
SMALL = 64  # image side for CPU tests (the decoders keep TNB's layout at multiples of 64)


def _suite_zero(kind: str) -> dict:
    root = data_root()
    path = root / "suite_zero" / f"zc_transbench101_{kind}.json" if root else None
    if path is None or not path.is_file():
        missing_data("Suite-Zero TNB file not found (set ZCBENCH_DATA)")
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def micro():
    return get_space("tnb101_micro")


@pytest.fixture(scope="module")
def macro():
    return get_space("tnb101_macro")


# ---------------------------------------------------------------- encodings


def test_registered_and_space_sizes(micro, macro):
    assert "tnb101_micro" in SPACES and "tnb101_macro" in SPACES
    assert len(all_micro()) == len(set(all_micro())) == 4**6
    assert len(all_macro()) == len(set(all_macro())) == 3256


def test_examples_both_ways(micro, macro):
    assert micro.from_benchmark_key("(1, 0, 0, 2, 1, 0)") == "64-41414-1_00_210"
    assert micro.canonical("64-41414-3_33_333") == "64-41414-3_33_333"
    assert micro.canonical(" 64-41414-0_12_302\n") == "64-41414-0_12_302"
    assert macro.from_benchmark_key("(1, 2, 4, 2, 0, 0)") == "64-1242-basic"  # Suite-Zero: padded to 6
    assert macro.from_benchmark_key("(3, 4, 2, 1, 1)") == "64-34211-basic"  # full space: unpadded
    assert macro.canonical("64-121113-basic") == macro.canonical("(1, 2, 1, 1, 1, 3)") == "64-121113-basic"


def test_round_trip_every_arch(micro, macro):
    for arch in all_micro():
        digits = arch.split("-")[2].replace("_", "")
        assert micro.canonical(arch) == arch
        assert micro.canonical(str(tuple(int(c) for c in digits))) == arch
    for arch in all_macro():
        layers = tuple(int(c) for c in arch.split("-")[1])
        assert macro.canonical(arch) == arch
        assert macro.canonical(str(layers)) == arch
        assert macro.canonical(str(layers + (0,) * (6 - len(layers)))) == arch


@pytest.mark.parametrize("text, fragment", [
    ("64-41414-4_00_000", "edge 0->1 has op 4"),
    ("64-41414-1_0_000", "expected '64-41414-a_bc_def'"),
    ("32-41414-1_00_000", "base channels 64"),
    ("64-41114-1_00_000", "skeleton 41414"),
    ("(1, 0, 0, 2, 1)", "expected 6 op digits"),
    ("(1, 0, 0, 2, 1, x)", "not a valid tuple literal"),
    ("", "empty string"),
])
def test_micro_errors_name_the_problem(micro, text, fragment):
    with pytest.raises(InvalidArchError, match="tnb101_micro") as err:
        micro.canonical(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize("text, fragment", [
    ("64-1111-basic", "0 stride-2 layers"),
    ("64-4444-basic", "4 channel-doubling layers"),
    ("64-123-basic", "expected 4-6 layers"),
    ("64-1234567-basic", "expected 4-6 layers"),
    ("64-1253-basic", "layer 2 has type 5"),
    ("64-1234-bottleneck", "expected '64-<4-6 digits 1-4>-basic'"),
    ("(1, 2, 0, 4, 2, 0)", "layer 2 has type 0"),
    ("(1, 2, 4, 2, 0)", "zero padding is only the Suite-Zero form"),
])
def test_macro_errors_name_the_problem(macro, text, fragment):
    with pytest.raises(InvalidArchError, match="tnb101_macro") as err:
        macro.canonical(text)
    assert fragment in str(err.value)


def test_sampling_is_valid_and_uniform(micro, macro):
    rng = random.Random(0)
    n = 4000
    micro_draws = [micro.sample(rng) for _ in range(n)]
    assert set(micro_draws) <= set(all_micro())
    digits = collections.Counter(c for a in micro_draws for c in a.split("-")[2].replace("_", ""))
    assert all(abs(digits[str(d)] / (6 * n) - 0.25) < 0.02 for d in range(4))
    macro_draws = [macro.sample(rng) for _ in range(n)]
    assert set(macro_draws) <= set(all_macro())
    expected = collections.Counter(len(a.split("-")[1]) for a in all_macro())
    seen = collections.Counter(len(a.split("-")[1]) for a in macro_draws)
    for depth, count in expected.items():  # depth shares as in the enumerated space (6 layers: ~79%)
        assert abs(seen[depth] / n - count / len(all_macro())) < 0.03


def test_full_space_files_hold_exactly_the_enumerated_spaces(micro, macro):
    root = data_root()
    if root is None:
        missing_data("real data folder not found (set ZCBENCH_DATA)")
    for space, folder, key in ((micro, "all_benchmarks_zen", "transbench101_micro"),
                               (macro, "tnb101_macro_zen", "transbench101_macro")):
        archs = {space.from_benchmark_key(r["arch"])
                 for p in glob.glob(str(root / "full_space" / folder / "zen" / f"benchmark--{key}--jigsaw--*.json"))
                 for r in json.load(open(p))}
        assert archs == set(space.all_archs())


# ---------------------------------------------------------------- networks


@pytest.mark.parametrize("kind", SPACES_TNB)
@pytest.mark.parametrize("task", TASKS)
def test_params_match_suite_zero(kind, task):
    """Every head on 4 Suite-Zero archs: exactly the params (M) Suite-Zero stored."""
    records = _suite_zero(kind)[task]
    space = get_space(f"tnb101_{kind}")
    for key in list(records)[:: max(1, len(records) // 4)][:4]:
        net = space.build(space.from_benchmark_key(key), None, head=task, image_size=SMALL)
        assert sum(p.numel() for p in net.parameters()) / 1e6 == pytest.approx(records[key]["params"]["score"], abs=1e-6)


@pytest.mark.parametrize("kind", SPACES_TNB)
def test_flops_at_256_are_twice_suite_zero_macs(kind):
    """Suite-Zero's flops are multiply-adds at 256x256 (ours count 2 per MAC): fixes TNB's input side."""
    records = _suite_zero(kind)["class_scene"]
    space = get_space(f"tnb101_{kind}")
    key = sorted(records)[7]
    net = space.build(space.from_benchmark_key(key), None, head="class_scene")  # default image_size 256
    ratio = count_flops(net, torch.randn(1, 3, 256, 256)) / 1e6 / records[key]["flops"]["score"]
    assert 1.97 < ratio < 2.01


def test_build_errors(micro, macro):
    arch = micro.sample(random.Random(0))
    with pytest.raises(UnknownNameError, match="valid tnb101_micro head names"):
        micro.build(arch, None, head="depth")
    with pytest.raises(ZcbenchError, match="needs space_options.head"):
        micro.build(arch, None)
    with pytest.raises(ZcbenchError, match="100 outputs .* num_classes=10"):
        micro.build(arch, 10, head="class_object")
    with pytest.raises(ZcbenchError, match="multiple of 64"):
        macro.build("64-1242-basic", None, head="normal", image_size=96)
    with pytest.raises(ZcbenchError, match="does not take options"):
        micro.build(arch, None, head="jigsaw", tiles=4)


# ---------------------------------------------------------------- tasks: loss, target, gradients


@pytest.mark.parametrize("kind", SPACES_TNB)
@pytest.mark.parametrize("task", TASKS)
def test_task_head_loss_target_give_finite_loss_and_gradients(kind, task, real_data):
    cfg = load_task(f"tnb101_{kind}_{task}")
    assert cfg.batch_size == 32 and cfg.image_size == 256 and cfg.space_options["head"] == task
    batch = load_batch(cfg.dataset, real_data, 2, seed=0, image_size=SMALL)  # labels checked by the target
    targets, source, inputs = make_targets(cfg.target, batch, cfg.num_classes, 0, cfg.target_options)
    if task in ("room_layout", "segmentsemantic", "normal"):
        assert "SYNTHETIC" in source
    assert (inputs is not None) == (task == "jigsaw")  # only jigsaw feeds the network other inputs
    space = get_space(cfg.space)
    torch.manual_seed(0)
    net = space.build(space.sample(random.Random(3)), cfg.num_classes, head=task, image_size=SMALL)
    loss = LOSSES.get(cfg.loss)(net(batch.inputs if inputs is None else inputs), targets)
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert torch.isfinite(loss) and grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_targets_are_seeded_and_shaped():
    inputs = torch.randn(3, 3, SMALL, SMALL)
    batch = lambda: Batch(inputs.clone(), torch.zeros(3, dtype=torch.long), "test", False, "cifar10")  # noqa: E731
    for kind, n, shape in (("room_layout", None, (3, 9)), ("segmentation", 17, (3, SMALL, SMALL)),
                           ("surface_normal", None, (3, 3, SMALL, SMALL))):
        a = make_targets(kind, batch(), n, 5).targets
        b = make_targets(kind, batch(), n, 5).targets
        c = make_targets(kind, batch(), n, 6).targets
        assert a.shape == shape and torch.equal(a, b) and not torch.equal(a, c)
    normals = make_targets("surface_normal", batch(), None, 0).targets
    assert torch.allclose(normals.norm(dim=1), torch.ones(3, SMALL, SMALL), atol=1e-5)
    recon, source, _ = make_targets("reconstruction", batch(), None, 0)
    assert torch.equal(recon, inputs) and "real" in source


def test_jigsaw_permutations_and_tiles():
    perms = jigsaw_permutations()
    assert perms.shape == (1000, 9) and len({tuple(p) for p in perms}) == 1000
    assert all(sorted(p) == list(range(9)) for p in perms)
    hamming = (perms[:, None, :] != perms[None, :, :]).sum(-1)[np.triu_indices(1000, 1)]
    assert hamming.min() >= 2 and hamming.mean() > 8.0  # spread out (random sets average 8.0)
    images = torch.arange(2 * 3 * 64 * 64, dtype=torch.float32).view(2, 3, 64, 64)
    batch = Batch(images.clone(), torch.zeros(2, dtype=torch.long), "test", False, "cifar10")
    labels, source, puzzles = make_targets("jigsaw", batch, 1000, seed=4)
    assert puzzles.shape == (2, 9, 3, 16, 16) and "permutation index" in source
    assert torch.equal(batch.inputs, images)  # the batch is left as it was
    tiles = cut_tiles(images, 4)
    for i in range(2):  # tile t of the puzzle is cell perms[label][t] of the image
        assert torch.equal(puzzles[i], tiles[i, torch.from_numpy(perms[int(labels[i])])])
    batch.inputs = puzzles
    with pytest.raises(ZcbenchError, match="already cut"):
        make_targets("jigsaw", batch, 1000, seed=4)


def test_losses_registered():
    assert LOSSES.get("mse") is torch.nn.functional.mse_loss
    assert LOSSES.get("l1") is torch.nn.functional.l1_loss


# ---------------------------------------------------------------- images


def test_taskonomy_folder_is_read_and_labels_checked(tmp_path):
    rgb = tmp_path / "images" / "taskonomy" / "rgb"
    rgb.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (300, 300, 3), dtype=np.uint8)).save(rgb / f"p{i}.png")
    batch = load_batch("taskonomy", tmp_path, 2, seed=0, image_size=SMALL)
    assert not batch.synthetic and batch.dataset == "taskonomy" and "Taskonomy training images (real" in batch.source
    assert batch.inputs.shape == (2, 3, SMALL, SMALL)
    with pytest.raises(DataNotFoundError, match="labels.csv"):
        make_targets("taskonomy_classes", batch, 100, 0)
    (rgb.parent / "labels.csv").write_text("file,label\np0.png,7\np1.png,3\np2.png,99\n")
    clear_cache()
    batch = load_batch("taskonomy", tmp_path, 3, seed=0, image_size=SMALL)
    labels = make_targets("taskonomy_classes", batch, 100, 0).targets
    assert sorted(labels.tolist()) == [3, 7, 99]


def test_missing_taskonomy_falls_back_to_the_announced_cifar10_stand_in(real_data):
    batch = load_batch("taskonomy", real_data, 2, seed=0, image_size=SMALL)
    assert "STAND-IN for Taskonomy" in batch.source and f"resized to {SMALL}x{SMALL}" in batch.source


# ---------------------------------------------------------------- ground truth and end to end


def test_best_and_final_ground_truth_are_separate_tasks(real_data):
    final = ground_truth(load_task("tnb101_macro_room_layout"), real_data)
    best = ground_truth(load_task("tnb101_macro_room_layout_best"), real_data)
    assert len(final) == 3256 and len(best) == 725
    assert (final["accuracy"] <= 0).all()  # negative loss: higher is better, kept as is
    joined = final.merge(best, on="arch", suffixes=("_final", "_best"))
    assert len(joined) == 725 and (joined["accuracy_best"] >= joined["accuracy_final"]).all()
    assert "ref_params" in best.columns


@pytest.mark.parametrize("kind", SPACES_TNB)
@pytest.mark.parametrize("task", TASKS)
def test_end_to_end_joins_ground_truth(kind, task, tmp_path, real_data, capsys):
    name = f"tnb101_{kind}_{task}"
    result = run(compose([f"task={name}", f"out_dir={tmp_path}", f"data_root={real_data}", "progress=false",
                          "n_archs=2", "proxy=[params,grad_norm]", "batch_size=4", f"task.image_size={SMALL}"]))
    out = capsys.readouterr().out
    assert "STAND-IN for Taskonomy" in out
    if task in ("room_layout", "segmentsemantic", "normal"):
        assert "SYNTHETIC" in out
    table = result.correlations.set_index("proxy")
    assert set(table.index) == {"params", "grad_norm"} and (table["n_archs"] == 2).all()
    scores = zcbench.load_scores(result.scores_path)
    assert len(scores) == 4 and scores["accuracy"].notna().all() and (scores["error"] == "").all()
