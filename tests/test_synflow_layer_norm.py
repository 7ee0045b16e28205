"""synflow's layer_norm option: kept LayerNorm keeps deep ViTs finite; ViT tasks choose it."""
from __future__ import annotations

import math
import random

import pytest
import torch

from zcbench.tasks.task import load_task
from zcbench.errors import BadOptionError
from zcbench.harness import apply_task_options
from zcbench.proxies import score_network
from zcbench.spaces import get_space


def _deep_vit():
    task = load_task("ood_autoformer_s_imagenet")
    options = {**task.space_options, "image_size": 64}
    torch.manual_seed(0)
    arch = get_space(task.space).sample(random.Random(3))
    return get_space(task.space).build(arch, 10, **options)


def test_kept_layer_norm_gives_a_finite_flow_and_bypass_is_the_default():
    net = _deep_vit()
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([0, 1])
    out = score_network(net, x, y, ["synflow"], {"synflow": {"layer_norm": "keep"}})["synflow"]
    assert not out.error and math.isfinite(out.score) and out.score > 0
    same = score_network(net, x, y, ["synflow"], {"synflow": {"layer_norm": None}})["synflow"]
    bypass = score_network(net, x, y, ["synflow"], {"synflow": {"layer_norm": "bypass"}})["synflow"]
    assert (same.score, same.error) == (bypass.score, bypass.error) or \
        (math.isnan(same.score) and math.isnan(bypass.score))
    with pytest.raises(BadOptionError, match="valid values: bypass, keep"):  # never a cached failure
        score_network(net, x, y, ["synflow"], {"synflow": {"layer_norm": "drop"}})


@pytest.mark.parametrize("task", ["autoformer_cifar100", "autoprox_cifar100_kd", "ood_autoformer_b_imagenet"])
def test_vit_tasks_keep_layer_norm_in_synflow(task):
    chosen = apply_task_options({"synflow": {"log": True, "layer_norm": None}}, load_task(task))
    assert chosen["synflow"]["layer_norm"] == "keep"
    assert apply_task_options({"synflow": {"layer_norm": None}}, load_task("nb201_cifar10"))["synflow"] == \
        {"layer_norm": None}
