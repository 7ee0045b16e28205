"""Cheaper inputs, measured: which proxies rank a space's archs the same at a lower cost.

Scoring at the paper's input (ViT: 224 px, batch 64; TransNAS-Bench-101: 256 px,
batch 32) is what makes the paper's tables expensive. A cheaper input (fewer
pixels, hence fewer tokens or smaller maps, or a smaller batch) may stand in for
it for one proxy only where it ranks the same archs the same way: here, where
the Spearman correlation between the proxy's scores under the two inputs is at
least ``THRESHOLD`` (0.9) on a calibration sample of at least ``MIN_ARCHS`` archs.

Input: score files of one calibration task, one per input setting, e.g.
``results/protocol/autoformer_t/px112_b64/scores.h5`` (any number of files under
one folder; each row's settings string names its batch shape, so the folder
layout carries no meaning). Output: a markdown table per space (agreement with
the paper input, rank correlation with ground truth under each input, seconds
per arch) and the chosen input per proxy in a generated YAML file that the
harness reads (``zcbench/conf/derived/protocol.yaml``; never edited by hand).

    zcbench-protocol root=results/protocol out=results/protocol.md \\
        write=zcbench/conf/derived/protocol.yaml          (zcbench/cli/protocol.py)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from ..cache import load_scores
from ..errors import BadOptionError, DataNotFoundError
from ..protocol import settings_input

THRESHOLD = 0.9
MIN_ARCHS = 30


@dataclass(frozen=True, order=True)
class Input:
    """One input setting: square images of `image_size` pixels, `batch_size` of them."""

    image_size: int
    batch_size: int

    @property
    def label(self) -> str:
        return f"{self.image_size} px, batch {self.batch_size}"

    @property
    def pixels(self) -> int:
        return self.image_size * self.image_size * self.batch_size


def input_of(settings: str) -> Input:
    """The batch shape spelled in a cache row's settings (`batch=BxCxHxW`), square images only."""
    given = settings_input(settings)
    if given is None:
        raise ValueError(f"settings {settings!r} name no square image batch (batch=BxCxHxW, or jigsaw tiles with space.image_size)")
    return Input(*given)


def calibration_frame(folder: str | Path) -> pd.DataFrame:
    """Every score under `folder` (recursively), with its input setting in column `input`."""
    folder = Path(folder)
    files = sorted(folder.rglob("scores.h5")) + sorted(
        j.with_suffix("") for j in folder.rglob("scores.h5.journal") if not j.with_suffix("").exists())
    if not files:
        raise FileNotFoundError(f"no calibration score files (scores.h5) under {folder}")
    frame = pd.concat([load_scores(f) for f in files], ignore_index=True)
    frame = frame.drop_duplicates(["task", "proxy", "arch", "seed", "settings"], keep="last")
    frame["input"] = frame["settings"].map(input_of)
    return frame


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    ok = (frame["error"] == "") & np.isfinite(frame["score"].astype(float))
    return frame[ok]


def _spearman(a: Sequence[float], b: Sequence[float]) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(stats.spearmanr(a, b).statistic)


def agreement_table(frame: pd.DataFrame, reference: Input) -> pd.DataFrame:
    """Per (task, proxy, input): agreement with the reference input, rho vs truth, seconds.

    The agreement is the Spearman correlation on the archs both inputs scored (n_shared);
    n_same_failed counts the archs that failed under both (a disconnected cell fails at any
    input), n_failure_mismatch those that failed under one only.
    """
    rows = []
    for (task, proxy), group in frame.groupby(["task", "proxy"], sort=True):
        ref_all = group[group["input"] == reference].set_index("arch")
        ref = _finite(ref_all.reset_index()).set_index("arch")
        ref_failed = ref_all.index.difference(ref.index)
        for inp, part in group.groupby("input", sort=True):
            ok = _finite(part).set_index("arch")
            failed = pd.Index(part["arch"]).difference(ok.index)
            shared = ref.index.intersection(ok.index)
            truth = ok["accuracy"].dropna()
            both = ref_all.index.intersection(pd.Index(part["arch"]))
            rows.append({
                "task": task, "proxy": proxy, "input": inp, "n_archs": len(part), "n_failed": len(failed),
                "n_shared": len(shared),
                "n_same_failed": len(failed.intersection(ref_failed)),
                "n_failure_mismatch": len(both.intersection(failed.symmetric_difference(ref_failed))),
                "agreement": 1.0 if inp == reference else _spearman(ref.loc[shared, "score"], ok.loc[shared, "score"]),
                "rho_truth": _spearman(ok.loc[truth.index, "score"], truth),
                "seconds": float(part["seconds"].mean()),
            })
    return pd.DataFrame(rows)


