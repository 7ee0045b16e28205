"""Size priors of regularised SWAP (swap_reg) for every task, from the range of its network sizes.

swap_reg multiplies SWAP by exp(-(P - mu)^2 / sigma), P in thousands of
parameters. Its mu and sigma only mean something relative to the sizes a
space holds: NB201's calibrated prior (mu = 1500, sigma = 1e6, see
swap_reg.py) applied to NB101's 0.3-31 M networks or a 6-9 M AutoFormer-T is
exp(-10^4) or less, so every score underflows to 0 or to 1e-180 and the
ranking is size noise. No source gives priors for other spaces, so each task
gets NB201's prior moved to its own size range [lo, hi]:

    mu    = lo + MU_POSITION * (hi - lo)        (NB201: at the largest networks)
    sigma = SIGMA_PER_RANGE2 * (hi - lo)^2      (NB201: the smallest get 0.12 of the weight)

with the two constants read off NB201's calibration on NB201's range, so the
rule gives back exactly (1500, 1e6) there. The range of a task is, in order:
its space's own extremes where they are known analytically (AutoFormer: the
smallest and the largest subnet at the task's head and options),
NAS-Bench-Suite-Zero's recorded params of the task's archs (NB101, NB301,
TNB), or the parameters of every arch in the task's ground truth, built
(small pools only). `python -m zcbench.proxies.size_prior` prints the prior
of every task and, with --write, sets it in the task configs
(proxy_options.swap_reg); a test checks the configs against this module.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..benchmarks.tasks import CONF_DIR, Task, ground_truth, load_task, task_names
from ..errors import ZcbenchError
from .swap_reg import NB201_MU, NB201_SIGMA

#: NB201's size range in thousands of parameters at the CIFAR-10 head (the all-none and the
#: all-nor_conv_3x3 cells, built) and the prior calibrated on it.
NB201_RANGE_K = (73.306, 1531.546)
NB201_PRIOR = (NB201_MU, NB201_SIGMA)
MU_POSITION = (NB201_PRIOR[0] - NB201_RANGE_K[0]) / (NB201_RANGE_K[1] - NB201_RANGE_K[0])
SIGMA_PER_RANGE2 = NB201_PRIOR[1] / (NB201_RANGE_K[1] - NB201_RANGE_K[0]) ** 2
MAX_BUILT_POOL = 2000
#: Suite-Zero's task for each (space, classes, head) it covers, for other tasks of the same networks.
SUITE_ZERO_BY_SPACE = {("nb101", 10, None): "nb101_cifar10", ("nb301", 10, None): "nb301_cifar10"}


def _head(task: Task) -> str | None:
    return task.space_options.get("head") if task.space_options else None  # ranges from building every ground-truth arch only for pools this small


def prior_from_range(lo_k: float, hi_k: float) -> tuple[float, float]:
    """(mu, sigma) of swap_reg for networks of lo_k..hi_k thousand parameters (NB201's shape)."""
    if not 0 <= lo_k < hi_k:
        raise ZcbenchError(f"size range needs 0 <= lo < hi (thousands of parameters), got {lo_k}, {hi_k}")
    span = hi_k - lo_k
    return float(round(lo_k + MU_POSITION * span, 1)), float(f"{SIGMA_PER_RANGE2 * span ** 2:.4g}")


def autoformer_range_k(task: Task) -> tuple[float, float]:
    """Thousands of parameters of the smallest and the largest subnet of the task's AutoFormer space."""
    from ..spaces import get_space
    from ..spaces.autoformer_encoding import Subnet
    from ..spaces.autoformer_net import param_count

    space = get_space(task.space)
    c, opts = space.choices, space.options(**task.space_options)
    sizes = []
    for pick in (min, max):
        depth = pick(c.depths)
        subnet = Subnet(pick(c.embed_dims), depth, (pick(c.mlp_ratios),) * depth, (pick(c.num_heads),) * depth)
        sizes.append(param_count(subnet, task.num_classes, opts) / 1e3)
    return sizes[0], sizes[1]


def suite_zero_range_k(task: Task, data_root: str | Path) -> tuple[float, float] | None:
    """Range of Suite-Zero's recorded params (millions there) over the task's archs; None if it has none."""
    from ..analysis.reference import NASLIB_NAMES, suite_zero_frame

    name = task.name.removesuffix("_best")
    if name not in NASLIB_NAMES:  # another ground truth of a space and head Suite-Zero has (NB101's MLFE)
        name = SUITE_ZERO_BY_SPACE.get((task.space, task.num_classes, _head(task)), "")
        if name not in NASLIB_NAMES:
            return None
    frame = suite_zero_frame(Path(data_root), name)
    if "ref_params" not in frame:
        return None
    return float(frame["ref_params"].min()) * 1e3, float(frame["ref_params"].max()) * 1e3


def built_range_k(task: Task, data_root: str | Path) -> tuple[float, float]:
    """Range of the parameters of every ground-truth arch of the task, each network built."""
    from ..spaces import get_space

    space = get_space(task.space)
    archs = sorted(set(ground_truth(task, data_root)["arch"]))
    if len(archs) > MAX_BUILT_POOL:
        raise ZcbenchError(f"task {task.name}: {len(archs)} ground-truth archs, too many to build for a size "
                           f"range (at most {MAX_BUILT_POOL}); give the space an analytic range")
    sizes = [sum(p.numel() for n, p in space.build(a, task.num_classes, **task.space_options).named_parameters()
                 if "auxiliary" not in n) / 1e3 for a in archs]
    return min(sizes), max(sizes)


def task_prior(task: Task, data_root: str | Path | None) -> tuple[tuple[float, float], str, tuple[float, float]]:
    """(mu, sigma), where the range came from, and the range (thousands of parameters) of a task."""
    if task.space == "nb201":
        return NB201_PRIOR, "NB201's calibration (conf/proxy/swap_reg.yaml)", NB201_RANGE_K
    if task.space.startswith("autoformer"):
        lo, hi = autoformer_range_k(task)
        return prior_from_range(lo, hi), "smallest and largest subnet of the space", (lo, hi)
    if not data_root:
        raise ZcbenchError(f"task {task.name}: its size range comes from the data folder; set ZCBENCH_DATA")
    found = suite_zero_range_k(task, data_root)
    if found:
        return prior_from_range(*found), "NAS-Bench-Suite-Zero's recorded params of its archs", found
    found = built_range_k(task, data_root)
    return prior_from_range(*found), "every ground-truth arch, built", found


def config_line(task: Task, data_root: str | Path | None) -> str:
    """The proxy_options line that sets a task's swap_reg prior."""
    (mu, sigma), source, (lo, hi) = task_prior(task, data_root)
    return (f"  swap_reg: {{mu: {mu!r}, sigma: {sigma!r}}}   # size prior for {lo:,.0f}-{hi:,.0f} thousand "
            f"params ({source}; proxies/size_prior.py)")


def write_prior(path: Path, line: str) -> None:
    """Set (or replace) proxy_options.swap_reg in one task yaml, keeping the rest of the file as it is.

    A top-level L-SWAG window block (zcbench.layers) that holds the file's
    `proxy_options:` is moved inside the mapping, the form zcbench.layers
    writes when the mapping exists, so that rerunning it keeps the prior.
    """
    from ..layer_selection import BLOCK_END, BLOCK_START

    text = path.read_text()
    text = re.sub(r"^  swap_reg: .*\n", "", text, flags=re.MULTILINE)
    if f"\n{BLOCK_START}\n" in text:
        head, rest = text.split(f"\n{BLOCK_START}\n", 1)
        block, tail = rest.split(f"{BLOCK_END}\n", 1)
        inner = [b for b in block.splitlines() if b != "proxy_options:"]
        moved = ["  " + b if b.startswith("#") else b for b in [BLOCK_START, *inner, BLOCK_END]]
        text = head + "\nproxy_options:\n" + "\n".join(moved) + "\n" + tail
    if re.search(r"^proxy_options:\s*(#.*)?$", text, flags=re.MULTILINE):
        text = re.sub(r"^(proxy_options:.*\n)", lambda m: m.group(1) + line + "\n", text, count=1,
                      flags=re.MULTILINE)
    else:
        text = text.rstrip("\n") + "\nproxy_options:\n" + line + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> None:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="set the priors in conf/task/*.yaml")
    parser.add_argument("--data-root", default=os.environ.get("ZCBENCH_DATA"))
    args = parser.parse_args(argv)
    for name in task_names():
        line = config_line(load_task(name), args.data_root)
        print(f"{name}: {line.strip()}")
        if args.write:
            write_prior(CONF_DIR / "task" / f"{name}.yaml", line)


if __name__ == "__main__":
    main()
