"""Our correlations next to NAS-Bench-Suite-Zero's, from the files in the data folder.

Two references exist for a proxy on a task:
- `correlation`: NASLib's published correlation runs (reference/correlation/
  <space>/<dataset>/<proxy>/<seed>/scores.json; 200 archs x 5 seeds; no nwot);
- `suite_zero`: Spearman of the proxy scores stored in the Suite-Zero JSON
  against their val_accuracy (about 725 archs), for proxies the first lacks.
Run: zcbench-reference scores=<run dir or scores.h5> (zcbench/cli/reference.py)
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..tasks import read_ground_truth
from ..tasks.task import load_task
from ..cache import load_scores
from ..protocol import input_label
from ..spaces import get_space
from .stats import correlation_table
from .tables import to_markdown

# task -> (NASLib search-space folder, NASLib dataset name, Suite-Zero file)
NASLIB_NAMES = {
    "nb201_cifar10": ("nasbench201", "cifar10", "suite_zero/zc_nasbench201.json"),
    "nb201_cifar100": ("nasbench201", "cifar100", "suite_zero/zc_nasbench201.json"),
    "nb201_imagenet16_120": ("nasbench201", "ImageNet16-120", "suite_zero/zc_nasbench201.json"),
    "nb101_cifar10": ("nasbench101", "cifar10", "suite_zero/zc_nasbench101.json"),
    "nb301_cifar10": ("nasbench301", "cifar10", "suite_zero/zc_nasbench301.json"),
}
TNB_TASKS = ("autoencoder", "room_layout", "class_object", "class_scene", "jigsaw", "normal", "segmentsemantic")
for _kind in ("micro", "macro"):  # Suite-Zero's TNB files: best-epoch values of ~711 (micro) / 662-725 (macro) archs
    for _name in TNB_TASKS:
        NASLIB_NAMES[f"tnb101_{_kind}_{_name}"] = (f"transbench101_{_kind}", _name,
                                                   f"suite_zero/zc_transbench101_{_kind}.json")


def published_spearman(data_root: Path, task: str, proxy: str) -> tuple[float, float, int] | None:
    """Mean and std of Spearman over NASLib's correlation seeds, and the seed count; None if absent."""
    space, dataset, _ = NASLIB_NAMES[task]
    files = sorted((data_root / "reference" / "correlation" / space / dataset / proxy).glob("*/scores.json"))
    values = [json.loads(f.read_text())[1]["spearman"] for f in files]
    return (float(np.mean(values)), float(np.std(values)), len(values)) if values else None


@functools.lru_cache(maxsize=32)
def _suite_zero_frame(data_root: Path, task: str) -> pd.DataFrame:
    _, dataset, file = NASLIB_NAMES[task]
    frame = read_ground_truth("suite_zero", Path(data_root), file=file, dataset=dataset)
    space = get_space(load_task(task).space)
    frame["arch"] = [space.from_benchmark_key(k) for k in frame["key"]]
    return frame


def suite_zero_frame(data_root: Path, task: str) -> pd.DataFrame:
    """Suite-Zero's rows of a task (key, arch, accuracy, ref_<proxy> ...); a copy, read once per task."""
    return _suite_zero_frame(Path(data_root), task).copy()


def suite_zero_spearman(data_root: Path, task: str, proxy: str) -> tuple[float, int] | None:
    """Spearman of the Suite-Zero stored scores vs accuracy (finite scores only), and the count."""
    frame = suite_zero_frame(data_root, task)
    column = f"ref_{proxy}"
    if column not in frame:
        return None
    ok = frame[np.isfinite(frame[column])]
    if ok[column].nunique() < 2:  # e.g. Suite-Zero's TNB epe_nas: one value for every arch, no ranking
        return None
    return float(stats.spearmanr(ok[column], ok["accuracy"]).statistic), len(ok)


def score_agreement(data_root: Path, task: str, proxy: str, ours: pd.DataFrame) -> tuple[float, int] | None:
    """Spearman between our score and Suite-Zero's stored score on the archs both scored.

    `ours` should hold one settings of the proxy (one row per arch): rows of several inputs of the
    same arch would be merged side by side."""
    frame = suite_zero_frame(data_root, task)
    column = f"ref_{proxy}"
    if column not in frame:
        return None
    frame = frame.groupby("arch", as_index=False)[column].mean()  # NB101: several keys per cell
    mine = ours[(ours["proxy"] == proxy) & (ours["error"] == "")][["arch", "score"]]
    both = mine.merge(frame[["arch", column]], on="arch")
    both = both[np.isfinite(both[column])]
    if len(both) < 3 or both[column].nunique() < 2 or both["score"].nunique() < 2:
        return None  # e.g. Suite-Zero's TNB epe_nas, one value for every arch: nothing to rank against
    return float(stats.spearmanr(both["score"], both[column]).statistic), len(both)


def suite_zero_archs(data_root: Path, task: str) -> list[str]:
    """Canonical strings of the architectures Suite-Zero scored for a task (to score the same ones)."""
    return list(suite_zero_frame(data_root, task)["arch"])


def comparison_table(scores_path: Path, data_root: Path) -> pd.DataFrame:
    """Per (task, proxy, seed, input) of a score file: our rho, the references, and the differences."""
    return comparison_rows(load_scores(scores_path), data_root)


def comparison_rows(frame: pd.DataFrame, data_root: Path) -> pd.DataFrame:
    """comparison_table of a load_scores()-style frame."""
    rows = []
    for row in correlation_table(frame).itertuples(index=False):
        if row.task not in NASLIB_NAMES:
            continue
        pub = published_spearman(data_root, row.task, row.proxy)
        sz = suite_zero_spearman(data_root, row.task, row.proxy)
        agree = score_agreement(data_root, row.task, row.proxy,
                                frame[(frame["seed"] == row.seed) & (frame["settings"] == row.settings)])
        reference = pub[0] if pub else (sz[0] if sz else np.nan)
        rows.append({
            "task": row.task, "proxy": row.proxy, "seed": row.seed, "input": input_label(row.settings),
            "n_archs": row.n_archs,
            "n_failed": row.n_failed, "spearman": row.spearman, "kendall": row.kendall,
            "spearman_failed_last": row.spearman_failed_last,
            "ref_correlation_runs": pub[0] if pub else np.nan,
            "ref_suite_zero_scores": sz[0] if sz else np.nan,
            "difference": row.spearman_failed_last - reference,
            "agreement_with_suite_zero_scores": agree[0] if agree else np.nan,
            "agreement_n": agree[1] if agree else 0,
        })
    return pd.DataFrame(rows)


def comparison_page(scores_path: Path, data_root: Path) -> str:
    """The markdown page of comparison_table: our correlations beside Suite-Zero's, columns explained."""
    return ("# zcbench vs NAS-Bench-Suite-Zero\n\n"
            "input: the image side and batch our row was scored at (a proxy scored at several has a row for each). "
            "spearman: ours, over the sampled archs (n_archs). ref_correlation_runs: mean Spearman of NASLib's "
            "published correlation runs (200 archs x 5 seeds). ref_suite_zero_scores: Spearman of the scores "
            "stored in Suite-Zero's JSON (~725 archs), used where the first is absent. spearman leaves failed archs "
            "out; spearman_failed_last ranks them last, as NASLib does (it turns NaN/inf into -1e8). difference: "
            "spearman_failed_last minus the reference (correlation runs where present). agreement: Spearman "
            "between our score and Suite-Zero's stored score on the archs both scored (agreement_n).\n\n"
            + to_markdown(comparison_table(scores_path, data_root)) + "\n")