def _dominates(a: Input, b: Input) -> bool:
    """`a` costs less than `b` for any network and proxy: no larger images and no larger batch."""
    return a != b and a.image_size <= b.image_size and a.batch_size <= b.batch_size


def choose(table: pd.DataFrame, reference: Input, threshold: float = THRESHOLD,
           min_archs: int = MIN_ARCHS) -> dict[str, Input]:
    """Per proxy, the cheapest input that agrees with the reference on >= min_archs archs.

    Agreeing on an arch: both inputs score it (Spearman >= threshold over those) or both fail
    on it; an arch that fails under one input only disqualifies the cheaper one. The reference
    input is always allowed. A proxy must agree on every calibration task it was scored on.

    Cheapest: an allowed input with smaller (or equal) images and a smaller (or equal) batch than
    another is cheaper by construction, so the dominated one drops out without reading seconds;
    only inputs that trade one for the other (112 px x 32 against 64 px x 64) are compared by
    their mean measured seconds per arch, to 0.1 s (ties: fewer pixels). Seconds measured in
    different sessions drift (machine load, faster code), so they never overrule the order that
    the input sizes fix.
    """
    chosen = {}
    for proxy, group in table.groupby("proxy", sort=True):
        allowed = {}
        for inp, g in group.groupby("input", sort=True):
            agree = ((g["agreement"] >= threshold) & (g["n_failure_mismatch"] == 0)
                     & (g["n_shared"] + g["n_same_failed"] >= min_archs))
            if inp == reference or bool(agree.all()):
                allowed[inp] = round(float(g["seconds"].mean()), 1)
        frontier = [i for i in allowed if not any(_dominates(j, i) for j in allowed)]
        chosen[proxy] = min(frontier, key=lambda i: (allowed[i], i.pixels)) if frontier else reference
    return chosen


