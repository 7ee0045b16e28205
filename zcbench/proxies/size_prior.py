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
(small pools only). `zcbench-size-prior` (zcbench/cli/size_prior.py) prints
the prior of every task and, with write=true, writes them all, with their
ranges, to the generated zcbench/conf/derived/size_priors.yaml, which task
loading merges under each task's config (zcbench/tasks/derived.py); a
test checks that file against this module.

NB201's prior itself was chosen with ground truth (CIFAR-100 accuracy), so
`zcbench-size-prior calibrate=true` redoes that choice from the cached swap and params scores and
records the archs it looked at in zcbench/conf/proxy/swap_reg_prior_archs.txt, beside
the prior's config. Those archs come from the tuning half of the ensemble split
(the archs LIBRA tunes on), and the leaderboard, the paper tables and the
NB201 validation leave them out of their evaluation of swap_reg and of any
ensemble with swap_reg as a member (zcbench/analysis/chosen_on.py).
"""
from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any, Sequence

from ..tasks.derived import SIZE_PRIORS, write_entries
from ..tasks.task import CONF_DIR, Task, ground_truth, load_task
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


#: NB201's calibration: the archs it was chosen on, the task whose accuracy it fit, the sample and the grid
PRIOR_ARCHS = CONF_DIR / "proxy" / "swap_reg_prior_archs.txt"
CALIBRATION_TASK = "nb201_cifar100"
CALIBRATION_SIZE = 150
CALIBRATION_SEED = 1
GRID_MU = (500.0, 1000.0, 1500.0, 2000.0, 3000.0)
GRID_SIGMA = (1e4, 1e5, 3e5, 1e6, 3e6, 1e7)


def calibration_pool(frame: "pd.DataFrame") -> list[str]:
    """Sorted archs of `frame` (load_scores rows of one task) in the ensemble split's tuning half that have
    a finite swap score, a params count and an accuracy: the archs a calibration may look at."""
    from ..ensembles.table import split_archs

    ok = frame[(frame["error"] == "") & frame["proxy"].isin(["swap", "params"]) & frame["accuracy"].notna()]
    both = ok.groupby("arch")["proxy"].nunique()
    tune, _ = split_archs(sorted(both[both == 2].index))
    return tune


def calibrate(frame: "pd.DataFrame", size: int = CALIBRATION_SIZE, seed: int = CALIBRATION_SEED
              ) -> tuple[list[str], "pd.DataFrame", tuple[float, float]]:
    """(archs, grid, best (mu, sigma)): swap x exp(-(P - mu)^2 / sigma) against accuracy on `size` archs
    drawn with random.Random(seed) from calibration_pool(frame), over GRID_MU x GRID_SIGMA (Spearman)."""
    import pandas as pd
    from scipy import stats

    pool = calibration_pool(frame)
    if len(pool) < size:
        raise ZcbenchError(f"calibration needs {size} tuning-half archs with swap, params and accuracy; "
                           f"the scores hold {len(pool)}")
    archs = sorted(random.Random(seed).sample(pool, size))
    rows = frame[frame["arch"].isin(archs) & (frame["error"] == "")]
    wide = rows.pivot_table(index="arch", columns="proxy", values="score", aggfunc="first").loc[archs]
    acc = rows.drop_duplicates("arch").set_index("arch")["accuracy"].loc[archs]
    p_k = wide["params"] / 1e3  # SWAP's code counts thousands of parameters (NB201 has no auxiliary head)
    grid = pd.DataFrame([{"mu": mu, "sigma": sigma, "spearman": float(stats.spearmanr(
        wide["swap"] * (-(p_k - mu) ** 2 / sigma).map(math.exp), acc).statistic)}
        for mu in GRID_MU for sigma in GRID_SIGMA])
    best = grid.loc[grid["spearman"].idxmax()]
    return archs, grid, (float(best["mu"]), float(best["sigma"]))


def write_prior_archs(path: Path, archs: list[str], grid: "pd.DataFrame", source: str) -> None:
    """The calibration's archs, one per line, under a comment header saying how they were chosen."""
    best = grid.loc[grid["spearman"].idxmax()]
    plain = grid.loc[grid["spearman"].idxmin()]
    header = [f"# swap_reg's NB201 size prior (mu {best['mu']:g}, sigma {best['sigma']:g}) was chosen on these "
              f"{len(archs)} archs against {CALIBRATION_TASK} accuracy",
              f"# (Spearman {best['spearman']:.3f}; grid mu {list(GRID_MU)} x sigma {list(GRID_SIGMA)}, worst "
              f"{plain['spearman']:.3f}), drawn with random.Random({CALIBRATION_SEED}) from the tuning half of",
              f"# the ensemble split of {source}. Written by `zcbench-size-prior calibrate=true`.",
              "# (The first calibration did not record its archs; this one, on the cached scores, gives the same",
              "# prior.) Tables leave these archs out of swap_reg's evaluation and of ensembles that use it."]
    path.write_text("\n".join(header + archs) + "\n")


