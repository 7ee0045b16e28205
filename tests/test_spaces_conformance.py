"""Every registered search space honours the SearchSpace contract, and every space has a task."""
from __future__ import annotations

import random

import pytest
import torch

from zcbench.tasks.task import load_task, task_names
from zcbench.errors import InvalidArchError
from zcbench.spaces import SPACES, get_space

SPACE_NAMES = SPACES.names()
TASKS_BY_SPACE: dict[str, list[str]] = {}
for _name in task_names():
    TASKS_BY_SPACE.setdefault(load_task(_name).space, []).append(_name)


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_sampled_archs_are_canonical_fixed_points(name):
    space = get_space(name)
    rng = random.Random(7)
    archs = [space.sample(rng) for _ in range(20)]
    for arch in archs:
        assert isinstance(arch, str) and arch
        assert space.canonical(arch) == arch  # canonical strings are fixed points
    assert len(set(archs)) > 1, "sampling should not return one arch every time"
    again = [space.sample(random.Random(7)) for _ in range(1)]
    assert again[0] == archs[0], "sampling must be reproducible for a seed"


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_malformed_encoding_is_a_clear_error(name):
    with pytest.raises(InvalidArchError, match=name.split("_")[0]):
        get_space(name).canonical("certainly not an architecture")


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_every_space_has_a_task_and_builds_a_network_for_it(name):
    assert name in TASKS_BY_SPACE, f"space {name} has no task config in zcbench/conf/task/"
    task = load_task(sorted(TASKS_BY_SPACE[name])[0])
    space = get_space(name)
    torch.manual_seed(0)
    net = space.build(space.sample(random.Random(0)), task.num_classes, **task.space_options)
    assert isinstance(net, torch.nn.Module)
    assert sum(p.numel() for p in net.parameters()) > 0
