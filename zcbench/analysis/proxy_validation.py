"""Every proxy on NB201 next to its published Spearman rho, with its own noise.

Reads the accumulated score caches (`<cache_dir>/<task>/scores.h5`, filled by
`python -m zcbench proxy=all task=<task> n_archs=1000 out_dir=<cache_dir>/<task>`),
takes the task's seeded sample of n_archs architectures, and for each proxy
reports our rho (failures ranked last, as NASLib does) with a bootstrap
interval, the reference it is compared with and the difference:

- NASLib's published correlation runs (200 archs x 5 seeds) where they exist,
- else the Spearman of the scores NAS-Bench-Suite-Zero stored (~725 archs),
- else the proxy's own paper, or the ensemble's (zcbench/analysis/paper_values.yaml,
  single_proxies), with the metric it reports (Spearman rho or Kendall tau):
  the difference is ours minus published in THAT metric (failures last).

The ensembles with fixed members (az_nas, te_nas) get a row too, fused from
their members' cached scores as the leaderboard fuses them. Archs an option
of a proxy was chosen on with ground truth (swap_reg's NB201 size prior,
analysis/chosen_on.py) are left out of that proxy's row and of any ensemble
using it. Every difference over TOLERANCE is listed under the tables with its
explanation from paper_values.yaml (validation_notes), or marked UNEXPLAINED.

It also reports the Spearman between our score and the score Suite-Zero stored
for the same architecture (on the sampled archs Suite-Zero also scored, plus
those of ``agreement=DIR``), and with ``noise=DIR`` (the same archs scored
with another seed: another initialisation and batch) the proxy's seed-to-seed
noise, the ceiling for any agreement.

    zcbench-validate out=results/proxy_validation_nb201.md      (zcbench/cli/validate.py)
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..tasks import read_ground_truth
from ..tasks.task import ground_truth, load_task
from ..cache import load_scores
from ..harness import sample_archs
from ..ensembles import ENSEMBLES
from ..ensembles.baselines import AZ_NAS_MEMBERS, TE_NAS_MEMBERS
from ..ensembles.table import current_rows, widest_settings
from .aliases import options_from_settings
from .chosen_on import excluded_for, held_out
from .paper_tables import paper_values
from ..spaces import get_space
from .reference import NASLIB_NAMES, published_spearman, score_agreement, suite_zero_frame, suite_zero_spearman
from .stats import bootstrap_interval, correlation_table, ranks_failed_last
from .tables import to_markdown, write_report

NB201_TASKS = ("nb201_cifar10", "nb201_cifar100", "nb201_imagenet16_120")
TOLERANCE = 0.05  # the bar: within 0.05 of the published rho
FIXED_ENSEMBLES = {"az_nas": AZ_NAS_MEMBERS, "te_nas": TE_NAS_MEMBERS}
METRIC_SYMBOL = {"spearman": "rho", "kendall": "tau"}


def sampled_scores(cache_dir: Path, task: str, n_archs: int, seed: int, data_root: Path) -> pd.DataFrame:
    """The cached rows of the task's seeded sample (the archs `python -m zcbench n_archs=...` visits).

    Rows computed by an older version of a proxy's code are left out. Where a
    proxy was scored under several settings, the settings covering most of the
    sample are kept (one row per arch and proxy). Accuracy is the task's ground truth.
    """
    path = cache_dir / task / "scores.h5"
    if not path.exists():
        raise FileNotFoundError(f"no score cache for task {task} at {path}; fill it with "
                                f"python -m zcbench proxy=all task={task} n_archs={n_archs} out_dir={path.parent}")
    truth = ground_truth(load_task(task), data_root)
    archs = set(sample_archs(truth["arch"], min(n_archs, len(truth)), seed))
    frame = load_scores(path)
    frame = frame[(frame["task"] == task) & (frame["seed"] == seed) & frame["arch"].isin(archs)]
    before = set(frame["proxy"])
    frame = current_rows(frame)
    stale = sorted(before - set(frame["proxy"]))
    frame = frame[frame["settings"] == frame["proxy"].map(widest_settings(frame))]
    # accuracy from the task's ground truth, not the cache's copy: rows still in a journal (a run
    # killed before its checkpoint) have none yet
    out = frame.drop(columns=["accuracy"]).merge(truth[["arch", "accuracy"]], on="arch", how="left")
    out.attrs["stale"] = stale  # proxies whose cached rows all come from an older version of their code
    return out


#: NASLib's scores of some proxies for every arch of a space (data/full_space/; final-epoch ground truth,
#: the same values the tasks use): (task prefix, proxy) -> (folder, file pattern with {dataset})
FULL_SPACE = {
    ("nb201_", "zen"): ("full_space/nb201_zen/zen", "benchmark--nasbench201--{dataset}--*.json"),
    ("tnb101_micro_", "zen"): ("full_space/all_benchmarks_zen/zen", "benchmark--transbench101_micro--{dataset}--*.json"),
    ("tnb101_macro_", "zen"): ("full_space/tnb101_macro_zen/zen", "benchmark--transbench101_macro--{dataset}--*.json"),
}
for _kind in ("micro", "macro"):  # synflow and epe_nas: the four TNB tasks with class-like labels only
    for _proxy in ("synflow", "epe_nas"):
        FULL_SPACE[(f"tnb101_{_kind}_", _proxy)] = (f"full_space/tnb101_classification_{_proxy}/{_proxy}",
                                                   f"benchmark--transbench101_{_kind}--{{dataset}}--*.json")


def _full_space_source(data_root: Path, task: str, proxy: str) -> tuple[str, str] | None:
    """(folder, glob) of NASLib's full-space scores of `proxy` on `task`, if the data folder has them."""
    if task not in NASLIB_NAMES:
        return None
    for (prefix, name), (folder, pattern) in FULL_SPACE.items():
        if name == proxy and task.startswith(prefix):
            pattern = pattern.format(dataset=NASLIB_NAMES[task][1])
            if any((Path(data_root) / folder).glob(pattern)):
                return folder, pattern
    return None


