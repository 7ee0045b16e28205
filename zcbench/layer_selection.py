"""L-SWAG's per-benchmark layer window: gradient statistics per depth bin, and the window they suggest.

docs/method.md#window-selection-per-task: sample networks of a task at initialisation, compute per-layer
gradient statistics, map each layer to a depth-percentile bin
(bin = int((l / depth) * 100 // 10), 10 bins), average log sigma per bin and
place [l_lo, l_hi] around the "spike" of that curve.

What we compute per network (one per-sample-gradient pass, the one lswag uses):
for every Conv2d/Linear layer l, sigma_w = std over the batch's samples of
|dL/dw| for each weight w, and

* log_sigma[l] = log(mean over the layer's weights of sigma_w), the curve the
  paper plots, averaged per depth bin;
* lambda[l] = log(sum over weights of 1 / sigma_w), the layer's L-SWAG Lambda
  term (zero-variance weights skipped, as the proxy skips them), summed per bin.

Window criteria (option ``criterion``):

* "spike" (default, the paper's idea, uses no accuracies): log sigma drifts
  steadily with depth (gradients shrink or grow layer after layer), so a
  spike is read against that drift: fit a straight line to the mean log
  sigma over the bins and take the bin with the largest residual, plus
  ``half_width`` bins on each side. (The paper shows the curve and its spike
  but gives no formula; this is our reading, and the plot shows the curve so
  that a reader can judge it.)
* "correlation" (supervised): the contiguous bin range whose summed Lambda
  terms rank the sampled networks best against ground truth. It looks at
  accuracies, so judge it on architectures disjoint from the ones it saw.

Per-network rows are appended to a JSON-lines journal (fsync'd), so a killed
run resumes where it stopped. The window a task's scores use is its entry in
the generated zcbench/conf/derived/lswag_windows.yaml (`zcbench-select-layers
task=<task> write=true`, zcbench/cli/select_layers.py), which task loading
merges under the task's own config (zcbench/tasks/derived.py).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats

from .tasks.derived import LSWAG_WINDOWS, read_entries, write_entries
from .errors import BadOptionError
from .proxies.base import Needs
from .proxies.lswag import NBINS, depth_bin
from .proxies.probe import LossFn, Probe, scored_layers

CRITERIA = ("spike", "correlation")
MIN_REL_VAR = 1e-10  # as lswag: |g| variance below this x E[g^2] is round-off, treated as zero


@dataclass(frozen=True)
class Window:
    """A chosen window in depth percentiles (closed bin range lo_bin..hi_bin)."""

    lo_bin: int
    hi_bin: int
    criterion: str
    reason: str

    @property
    def percentiles(self) -> tuple[int, int]:
        """(window_lo, window_hi) as the lswag options take them."""
        return 10 * self.lo_bin, 10 * self.hi_bin + 9


# ------------------------------------------------------------------ per network
def layer_statistics(net: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
                     loss_fn: LossFn | None = None) -> dict[str, list[float]]:
    """Per-bin mean log sigma and summed Lambda terms of one network (NaN for empty bins)."""
    probe = Probe(net, inputs, labels, loss_fn, planned=[Needs(passes=frozenset({"per_sample_gradients"}),
                                                               labels=True)])
    per_sample = probe.per_sample_gradients()
    names = [n for n, _ in scored_layers(probe.net)]
    sigma_bins: list[list[float]] = [[] for _ in range(NBINS)]
    lambda_bins: list[list[float]] = [[] for _ in range(NBINS)]
    for index, name in enumerate(names):
        s = per_sample[name]
        var = s.abs_var.double().reshape(-1)
        sq = (s.sq_total / s.count).double().reshape(-1)
        keep = var > MIN_REL_VAR * sq
        if not bool(keep.any()):
            continue  # a dead layer: no gradient spread to read
        sigma = var[keep].sqrt()
        b = depth_bin(index, len(names))
        sigma_bins[b].append(math.log(sigma.mean().item()))
        lambda_bins[b].append(math.log(sigma.reciprocal().sum().item()))
    return {"log_sigma": [float(np.mean(v)) if v else math.nan for v in sigma_bins],
            "lambda": [float(np.sum(v)) if v else math.nan for v in lambda_bins],
            "n_layers": len(names)}


# ------------------------------------------------------------------ journal
class StatsJournal:
    """Append-only JSON-lines file of per-network statistics; rereading it resumes a run."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows: dict[str, dict] = {}
        if self.path.exists():
            for number, line in enumerate(self.path.read_text().splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    self.rows[row["arch"]] = row
                except (json.JSONDecodeError, KeyError, TypeError):
                    if number == len(self.path.read_text().splitlines()):
                        continue  # a last line cut by a kill: that network is recomputed
                    raise ValueError(f"{self.path}, line {number}: not a layer-statistics row; "
                                     f"delete or move the file to start over") from None

    def __contains__(self, arch: str) -> bool:
        return arch in self.rows

    def add(self, row: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(row, allow_nan=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.rows[row["arch"]] = row

    def frame(self, archs: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per network: arch, accuracy, n_layers, log_sigma_0..9, lambda_0..9."""
        chosen = self.rows.values() if archs is None else [self.rows[a] for a in archs if a in self.rows]
        records = []
        for row in chosen:
            rec = {"arch": row["arch"], "accuracy": row.get("accuracy", math.nan), "n_layers": row["n_layers"]}
            rec.update({f"log_sigma_{b}": v for b, v in enumerate(row["log_sigma"])})
            rec.update({f"lambda_{b}": v for b, v in enumerate(row["lambda"])})
            records.append(rec)
        return pd.DataFrame.from_records(records)


# ------------------------------------------------------------------ analysis
def bin_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per depth bin: mean and std of log sigma, networks with layers there, Lambda's rho with accuracy."""
    rows = []
    for b in range(NBINS):
        sig = frame[f"log_sigma_{b}"].astype(float)
        lam = frame[f"lambda_{b}"].astype(float)
        ok = lam.notna() & frame["accuracy"].notna()
        rho = stats.spearmanr(lam[ok], frame.loc[ok, "accuracy"]).statistic if ok.sum() > 2 else math.nan
        rows.append({"bin": b, "percentiles": f"{10 * b}-{10 * b + 9}", "n_networks": int(sig.notna().sum()),
                     "mean_log_sigma": sig.mean(), "std_log_sigma": sig.std(ddof=0),
                     "lambda_spearman": rho})
    return pd.DataFrame(rows)


def choose_window(frame: pd.DataFrame, criterion: str = "spike", half_width: int = 1) -> Window:
    """The window the sampled statistics suggest (see the module doc for the criteria)."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if half_width < 0:
        raise ValueError(f"half_width must be >= 0, got {half_width}")
    summary = bin_summary(frame)
    if criterion == "spike":
        curve = summary["mean_log_sigma"].to_numpy()
        if np.isnan(curve).all():
            raise ValueError("no depth bin has gradient statistics; are the networks dead?")
        bins = np.arange(NBINS)
        ok = ~np.isnan(curve)
        if ok.sum() >= 2:
            slope, intercept = np.polyfit(bins[ok], curve[ok], 1)
        else:
            slope, intercept = 0.0, float(np.nanmean(curve))
        residual = np.abs(curve - (slope * bins + intercept))
        spike = int(np.nanargmax(residual))
        lo, hi = max(spike - half_width, 0), min(spike + half_width, NBINS - 1)
        return Window(lo, hi, criterion, f"mean log sigma leaves its linear trend over depth most in bin "
                                         f"{spike} (by {residual[spike]:.3f}); window = that bin +- {half_width}")
    return _best_correlated_window(frame)


def _best_correlated_window(frame: pd.DataFrame) -> Window:
    acc = frame["accuracy"].astype(float)
    if acc.notna().sum() < 3:
        raise ValueError("criterion 'correlation' needs ground-truth accuracies for at least 3 networks")
    lam = frame[[f"lambda_{b}" for b in range(NBINS)]].astype(float).to_numpy()
    best = (-math.inf, 0, NBINS - 1)
    for lo in range(NBINS):
        for hi in range(lo, NBINS):
            block = lam[:, lo:hi + 1]
            total = np.where(np.isnan(block).all(axis=1), np.nan, np.nansum(block, axis=1))
            ok = ~np.isnan(total) & acc.notna().to_numpy()
            if ok.sum() < 3:
                continue
            rho = stats.spearmanr(total[ok], acc.to_numpy()[ok]).statistic
            if rho > best[0]:
                best = (rho, lo, hi)
    rho, lo, hi = best
    return Window(lo, hi, "correlation", f"summed Lambda over bins {lo}..{hi} has the highest Spearman "
                                         f"with accuracy on the selection sample ({rho:.3f})")


# ------------------------------------------------------------------ plot
def plot_bins(summary: pd.DataFrame, window: Window, title: str, path: str | Path) -> Path:
    """Mean +- std of log sigma per depth bin, the chosen window shaded, Lambda's rho on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=120)
    x = summary["bin"].to_numpy()
    ax.axvspan(window.lo_bin - 0.5, window.hi_bin + 0.5, color="tab:orange", alpha=0.15,
               label=f"chosen window {window.percentiles[0]}-{window.percentiles[1]}% ({window.criterion})")
    ax.errorbar(x, summary["mean_log_sigma"], yerr=summary["std_log_sigma"], fmt="o-", color="tab:blue",
                capsize=3, label="mean log sigma (+- std over networks)")
    ax.set_xticks(x, summary["percentiles"], rotation=30)
    ax.set_xlabel("depth percentile bin of the layer")
    ax.set_ylabel("log sigma (std over samples of |dL/dw|)", color="tab:blue")
    handles, labels = ax.get_legend_handles_labels()
    if summary["lambda_spearman"].notna().any():
        ax2 = ax.twinx()
        ax2.plot(x, summary["lambda_spearman"], "s--", color="tab:green", label="Spearman(Lambda of bin, accuracy)")
        ax2.set_ylabel("Spearman rho with accuracy", color="tab:green")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=8,
              frameon=False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


# ------------------------------------------------------------------ the task's window, generated
LSWAG_PROXIES: Sequence[str] = ("lswag", "lswag_lambda", "lswag_psi")
COMMAND = "zcbench-select-layers task=<task> write=true"
ABOUT = ("L-SWAG's layer window per task (depth percentiles) for lswag, lswag_lambda and lswag_psi, chosen from\n"
         "per-layer gradient statistics of sampled networks at initialisation (zcbench/layer_selection.py).\n"
         "provenance: the criterion and its reason, the networks it looked at (archs: the file listing them;\n"
         "criterion correlation read their accuracies, so tables leave them out: zcbench/analysis/chosen_on.py).")


def window_entry(window: Window, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """A task's entry of the generated window file: the three proxies' options and how they were chosen."""
    lo, hi = window.percentiles
    return {"proxy_options": {name: {"window_lo": lo, "window_hi": hi} for name in LSWAG_PROXIES},
            "provenance": {"criterion": window.criterion, "reason": window.reason, **provenance}}


def write_window(task: str, window: Window, provenance: Mapping[str, Any], path: str | Path = LSWAG_WINDOWS) -> Path:
    """Make `window` the task's L-SWAG window: its entry in the generated file (the other tasks' entries
    kept), the file written whole. No hand-written config is touched."""
    entries = read_entries(path)
    entries[task] = window_entry(window, provenance)
    return write_entries(path, entries, COMMAND, ABOUT)


# ------------------------------------------------------------------ the command
def select_window(cfg: Any) -> dict[str, Any]:
    """Per-layer statistics of the configured sample (resuming out_dir's journal), the window they
    suggest, bins.csv, window.json, log_sigma_bins.png and archs.txt in out_dir; with cfg.write,
    the window becomes the task's (write_window). Returns window.json's content."""
    import sys

    from tqdm import tqdm

    from .harness import build_network, prepare

    if cfg.criterion not in CRITERIA:
        raise BadOptionError(f"criterion={cfg.criterion!r}; valid criteria: {', '.join(CRITERIA)}")
    if isinstance(cfg.half_width, bool) or not isinstance(cfg.half_width, int) or cfg.half_width < 0:
        raise BadOptionError(f"half_width={cfg.half_width!r}; half_width must be a whole number >= 0")
    if not isinstance(cfg.write, bool):
        raise BadOptionError(f"write={cfg.write!r}; valid values: true, false")
    setup = prepare(cfg, what=", per-layer gradient statistics for the L-SWAG window")
    out_dir = Path(cfg.out_dir)
    journal = StatsJournal(out_dir / "layer_stats.jsonl")
    accuracy = dict(zip(setup.truth["arch"], setup.truth["accuracy"]))
    todo = [a for a in setup.archs if a not in journal]
    print(f"[zcbench] {len(setup.archs) - len(todo)} networks already in {journal.path}; computing {len(todo)}")
    for arch in tqdm(todo, desc="layer statistics", unit="arch", file=sys.stderr,
                     disable=not cfg.get("progress", True)):
        try:
            row = layer_statistics(build_network(setup, arch), setup.inputs, setup.labels, setup.loss_fn)
        except Exception as err:  # a network whose pass fails is reported, not fatal
            print(f"[zcbench] {arch}: failed ({type(err).__name__}: {err}); left out")
            continue
        journal.add({"arch": arch, "accuracy": accuracy.get(arch, float("nan")), **row})

    (out_dir / "archs.txt").write_text("\n".join(setup.archs) + "\n")
    frame = journal.frame(setup.archs)
    summary = bin_summary(frame)
    window = choose_window(frame, str(cfg.criterion), int(cfg.half_width))
    lo, hi = window.percentiles
    summary.to_csv(out_dir / "bins.csv", index=False)
    info = {"task": setup.task.name, "window_lo": lo, "window_hi": hi, "bins": [window.lo_bin, window.hi_bin],
            "criterion": window.criterion, "reason": window.reason, "n_networks": len(frame),
            "seed": setup.seed, "inputs": setup.batch.source}
    (out_dir / "window.json").write_text(json.dumps(info, indent=2) + "\n")
    png = plot_bins(summary, window, f"{setup.task.name}: per-layer gradient spread by depth "
                                     f"({len(frame)} networks)", out_dir / "log_sigma_bins.png")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"[zcbench] window: depth percentiles {lo}-{hi} ({window.reason})")
    print(f"[zcbench] wrote {out_dir / 'bins.csv'}, {out_dir / 'window.json'}, {png}")
    if cfg.write:
        provenance = {"networks": len(frame), "seed": setup.seed,
                      "batch": "x".join(str(n) for n in setup.batch.inputs.shape),
                      "inputs": setup.batch.dataset, "archs": str(out_dir / "archs.txt")}
        path = write_window(setup.task.name, window, provenance, cfg.get("windows_file") or LSWAG_WINDOWS)
        print(f"[zcbench] the window of {setup.task.name} is now this one: wrote {path}")
        own = cfg.task.get("proxy_options") or {}
        shadowing = [name for name in LSWAG_PROXIES if {"window_lo", "window_hi"} & set(own.get(name) or {})]
        if shadowing:
            print(f"[zcbench] note: the task's own config sets the window of {', '.join(shadowing)}, which "
                  f"wins over the generated one; remove it there to use this window")
    return info