def prior_archs(path: Path = PRIOR_ARCHS) -> list[str]:
    """The archs NB201's prior was chosen on ([] when the file was never written)."""
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


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
        return NB201_PRIOR, "NB201's calibration (zcbench/conf/proxy/swap_reg.yaml)", NB201_RANGE_K
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


COMMAND = "zcbench-size-prior write=true"
ABOUT = ("swap_reg's size prior per task: swap x exp(-(P - mu)^2 / sigma), P in thousands of parameters.\n"
         "NB201's prior is calibrated (zcbench/conf/proxy/swap_reg.yaml); every other task gets it moved to its\n"
         "own size range (zcbench/proxies/size_prior.py). provenance: that range and where it comes from.")


def prior_entry(task: Task, data_root: str | Path | None) -> dict[str, Any]:
    """A task's entry of the generated prior file: swap_reg's mu and sigma, and how they were chosen."""
    (mu, sigma), source, (lo, hi) = task_prior(task, data_root)
    if task.space == "nb201":
        how = {"chosen_on": str(PRIOR_ARCHS.relative_to(CONF_DIR.parents[1])),
               "criterion": f"grid mu x sigma, best Spearman with {CALIBRATION_TASK} accuracy"}
    else:
        how = {"rule": f"mu = lo + {MU_POSITION:.4f} (hi - lo), sigma = {SIGMA_PER_RANGE2:.4f} (hi - lo)^2 "
                       "(NB201's prior moved to this range)"}
    return {"proxy_options": {"swap_reg": {"mu": mu, "sigma": sigma}},
            "provenance": {"size_range_k": [round(lo, 3), round(hi, 3)], "range_from": source, **how}}


def prior_entries(tasks: Sequence[str], data_root: str | Path | None) -> dict[str, dict[str, Any]]:
    """task -> prior_entry, for these tasks."""
    return {name: prior_entry(load_task(name), data_root) for name in tasks}


def write_priors(entries: dict[str, dict[str, Any]], path: str | Path = SIZE_PRIORS) -> Path:
    """The generated prior file, written whole from `entries` (prior_entries of every task)."""
    return write_entries(path, entries, COMMAND, ABOUT)


def run_calibration(scores: Path, out: Path = PRIOR_ARCHS) -> int:
    """Redo NB201's calibration on `scores`; write its archs to `out` if it gives the shipped prior."""
    from ..cache import load_scores

    if not scores.exists():
        raise ZcbenchError(f"scores={scores} does not exist; give a {CALIBRATION_TASK} scores.h5 or its folder")
    frame = load_scores(scores)
    frame = frame[frame["task"] == CALIBRATION_TASK]
    archs, grid, best = calibrate(frame)
    print(grid.pivot(index="mu", columns="sigma", values="spearman").round(3).to_string())
    if best != NB201_PRIOR:
        print(f"the grid peaks at mu {best[0]:g}, sigma {best[1]:g}, not at the shipped prior {NB201_PRIOR}: "
              f"set NB201_MU / NB201_SIGMA in swap_reg.py and rescore swap_reg on NB201; {out} left as it was")
        return 1
    write_prior_archs(out, archs, grid, str(scores))
    print(f"prior {best} reproduced on {len(archs)} archs; wrote them to {out}")
    return 0