@functools.lru_cache(maxsize=None)
def full_space_scores(data_root: Path, task: str, proxy: str) -> pd.DataFrame | None:
    """NASLib's score of `proxy` for every arch of the task's space (arch, accuracy, ref); None if absent."""
    source = _full_space_source(data_root, task, proxy)
    if source is None:
        return None
    frame = read_ground_truth("naslib_full_space", data_root, dir=source[0], pattern=source[1])
    if f"ref_{proxy}" not in frame:
        return None
    space = get_space(load_task(task).space)
    return pd.DataFrame({"arch": [space.from_benchmark_key(k) for k in frame["key"]], "accuracy": frame["accuracy"],
                         "ref": frame[f"ref_{proxy}"]})


def full_space_agreement(data_root: Path, task: str, proxy: str, ours: pd.DataFrame) -> tuple[float, int] | None:
    """Spearman between our score and NASLib's full-space score of the same archs (failures last)."""
    ref = full_space_scores(data_root, task, proxy)
    if ref is None:
        return None
    mine = ours[ours["proxy"] == proxy][["arch", "score", "error"]].merge(ref[["arch", "ref"]], on="arch")
    if len(mine) < 3:
        return None
    return float(stats.spearmanr(ranks_failed_last(mine["score"].where(mine["error"] == "")),
                                 mine["ref"]).statistic), len(mine)


def reference_on_archs(data_root: Path, task: str, proxy: str, sample: pd.DataFrame,
                       min_archs: int = 10) -> tuple[float, int] | None:
    """Spearman of the reference's own per-arch scores vs our ground truth, on our sampled archs.

    It separates the two reasons a rho can differ from the published one: if the reference's
    scores give our rho on our archs, the difference is the sample; if not, the scores differ.
    Uses NASLib's full-space scores where they exist, else Suite-Zero's stored scores (archs
    both have); None with fewer than `min_archs` such archs.
    """
    truth = sample[["arch", "accuracy"]].drop_duplicates("arch").dropna()
    full = full_space_scores(data_root, task, proxy)
    if full is not None:
        both = truth.merge(full[["arch", "ref"]], on="arch")
    elif task in NASLIB_NAMES:
        stored = suite_zero_frame(data_root, task)
        if f"ref_{proxy}" not in stored:
            return None
        stored = stored.groupby("arch", as_index=False)[f"ref_{proxy}"].mean()  # NB101: several keys per cell
        both = truth.merge(stored.rename(columns={f"ref_{proxy}": "ref"}), on="arch")
    else:
        return None
    both = both[np.isfinite(both["ref"])]
    if len(both) < min_archs or both["ref"].nunique() < 2:
        return None
    return float(stats.spearmanr(both["ref"], both["accuracy"]).statistic), len(both)