def _fmt(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def markdown(space: str, table: pd.DataFrame, reference: Input, chosen: dict[str, Input]) -> str:
    """One space's section: a row per proxy, per input its agreement / rho vs truth / seconds."""
    inputs = sorted(table["input"].unique(), key=lambda i: -i.pixels)
    tasks = ", ".join(sorted(table["task"].unique()))
    n = int(table[table["input"] == reference]["n_archs"].max())
    lines = [f"## {space}", "",
             f"Calibration task(s) {tasks}; reference = the paper's input ({reference.label}), {n} archs. "
             f"Each cell: Spearman with the reference scores on the shared archs / Spearman with ground "
             f"truth / seconds per arch on one core (the seconds of the proxy's own passes; proxies that "
             f"share passes pay them once). **bold** = chosen (the cheapest of the inputs with "
             f"agreement >= {THRESHOLD} on >= {MIN_ARCHS} archs, an arch that fails under both inputs counting as "
             f"agreeing and one that fails under one only as disagreeing; seconds measured on this shared 2-core "
             f"machine while other work ran, so they are indicative: an input with smaller images and no larger batch "
             f"than another, or a smaller batch and no larger images, is cheaper whatever the seconds say; seconds "
             f"only decide between inputs that trade one for the other).", "",
             "| proxy | " + " | ".join(i.label for i in inputs) + " | chosen |",
             "|---|" + "---|" * (len(inputs) + 1)]
    for proxy, group in table.groupby("proxy", sort=True):
        cells = []
        for inp in inputs:
            row = group[group["input"] == inp]
            if row.empty:
                cells.append("")
                continue
            r = row.iloc[0]
            failed = f" ({int(r.n_failed)} failed)" if r.n_failed else ""
            text = f"{_fmt(r.agreement)} / {_fmt(r.rho_truth)} / {r.seconds:.1f} s{failed}"
            cells.append(f"**{text}**" if chosen.get(proxy) == inp else text)
        lines.append(f"| {proxy} | " + " | ".join(cells) + f" | {chosen[proxy].label} |")
    return "\n".join(lines) + "\n"


def derived_yaml(choices: dict[str, tuple[Input, dict[str, Input], str]]) -> dict:
    """The generated config: per space, the reference input and each proxy's chosen input."""
    out = {}
    for space, (reference, chosen, tasks) in sorted(choices.items()):
        out[space] = {
            "reference": {"image_size": reference.image_size, "batch_size": reference.batch_size},
            "calibrated_on": tasks,
            "proxies": {p: {"image_size": i.image_size, "batch_size": i.batch_size}
                        for p, i in sorted(chosen.items()) if i != reference},
        }
    return out


def parse_input(space: str, spec: str) -> Input:
    """`SIZExBATCH` (e.g. 224x64) as an Input; BadOptionError naming the space otherwise."""
    try:
        size, batch = (int(x) for x in str(spec).split("x"))
    except ValueError:
        raise BadOptionError(f"reference.{space}={spec!r} is not SIZExBATCH, e.g. reference.{space}=224x64") from None
    return Input(size, batch)


def protocol_report(root: str | Path, references: Mapping[str, Input]) -> tuple[str, dict]:
    """The markdown page of every space folder under `root` (one calibration task each), and the choices
    behind it (space -> (reference input, proxy -> chosen input, calibration tasks)) for derived_yaml.

    A space's reference is references[space], else the largest input scored."""
    sections, choices = [], {}
    folders = sorted(p for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []
    if not folders:
        raise DataNotFoundError("calibration score folders (one per space)", [str(root)],
                                "score them with `make protocol-calibrate`")
    for folder in folders:
        frame = calibration_frame(folder)
        reference = references.get(folder.name, max(frame["input"].unique(), key=lambda i: i.pixels))
        table = agreement_table(frame, reference)
        chosen = choose(table, reference)
        sections.append(markdown(folder.name, table, reference, chosen))
        choices[folder.name] = (reference, chosen, ", ".join(sorted(frame["task"].unique())))
    header = ("# The cost-aware protocol: cheaper inputs, measured\n\n"
              "Generated by `make protocol` (zcbench-protocol, zcbench/analysis/protocol.py) from the calibration "
              f"caches under {root}/. A proxy is scored at a cheaper input than the paper's only where its "
              f"scores there rank the calibration archs like the paper input does (Spearman >= {THRESHOLD}, "
              f">= {MIN_ARCHS} archs). Images are the task's batch (here real CIFAR-10 images, resized).\n\n")
    return header + "\n".join(sections), choices


def derived_text(choices: dict) -> str:
    """zcbench/conf/derived/protocol.yaml's text (generated, with a do-not-edit header) for these choices."""
    header = ("# GENERATED by zcbench-protocol (zcbench/analysis/protocol.py) from the calibration caches; do not edit.\n"
              "# Per space: the paper's input and, per proxy, the cheaper input that ranks archs the same\n"
              f"# (Spearman >= {THRESHOLD} with the paper input on >= {MIN_ARCHS} archs; results/protocol.md).\n")
    return header + yaml.safe_dump(derived_yaml(choices), sort_keys=True)
