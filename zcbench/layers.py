"""Choose L-SWAG's layer window for a task: `python -m zcbench.layers task=<task> [n_archs=1000] ...`.

Takes the main command's overrides (task=, n_archs=, seed=, batch_size=,
archs=, data_root=, device=, out_dir=) plus its own:

  criterion=spike|correlation   how the window is chosen (zcbench.layer_selection)
  half_width=1                  bins on each side of the spike
  write_config=false            true: write the window into zcbench/conf/task/<task>.yaml

Writes to out_dir (default results/layer_selection/<task>): layer_stats.jsonl
(one row per network; rerunning resumes), bins.csv (per depth bin: mean and
std of log sigma, Lambda's Spearman with accuracy), window.json and
log_sigma_bins.png, and archs.txt (the networks it saw: pass it as
exclude_archs= to evaluate the window on other architectures).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from tqdm import tqdm

from .benchmarks.tasks import CONF_DIR
from .errors import ZcbenchError
from .harness import build_network, compose, prepare
from .layer_selection import CRITERIA, StatsJournal, bin_summary, choose_window, layer_statistics, \
    plot_bins, write_window

OWN_KEYS = {"criterion": "spike", "half_width": "1", "write_config": "false"}


def _split(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    own, rest = dict(OWN_KEYS), []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key in OWN_KEYS:
            own[key] = value
        else:
            rest.append(arg)
    if own["criterion"] not in CRITERIA:
        raise ZcbenchError(f"criterion={own['criterion']!r}; valid criteria: {', '.join(CRITERIA)}")
    if own["write_config"] not in ("true", "false"):
        raise ZcbenchError(f"write_config={own['write_config']!r}; valid values: true, false")
    return own, rest


def main(argv: Sequence[str]) -> dict:
    own, overrides = _split(argv)
    if not any(a.startswith("out_dir=") for a in overrides):
        overrides.append("out_dir=results/layer_selection/${task.name}")
    cfg = compose(overrides)
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
    window = choose_window(frame, own["criterion"], int(own["half_width"]))
    lo, hi = window.percentiles
    summary.to_csv(out_dir / "bins.csv", index=False)
    provenance = (f"chosen from {len(frame)} {setup.task.name} networks at initialisation (seed {setup.seed}, "
                  f"batch {setup.inputs.shape[0]}, {setup.batch.dataset} inputs), criterion {window.criterion}")
    info = {"task": setup.task.name, "window_lo": lo, "window_hi": hi, "bins": [window.lo_bin, window.hi_bin],
            "criterion": window.criterion, "reason": window.reason, "n_networks": len(frame),
            "seed": setup.seed, "inputs": setup.batch.source}
    (out_dir / "window.json").write_text(json.dumps(info, indent=2) + "\n")
    png = plot_bins(summary, window, f"{setup.task.name}: per-layer gradient spread by depth "
                                     f"({len(frame)} networks)", out_dir / "log_sigma_bins.png")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"[zcbench] window: depth percentiles {lo}-{hi} ({window.reason})")
    print(f"[zcbench] wrote {out_dir / 'bins.csv'}, {out_dir / 'window.json'}, {png}")
    if own["write_config"] == "true":
        path = CONF_DIR / "task" / f"{setup.task.name}.yaml"
        write_window(path, window, provenance)
        print(f"[zcbench] wrote the window into {path}")
    return info


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ZcbenchError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