def paper_entry(single: dict, proxy: str, task: str) -> tuple[float, str, str] | None:
    """(value, metric, source) of a paper value in paper_values.yaml's single_proxies: a bare number is
    a Spearman rho from the proxy's own paper; a mapping gives {spearman|kendall: value, source: ...}."""
    entry = single.get(proxy, {}).get(task)
    if entry is None:
        return None
    if not isinstance(entry, dict):
        return float(entry), "spearman", "its paper (paper_values.yaml)"
    metric = "spearman" if "spearman" in entry else "kendall"
    return float(entry[metric]), metric, str(entry.get("source", "its paper (paper_values.yaml)"))


def reference_for(data_root: Path, task: str, proxy: str, single: dict) -> tuple[float, str, str]:
    """(published value, where it comes from, its metric); (nan, '-', 'spearman') when nothing was published."""
    pub = published_spearman(data_root, task, proxy)
    if pub:
        return pub[0], f"NASLib correlation runs ({pub[2]} x 200 archs, std {pub[1]:.3f})", "spearman"
    sz = suite_zero_spearman(data_root, task, proxy)
    if sz:
        epoch = ", best-epoch accuracy" if task.startswith("tnb101") else ""  # TNB tasks here use the final epoch
        return sz[0], f"Suite-Zero stored scores ({sz[1]} archs{epoch})", "spearman"
    full = full_space_scores(data_root, task, proxy)
    if full is not None:  # NASLib stores -1e8 for a failed arch, which ranks it last
        return (float(stats.spearmanr(full["ref"], full["accuracy"]).statistic),
                f"NASLib full-space scores ({len(full)} archs)", "spearman")
    found = paper_entry(single, proxy, task)
    if found is not None:
        return found[0], found[2], found[1]
    return float("nan"), "-", "spearman"


def seed_to_seed(frame: pd.DataFrame, proxy: str, seed: int, other: int) -> tuple[float, int]:
    """Spearman between the scores of two seeds on the same archs (finite on both), and their count."""
    rows = frame[(frame["proxy"] == proxy) & (frame["error"] == "")]
    wide = rows.pivot_table(index="arch", columns="seed", values="score", aggfunc="first")
    if seed not in wide or other not in wide:
        return float("nan"), 0
    both = wide[[seed, other]].dropna()
    if len(both) < 3 or both[seed].nunique() < 2 or both[other].nunique() < 2:
        return float("nan"), len(both)
    return float(stats.spearmanr(both[seed], both[other]).statistic), len(both)


def _same_settings(extra: pd.DataFrame, frame: pd.DataFrame, task: str) -> pd.DataFrame:
    """Rows of `extra` for `task` scored under the settings `frame` uses for each proxy."""
    chosen = frame[["proxy", "settings"]].drop_duplicates()
    return extra[extra["task"] == task].merge(chosen, on=["proxy", "settings"])


def validation_table(cache_dir: Path, data_root: Path, tasks: Sequence[str] = NB201_TASKS,
                     n_archs: int = 1000, seed: int = 0, agreement_dir: Path | None = None,
                     noise_dir: Path | None = None, n_boot: int = 1000) -> pd.DataFrame:
    """One row per (task, proxy): our rho, interval, reference, difference, agreement, noise.

    Agreement with Suite-Zero's stored scores uses the sample's own archs that Suite-Zero also
    scored, plus the seed-`seed` rows of `agreement_dir` (e.g. Suite-Zero's own archs). The
    seed-to-seed noise compares the sample's scores with those of another seed on the same
    archs, read from `noise_dir`.
    """
    single = paper_values().get("single_proxies", {}).get("methods", {})
    notes = paper_values().get("validation_notes", {}) or {}
    agree_extra = current_rows(load_scores(agreement_dir)) if agreement_dir else None
    noise_extra = current_rows(load_scores(noise_dir)) if noise_dir else None
    rows, stale = [], {}
    for task in tasks:
        frame = sampled_scores(cache_dir, task, n_archs, seed, data_root)
        stale[task] = list(frame.attrs.get("stale", []))
        settings = frame.groupby("proxy")["settings"].first().to_dict()  # one per proxy (sampled_scores)
        fitted = held_out(task, settings)
        kept = frame
        if fitted:  # each proxy loses the archs its own options were chosen on
            drop = pd.DataFrame([(p, a) for p, (archs, _) in fitted.items() for a in archs],
                                columns=["proxy", "arch"]).assign(_drop=True)
            kept = frame.merge(drop, on=["proxy", "arch"], how="left")
            kept = kept[kept["_drop"].isna()].drop(columns="_drop")
        agree = frame
        if agree_extra is not None:
            more = _same_settings(agree_extra[agree_extra["seed"] == seed], frame, task)
            agree = pd.concat([frame, more]).drop_duplicates(["proxy", "arch"])
        noise, other = None, None
        if noise_extra is not None:
            more = _same_settings(noise_extra[noise_extra["seed"] != seed], frame, task)
            if not more.empty:
                other = int(more["seed"].mode().iloc[0])
                noise = pd.concat([frame, more[more["seed"] == other]])
        aliases = _declared_aliases(settings)
        for rec in correlation_table(kept).itertuples(index=False):
            g = kept[(kept["proxy"] == rec.proxy) & kept["accuracy"].notna()]
            ranked = ranks_failed_last(g["score"].where(g["error"] == ""))  # the interval of the rho shown
            lo, hi = bootstrap_interval(ranked, g["accuracy"], n_boot=n_boot) if n_boot else (np.nan, np.nan)
            row = _row(task, rec.proxy, "proxy", rec.n_archs + rec.n_failed, rec.n_failed,
                       rec.spearman_failed_last, rec.kendall_failed_last, lo, hi,
                       reference_for(data_root, task, rec.proxy, single), settings.get(rec.proxy, ""),
                       _left_out_note(fitted, [rec.proxy], frame, rec.proxy), aliases.get(rec.proxy, ""),
                       notes.get(rec.proxy, {}).get(task, ""))
            on_ours = reference_on_archs(data_root, task, rec.proxy, frame)
            if on_ours:
                row["reference_on_our_archs"], row["reference_on_our_archs_n"] = on_ours
            sz = suite_zero_spearman(data_root, task, rec.proxy) if task in NASLIB_NAMES else None
            if sz:  # the other NASLib reference: its stored scores can disagree with its correlation runs
                row["suite_zero_stored"] = sz[0]
            got = score_agreement(data_root, task, rec.proxy, agree) or \
                full_space_agreement(data_root, task, rec.proxy, frame)
            if got:
                row["agreement"], row["agreement_n"] = got
            if noise is not None:
                row["seed_to_seed"], row["seed_to_seed_n"] = seed_to_seed(noise, rec.proxy, seed, other)
            rows.append(row)
        for name, members in FIXED_ENSEMBLES.items():
            row = _ensemble_row(task, name, members, frame, fitted, n_boot, single, data_root, notes)
            if row is not None:
                rows.append(row)
            elif set(members) & set(stale[task]):
                stale[task].append(name)
    table = pd.DataFrame(rows)
    table.attrs["stale"] = stale
    return table


def _row(task: str, method: str, kind: str, n_archs: int, n_failed: int, rho: float, tau: float, lo: float,
         hi: float, reference: tuple[float, str, str], settings: str, left_out: str, alias: str,
         note: str) -> dict:
    """One validation row; the difference is taken in the published value's own metric."""
    ref, source, metric = reference
    ours = rho if metric == "spearman" else tau
    return {"task": task, "proxy": method, "kind": kind, "n_archs": n_archs, "n_failed": n_failed,
            "spearman": rho, "ci_low": lo, "ci_high": hi, "kendall": tau, "reference": ref,
            "reference_metric": metric, "reference_source": source, "difference": ours - ref,
            "within_0.05": bool(abs(ours - ref) <= TOLERANCE) if np.isfinite(ref) else None,
            "agreement": np.nan, "agreement_n": 0, "seed_to_seed": np.nan, "seed_to_seed_n": 0,
            "suite_zero_stored": np.nan, "reference_on_our_archs": np.nan, "reference_on_our_archs_n": 0,
            "settings": settings, "left_out": left_out, "same_as": alias, "explanation": note}


def _declared_aliases(settings: dict[str, str]) -> dict[str, str]:
    """proxy -> the proxy of this table it computes exactly under its settings (registry same_as)."""
    from ..proxies import PROXIES

    out = {}
    for proxy, s in settings.items():
        if proxy in PROXIES.names():
            target = PROXIES.get(proxy).alias_of(**options_from_settings(s))
            if target and target != proxy and target in settings:
                out[proxy] = target
    return out


def _left_out_note(fitted: dict, members, frame: pd.DataFrame, proxy: str) -> str:
    archs, what = excluded_for(members, fitted)
    n = len(archs & set(frame.loc[frame["proxy"] == proxy, "arch"]))
    return f"{n} archs left out: {what} was chosen on them" if n else ""


def _ensemble_row(task: str, name: str, members, frame: pd.DataFrame, fitted: dict, n_boot: int, single: dict,
                  data_root: Path, notes: dict) -> dict | None:
    """The fixed-member ensemble fused (as the leaderboard fuses it) over the sample's archs that every
    member scored, less the archs any member's options were chosen on; None if a member is missing."""
    rows = frame[frame["proxy"].isin(members) & frame["accuracy"].notna()]
    if set(rows["proxy"]) != set(members):
        return None
    wide = rows.assign(score=rows["score"].where(rows["error"] == "")).pivot_table(
        index="arch", columns="proxy", values="score", aggfunc="first", dropna=False)
    present = rows.groupby("arch")["proxy"].nunique() == len(members)
    archs_out, _ = excluded_for(members, fitted)
    archs = [a for a in present[present].index if a not in archs_out]
    wide = wide.loc[archs, list(members)]
    if len(archs) < 3:
        return None
    fused = ENSEMBLES.get(name).fuse(wide).to_numpy()
    acc = rows.drop_duplicates("arch").set_index("arch").loc[archs, "accuracy"].to_numpy()
    rho = float(stats.spearmanr(fused, acc).statistic)
    tau = float(stats.kendalltau(fused, acc).statistic)
    lo, hi = bootstrap_interval(stats.rankdata(fused), acc, n_boot=n_boot) if n_boot else (np.nan, np.nan)
    settings = "members=" + ",".join(members)
    left = len(archs_out & set(present[present].index))
    note = f"{left} archs left out: {excluded_for(members, fitted)[1]} was chosen on them" if left else ""
    return _row(task, name, "ensemble", len(archs), int(wide.isna().any(axis=1).sum()), rho, tau, lo, hi,
                reference_for(data_root, task, name, single), settings, note, "", notes.get(name, {}).get(task, ""))


def _fmt(v: float, digits: int = 3) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _published(r) -> str:
    if not np.isfinite(r.reference):
        return "-"
    return f"{r.reference:.3f} ({METRIC_SYMBOL[r.reference_metric]})"


def differences(table: pd.DataFrame) -> list[str]:
    """One line per (task, method) more than TOLERANCE from its published value, with its explanation."""
    out = []
    for r in table[table["within_0.05"].eq(False)].itertuples(index=False):
        ours = r.spearman if r.reference_metric == "spearman" else r.kendall
        why = r.explanation.strip() if isinstance(r.explanation, str) and r.explanation.strip() else "UNEXPLAINED"
        out.append(f"- {r.task} / {r.proxy}: ours {ours:.3f} vs {r.reference:.3f} "
                   f"({METRIC_SYMBOL[r.reference_metric]}, {r.reference_source}), {r.difference:+.3f}. {why}")
    return out


def markdown(table: pd.DataFrame, intro: str = "", title: str = "# Every proxy on NB201 vs the published numbers",
             level: str = "##") -> str:
    """Per task: one line per proxy and fixed ensemble, ours vs the reference (in its metric), then agreement
    and noise where measured, archs left out and aliases; then every difference over TOLERANCE explained."""
    out = [title, "", intro, ""]
    for task, g in table.groupby("task", sort=False):
        out += [f"{level} {task}", ""]
        shown = pd.DataFrame({
            "proxy": g["proxy"],
            "rho (failures last) [95% CI]": [f"{_fmt(r.spearman)} [{_fmt(r.ci_low, 2)}, {_fmt(r.ci_high, 2)}]"
                                              for r in g.itertuples()],
            "Kendall (failures last)": g["kendall"].map(_fmt),
            "failed / archs": [f"{r.n_failed} / {r.n_archs}" for r in g.itertuples()],
            "published": [_published(r) for r in g.itertuples()],
            "difference": g["difference"].map(lambda v: "-" if not np.isfinite(v) else f"{v:+.3f}"),
            "source": g["reference_source"],
            "rho of Suite-Zero's stored scores": g["suite_zero_stored"].map(_fmt),
        })
        if g["agreement_n"].any() or g["seed_to_seed_n"].any():
            shown["agreement with Suite-Zero's scores (n)"] = [
                f"{_fmt(r.agreement)} ({r.agreement_n})" if r.agreement_n else "-" for r in g.itertuples()]
            shown["ours seed 0 vs seed 1 (n)"] = [
                f"{_fmt(r.seed_to_seed)} ({r.seed_to_seed_n})" if r.seed_to_seed_n else "-" for r in g.itertuples()]
        out += [to_markdown(shown), ""]
        extra = [f"- {r.proxy}: {r.left_out}" for r in g.itertuples() if isinstance(r.left_out, str) and r.left_out]
        if table.attrs.get("stale", {}).get(task):
            extra.append(f"- not shown: {', '.join(table.attrs['stale'][task])} (the cache holds only rows of an "
                         "older version of the code, or of a member's: rescore them)")
        extra += [f"- {r.proxy} computes what {r.same_as} computes under its settings here (same scores)"
                  for r in g.itertuples() if isinstance(r.same_as, str) and r.same_as]
        if extra:
            out += extra + [""]
    compared = table[table["within_0.05"].notna()]
    out += [f"Within {TOLERANCE} of the published value (in its own metric): {int(compared['within_0.05'].sum())} "
            f"of {len(compared)} (task, method) pairs that have a published value.", ""]
    lines = differences(table)
    if lines:
        out += [f"{level} Differences over {TOLERANCE}, explained", "", *lines, ""]
    return "\n".join(out)


def write_sample(task: str, data_root: Path, n_archs: int, seed: int, size: int, path: Path) -> list[str]:
    """Write the first `size` archs of the task's seed-`seed` sample of n_archs to `path`, one per line
    (to score them with another seed: `zcbench archs=FILE seed=1`); returns them."""
    truth = ground_truth(load_task(task), data_root)
    archs = sample_archs(truth["arch"], min(n_archs, len(truth)), seed)[:size]
    path.write_text("\n".join(archs) + "\n")
    return archs


def report_intro(cache_dir: Path, n_archs: int, seed: int) -> str:
    """The paragraph above the tables: where the scores come from and how each number is made."""
    return (f"Produced by `zcbench-validate` from {cache_dir}/<task>/scores.h5: "
            f"each task's seeded sample of {n_archs} archs (seed {seed}; one batch of 64 real "
            "CIFAR-10 images per task, CIFAR-10 resized to 16x16 as the stand-in for ImageNet16-120), "
            "networks at their seeded initialisation. rho and Kendall tau both rank failed archs last "
            "(NASLib's convention); the interval is a percentile bootstrap of that rho over the archs. "
            "'published' is NASLib's correlation runs where they exist, else the Spearman of Suite-Zero's "
            "stored scores, else the method's paper (rho or tau, as marked; the difference is in that metric). "
            "az_nas and te_nas are fused from their members' scores as in the leaderboard. swap_reg, and any "
            "ensemble using it, leaves out the archs its NB201 size prior was calibrated on "
            "(zcbench/conf/proxy/swap_reg_prior_archs.txt). Agreement: Spearman between our score and the score Suite-Zero stored for the "
            "same architecture; seed 0 vs seed 1: the same archs scored with another init and batch.")
