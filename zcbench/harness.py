"""sample -> build -> score -> cache -> correlate, for one task and a set of proxies."""
from __future__ import annotations

import hashlib
import random
import re
import sys
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from .analysis import correlation_table, score_summary
from .tasks.task import CONF_DIR, LOSSES, Task, ground_truth
from .cache import ScoreCache, load_scores
from .inputs.datasets import Batch, load_batch
from .ensembles import ENSEMBLES
from .ensembles.as_proxy import (EnsembleSkipped, ensemble_options, member_proxies, not_applicable,
                                 score_over_archs, selectable_names)
from .errors import InvalidArchError, UnknownNameError, ZcbenchError, failure_reason
from .options import check_options, check_out_dir, parse_shard  # noqa: F401  (parse_shard: public here too)
from .proxies import PROXIES, score_network
from .proxies.base import TaskTraits
from .proxies.configs import config_options
from .protocol import InputGroup, describe, input_groups
from .sharing import SharedScores
from .spaces import SearchSpace, get_space
from .tasks.targets import make_targets


@dataclass
class RunResult:
    """What one run wrote; `correlations` is the per-proxy table printed at the end (for a task
    without ground truth: analysis.stats.score_summary's scored/failed/score-range table)."""

    out_dir: Path
    scores_path: Path
    correlations: pd.DataFrame
    batch_source: str
    n_computed: int
    n_failed: int


# ------------------------------------------------------------------ inputs
def _selection(selection: Any) -> dict[str, dict[str, Any]]:
    """{name: options} of the composed `proxy` config node, a list of names or one name, checked
    against the selectable names (registered proxies and ensembles)."""
    if isinstance(selection, str):
        selection = {selection: {}}
    elif isinstance(selection, (list, tuple)):
        selection = {name: {} for name in selection}
    elif OmegaConf.is_config(selection):
        selection = OmegaConf.to_container(selection, resolve=True)
    chosen = {}
    for name, options in (selection or {}).items():
        if name not in PROXIES and name not in ENSEMBLES:
            raise UnknownNameError("proxy", name, selectable_names())
        chosen[name] = dict(options or {})
    if not chosen:
        raise ZcbenchError(f"no proxy selected; valid proxies: {', '.join(selectable_names())}")
    return chosen


def resolve_ensembles(selection: Any) -> dict[str, dict[str, Any]]:
    """The ensembles of the `proxy` selection (e.g. proxy=[nwot,az_nas]), options checked and filled."""
    return {name: ensemble_options(name, options) for name, options in _selection(selection).items()
            if name in ENSEMBLES}


def resolve_proxies(selection: Any, has_truth: bool = True) -> dict[str, dict[str, Any]]:
    """The proxies each network is scored with, and their options, from the composed `proxy`
    config node (or a list of names).

    A selected ensemble (az_nas, te_nas, libra; zcbench/ensembles/as_proxy.py) contributes its
    member proxies, with their zcbench/conf/proxy options unless they are selected themselves;
    a tuned one (libra) contributes none where there is no ground truth (it is skipped there).
    """
    chosen: dict[str, dict[str, Any]] = {}
    members: dict[str, dict[str, Any]] = {}
    for name, options in resolve_ensembles(selection).items():
        if ENSEMBLES.get(name).tuned and not has_truth:
            continue
        for member in member_proxies(name, options):
            members.setdefault(member, config_options(member))
    for name, options in _selection(selection).items():
        if name not in ENSEMBLES:
            chosen[name] = options
    return {**chosen, **{m: o for m, o in members.items() if m not in chosen}}


def apply_task_options(proxies: Mapping[str, Mapping[str, Any]], task: Task) -> dict[str, dict[str, Any]]:
    """Fill each proxy's null options from the task's `proxy_options` (e.g. its L-SWAG window).

    An option the proxy config sets explicitly wins over the task; the task's
    value only replaces null. Task options a proxy does not have are an error.
    """
    out = {name: dict(opts) for name, opts in proxies.items()}
    for name, chosen in (task.proxy_options or {}).items():
        if name not in out:
            continue
        known = {**PROXIES.get(name).defaults, **PROXIES.get(name).task_only}
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            raise ZcbenchError(f"task {task.name} sets proxy_options.{name} {unknown}, which proxy {name} "
                               f"does not take; valid options: {sorted(known)}")
        for key, value in chosen.items():
            if out[name].get(key) is None:
                out[name][key] = value
    return out


def read_arch_file(path: str | Path, space: SearchSpace) -> list[str]:
    """Canonical archs from a file of one encoding per line (blank lines and # comments skipped)."""
    path = Path(path)
    if not path.exists():
        raise ZcbenchError(f"archs file {path} does not exist")
    archs = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            archs.append(space.canonical(text))
        except InvalidArchError as err:
            raise InvalidArchError(f"{path}, line {number}: {err}") from None
    if not archs:
        raise ZcbenchError(f"archs file {path} lists no architecture")
    return list(dict.fromkeys(archs))


def sample_archs(pool: Sequence[str], n: int, seed: int) -> list[str]:
    """n archs drawn uniformly without replacement from `pool`, reproducibly for a seed.

    Samples are nested: the first m archs of a seed's n-sample are its m-sample,
    so caches filled by a small run are the start of a larger one. (random.sample
    switches algorithm with n and the pool size, which breaks that; the draws
    here are those of its index-rejection branch, which NB201 samples always used.)
    """
    if n > len(pool):
        raise ZcbenchError(f"n_archs={n} but only {len(pool)} architectures have ground truth")
    ordered, rng = sorted(pool), random.Random(seed)
    picked: dict[int, None] = {}
    while len(picked) < n:
        picked.setdefault(rng.randrange(len(ordered)))
    return [ordered[i] for i in picked]


def sample_from_space(space: SearchSpace, n: int, seed: int, max_tries: int = 100) -> list[str]:
    """n distinct archs drawn uniformly from the space itself (tasks without ground truth)."""
    rng = random.Random(seed)
    archs: dict[str, None] = {}
    for _ in range(max_tries * n):
        archs.setdefault(space.sample(rng))
        if len(archs) == n:
            return list(archs)
    raise ZcbenchError(f"n_archs={n} but only {len(archs)} distinct archs were drawn from space "
                       f"{space.name} in {max_tries * n} tries; is the space that small?")


def applicable(proxies: Mapping[str, Mapping[str, Any]], traits: TaskTraits) -> tuple[dict, dict[str, str]]:
    """(the proxies whose needs the task meets, {proxy: "n/a: <reason>"} for the others)."""
    kept, skipped = {}, {}
    for name, options in proxies.items():
        reason = PROXIES.get(name).needs.unmet(traits)
        if reason is None:
            kept[name] = options
        else:
            skipped[name] = f"n/a: {reason}"
    return kept, skipped


def arch_seed(seed: int, arch: str) -> int:
    """Initialisation seed of one network: depends on (seed, arch) only, not on its position."""
    digest = hashlib.sha256(f"{seed}:{arch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") % (2**63)


def settings_key(batch: Batch, options: Mapping[str, Any],
                 space_options: Mapping[str, Any] | None = None) -> str:
    """The settings that change a score, spelled out (part of the cache key)."""
    shape = "x".join(str(s) for s in batch.inputs.shape)
    parts = [f"input={batch.dataset}", f"batch={shape}"]
    parts += [f"space.{k}={v}" for k, v in sorted((space_options or {}).items())]
    return ";".join(parts + ([options_key(options)] if options else []))


def options_key(options: Mapping[str, Any]) -> str:
    """A proxy's options as they appear in its settings_key."""
    return ";".join(f"{k}={options[k]}" for k in sorted(options))


def settings_options(settings: str) -> str:
    """The proxy-options part of a settings_key (what follows the input, batch and space options)."""
    return ";".join(part for part in settings.split(";") if part and not part.startswith(("input=", "batch=", "space.")))


@functools.lru_cache(maxsize=None)
def current_options(task: str, proxy: str) -> str | None:
    """The options part of the settings `python -m zcbench proxy=<proxy> task=<task>` writes now (the
    proxy's packaged options, the task's generated ones such as its L-SWAG window filled in); None
    for a task or proxy without a config."""
    from .tasks.task import load_task

    try:
        options = apply_task_options({proxy: config_options(proxy)}, load_task(task))[proxy]
    except ZcbenchError:
        return None
    return options_key(options)


def score_relevant_settings(settings: str, reads: str) -> str:
    """`settings` less what cannot change the score of a proxy whose Needs.inputs is `reads`: the
    batch (samples and image side) for "none" (params), the number of samples for "shape" (FLOPs,
    synflow: one input of that size). Rows whose relevant settings agree hold the same score."""
    if reads == "none":
        return re.sub(r"(^|;)batch=[^;]*", r"\1batch=*", settings)
    if reads == "shape":
        return re.sub(r"(^|;)batch=\d+x", r"\1batch=*x", settings)
    return settings


def pick_device(name: str) -> torch.device:
    """The torch device of `device=`; on CUDA, TF32 is turned off so that GPU scores agree with
    CPU scores to float32 rounding (a cache does not record the device its rows came from)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ZcbenchError(f"device={name} but CUDA is not available; use device=cpu or device=auto")
    if name.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return torch.device(name)


# --------------------------------------------------------------------- run
@dataclass
class Setup:
    """Everything a run over one task needs before the first network is built."""

    task: Task
    space: SearchSpace
    truth: pd.DataFrame  # arch, accuracy (empty for a task without ground truth)
    archs: list[str]
    batch: Batch
    inputs: torch.Tensor
    labels: torch.Tensor
    loss_fn: Any
    device: torch.device
    seed: int
    computation: str = ""  # the computation key recorded with each row (run(): the task's as configured)


def prepare(cfg: DictConfig, what: str = "") -> Setup:
    """Task, ground truth, the architectures to visit and the input batch, as configured.

    Shared by the proxy run and the layer-selection command, so both sample
    the same archs and read the same images for the same config.
    """
    check_options(cfg)
    task = Task.from_config(cfg.task)
    space = get_space(task.space)
    data_root = cfg.get("data_root")
    device = pick_device(str(cfg.get("device", "cpu")))
    batch_size = int(cfg.batch_size or task.batch_size)
    seed = int(cfg.seed)
    if task.has_truth:
        truth = _truth_or_explain(task, data_root)
    else:
        truth = pd.DataFrame({"arch": pd.Series(dtype=str), "accuracy": pd.Series(dtype=float)})
        print(f"[zcbench] task {task.name} has no ground truth: archs are sampled from the space "
              f"{space.name} and only scores come out (no correlations)")
    if cfg.get("archs"):
        archs = read_arch_file(cfg.archs, space)
    elif task.has_truth:
        pool = truth["arch"]
        if cfg.get("exclude_archs"):
            excluded = set(read_arch_file(cfg.exclude_archs, space))
            pool = pool[~pool.isin(excluded)]
            print(f"[zcbench] sampling from {len(pool)} archs with ground truth, after leaving out the "
                  f"{len(excluded)} listed in {cfg.exclude_archs}")
        n_archs = len(pool) if str(cfg.n_archs) == "all" else int(cfg.n_archs)
        if n_archs > len(pool):
            print(f"[zcbench] n_archs={n_archs} but task {task.name} has ground truth for only "
                  f"{len(pool)} archs: scoring all {len(pool)} of them")
            n_archs = len(pool)
        archs = sample_archs(pool, n_archs, seed)
    else:
        archs = sample_from_space(space, int(cfg.n_archs), seed)
    batch = load_batch(task.dataset, data_root, batch_size, seed, image_size=task.image_size,
                       num_classes=task.num_classes if task.target == "classes" else None)
    print(f"[zcbench] task {task.name}: {len(archs)} archs, seed {seed}{what}")
    print(f"[zcbench] inputs: {batch.source}")
    if batch.synthetic:
        print("[zcbench] WARNING: scores below come from SYNTHETIC inputs, not real images")
    made = make_targets(task.target, batch, task.num_classes, seed, task.target_options)
    if made.inputs is not None:  # e.g. jigsaw: the network sees puzzles cut from the images
        batch = dataclasses.replace(batch, inputs=made.inputs)
    targets = made.targets
    if task.target != "classes":
        print(f"[zcbench] targets: {made.source}")
    return Setup(task, space, truth, archs, batch, batch.inputs.to(device), targets.to(device),
                 LOSSES.get(task.loss), device, seed, task.computation)


def build_network(setup: Setup, arch: str) -> torch.nn.Module:
    """The network of `arch` at its own seeded initialisation (depends on (seed, arch) only)."""
    torch.manual_seed(arch_seed(setup.seed, arch))
    return setup.space.build(arch, setup.task.num_classes, **setup.task.space_options).to(setup.device)


def score_arch(setup: Setup, cache: ScoreCache, arch: str, proxies: Mapping[str, Mapping[str, Any]],
               settings: Mapping[str, str], versions: Mapping[str, str],
               retry_failed: bool = False, shared: SharedScores | None = None) -> dict[str, tuple[float, float, str]]:
    """Score on `arch` the proxies the cache lacks, add their rows to it; {} when all were cached.

    Scores that `shared` holds (computed for a task with the same computation key) are copied
    into the cache instead of computed. Returns {proxy: (score, seconds, error)} of what was
    computed. Shared by the proxy run and the search (zcbench.search), so both build, score and
    cache a network the same way.
    """
    task, seed = setup.task.name, setup.seed
    todo = [p for p in proxies if not cache.has(task, p, arch, seed, settings[p], versions[p],
                                                retry_failed=retry_failed)]
    if shared is not None and todo:
        reused = shared.take(todo, arch, seed, settings, retry_failed)
        cache.add(reused)
        todo = [p for p in todo if p not in {r["proxy"] for r in reused}]
    if not todo:
        return {}
    try:
        net = build_network(setup, arch)
    except Exception as err:  # out of memory fails every proxy, visibly; anything else is a bug
        reason = failure_reason(err)
        if reason is None:
            err.add_note(f"(while building arch {arch} of task {task})")
            raise
        results = {p: (float("nan"), 0.0, f"build failed: {reason}") for p in todo}
    else:
        results = {p: (r.score, r.seconds, r.error) for p, r in
                   score_network(net, setup.inputs, setup.labels, todo, {p: proxies[p] for p in todo},
                                 loss_fn=setup.loss_fn).items()}
        del net  # the network (its probe went with score_network) before the next one is built
    if setup.device.type == "cuda":
        torch.cuda.empty_cache()  # hand back this network's blocks: sizes vary from arch to arch
    cache.add({"task": task, "proxy": p, "arch": arch, "seed": seed, "settings": settings[p],
               "score": s, "seconds": t, "error": e, "proxy_version": versions[p],
               "computation": setup.computation}
              for p, (s, t, e) in results.items())
    return results


def run(cfg: DictConfig) -> RunResult:
    """Score the configured proxies on the configured task; see zcbench/conf/config.yaml for the knobs.

    A proxy whose needs the task does not meet (Needs.unmet) is skipped with one line and
    no rows; its correlation row says "n/a: <reason>". A proxy that cannot score one network
    leaves a failure row (zcbench/errors.py says which exceptions count); any other exception
    stops the run after checkpointing every row computed so far. Under protocol=cheap a proxy
    that ranks like the paper input on a cheaper one (zcbench/protocol.py) is scored there.
    """
    check_options(cfg)
    task = Task.from_config(cfg.task)
    proxies = apply_task_options(resolve_proxies(cfg.proxy, task.has_truth), task)
    ensembles = resolve_ensembles(cfg.proxy)  # scored after their members (ensembles/as_proxy.py)
    out_dir = check_out_dir(cfg.out_dir)
    own = (task.image_size, int(cfg.batch_size or task.batch_size))
    groups = input_groups(task.space, *own, list(proxies), str(cfg.get("protocol", "cheap")))
    shard = parse_shard(cfg.get("shard"))
    scores_path = out_dir / "scores.h5"
    if shard:
        scores_path = out_dir / f"scores.shard-{shard[0]}-of-{shard[1]}.h5"
    cache = ScoreCache(scores_path)
    versions = {name: PROXIES.get(name).version for name in proxies}
    shared = SharedScores.gather(task.name, task.computation, cache, out_dir, _share_from(cfg), versions)
    settings: dict[str, str] = {}
    skipped = {name: reason for name in ensembles if (reason := not_applicable(name, task.name, task.has_truth))}
    for name, reason in skipped.items():
        print(f"[zcbench] skipped {name} on {task.name}: {reason}")
    computed_archs: set[str] = set()
    failed = 0
    for group in groups:
        setup = prepare(_group_config(cfg, group), what=f", proxies {', '.join(group.proxies)}")
        # the group's cheaper input is in each row's settings; the rows keep the task's own key
        setup = dataclasses.replace(setup, computation=task.computation)
        for line in describe([group], own):
            print(line)
        chosen, group_skipped = applicable({p: proxies[p] for p in group.proxies},
                                           TaskTraits.from_batch(task.name, setup.labels))
        for name, reason in group_skipped.items():
            print(f"[zcbench] skipped {name} on {task.name}: {reason}")
        skipped.update(group_skipped)
        archs = setup.archs[shard[0]::shard[1]] if shard else setup.archs
        if task.has_truth:  # recorded before scoring: a run killed midway leaves a file that ranks
            cache.set_truth(setup.truth.loc[setup.truth["arch"].isin(archs), ["arch", "accuracy"]]
                            .assign(task=task.name))
        settings.update({name: settings_key(setup.batch, opts, setup.task.space_options)
                         for name, opts in chosen.items()})
        done, f = _score_archs(setup, cache, archs, chosen, settings, versions, cfg, scores_path, shared)
        computed_archs |= done
        failed += f
    computed = len(computed_archs)
    seed, batch = setup.seed, setup.batch
    cache.checkpoint()
    for line in shared.report():
        print(line)
    notes = _score_ensembles(setup, cache, {n: o for n, o in ensembles.items() if n not in skipped},
                             settings, versions, skipped, out_dir, shard)

    frame = load_scores(scores_path)
    shown = set(_selection(cfg.proxy))  # an ensemble's members are scored, and shown only if selected
    wanted = frame[(frame["task"] == task.name) & (frame["seed"] == seed) & frame["arch"].isin(archs)
                   & (frame["proxy"].map(settings) == frame["settings"]) & frame["proxy"].isin(shown)]
    suffix = f".shard-{shard[0]}-of-{shard[1]}" if shard else ""
    table = correlation_table(wanted) if task.has_truth else score_summary(wanted)
    # a proxy that does not apply: one row saying why, not NaN correlations
    table = _with_not_applicable(table, {n: r for n, r in skipped.items() if n in shown}, task.name, seed)
    if notes:  # a tuned ensemble: where it was tuned and evaluated
        table["note"] = [notes.get(p, n) for p, n in zip(table["proxy"], table["note"])]
    if not cfg.get("write_table", True):
        pass  # a shared cache (the leaderboard's): its tables belong to the runs that wrote them
    elif task.has_truth:
        table.to_csv(out_dir / f"correlations{suffix}.csv", index=False)
    else:  # no accuracies: say what was scored and what failed, not a row of NaN correlations
        table.to_csv(out_dir / f"score_summary{suffix}.csv", index=False)
    _print_summary(table, computed, len(archs), failed, scores_path, has_truth=task.has_truth)
    return RunResult(out_dir, scores_path, table, batch.source, computed, failed)


def _score_ensembles(setup: Setup, cache: ScoreCache, ensembles: Mapping[str, Mapping[str, Any]],
                     settings: dict[str, str], versions: dict[str, str], skipped: dict[str, str],
                     out_dir: Path, shard: tuple[int, int] | None) -> dict[str, str]:
    """Fuse each selected ensemble over the run's archs from its cached members, cache its rows
    (once per key) and add its settings and version; returns {ensemble: note} of tuned ones.

    An ensemble that cannot be scored here goes to `skipped` with its reason. A shard holds a
    share of the sample, and an ensemble ranks the whole sample, so shards score members only.
    """
    if not ensembles:
        return {}
    task = setup.task.name
    if shard:
        print(f"[zcbench] {', '.join(ensembles)}: members scored on this shard's archs; the ensemble ranks "
              "the whole sample, so run the same command without shard= once the shards are merged")
        return {}
    frame = cache.frame()
    frame = frame[(frame["task"] == task) & (frame["seed"] == setup.seed)]
    truth = setup.truth.set_index("arch")["accuracy"]
    notes = {}
    for name, options in ensembles.items():
        try:
            result = score_over_archs(name, options, frame, setup.archs, truth, settings, versions)
        except EnsembleSkipped as err:
            print(f"[zcbench] skipped {name} on {task}: {err}")
            skipped[name] = str(err)
            continue
        fresh = [r for r in result.rows if not cache.has(task, name, r["arch"], setup.seed, result.settings,
                                                         result.version)]
        cache.add({**r, "computation": setup.computation} for r in fresh)
        settings[name], versions[name] = result.settings, result.version
        tuning_file = None
        if result.tune_archs:
            tuning_file = out_dir / f"{name}_tuning_archs.txt"
            tuning_file.write_text(f"# task {task}, seed {setup.seed}: the archs {name} chose its members on "
                                   f"({result.settings})\n" + "".join(f"{a}\n" for a in result.tune_archs))
            notes[name] = result.note()
        print(result.describe(task, tuning_file) + ("" if fresh else " (its rows were in the cache)"))
    cache.checkpoint()
    return notes


def _share_from(cfg: DictConfig) -> list[str]:
    """The `share_from` score files and folders (one path alone is a list of one)."""
    value = cfg.get("share_from") or []
    return [str(value)] if isinstance(value, str) else [str(p) for p in value]


def _group_config(cfg: DictConfig, group: InputGroup) -> DictConfig:
    """The run's config with the group's input (the same config as passing them on the command line)."""
    if (group.image_size, group.batch_size) == (cfg.task.get("image_size"), int(cfg.batch_size or cfg.task.batch_size)):
        return cfg
    out = cfg.copy()
    OmegaConf.update(out, "task.image_size", group.image_size)
    OmegaConf.update(out, "batch_size", group.batch_size)
    return out


def _score_archs(setup: Setup, cache: ScoreCache, archs: Sequence[str], proxies: Mapping[str, Mapping[str, Any]],
                 settings: Mapping[str, str], versions: Mapping[str, str], cfg: DictConfig,
                 scores_path: Path, shared: SharedScores | None = None) -> tuple[set[str], int]:
    """Score `archs` for one input group into `cache` (copying what `shared` holds): (archs
    computed, proxy failures)."""
    done: set[str] = set()
    failed = 0
    bar = tqdm(archs, desc=f"{setup.task.name}", unit="arch", file=sys.stderr,
               disable=not cfg.get("progress", True))
    try:
        for arch in bar:
            results = score_arch(setup, cache, arch, proxies, settings, versions, bool(cfg.get("retry_failed")),
                                 shared)
            if not results:
                continue
            done.add(arch)
            failed += sum(bool(e) for _, _, e in results.values())
            if len(done) % int(cfg.get("checkpoint_every", 25)) == 0:
                cache.checkpoint()
    except BaseException as err:  # a bug (or ^C): keep every row computed, then stop
        cache.checkpoint()
        err.add_note(f"(the rows of the {len(done)} networks scored before this one are saved in {scores_path})")
        raise
    finally:
        bar.close()
    return done, failed


def _with_not_applicable(table: pd.DataFrame, skipped: Mapping[str, str], task: str, seed: int) -> pd.DataFrame:
    """`table` with a `note` column: "" for scored proxies, "n/a: <reason>" for skipped ones (n_archs 0)."""
    table = table.assign(note="")
    if not skipped:
        return table
    rows = pd.DataFrame([{"task": task, "proxy": name, "seed": seed, "n_archs": 0, "n_failed": 0, "note": reason}
                         for name, reason in skipped.items()])
    return pd.concat([table, rows], ignore_index=True) if len(table) else rows.reindex(columns=table.columns)


def _truth_or_explain(task: Task, data_root: str | None) -> pd.DataFrame:
    if not data_root:
        raise ZcbenchError(
            f"task {task.name} needs its ground-truth files but no data root is set: pass "
            "data_root=/path/to/data or set ZCBENCH_DATA (the layout is described in data/README.md)")
    return ground_truth(task, data_root)


def _print_summary(table: pd.DataFrame, computed: int, total: int, failed: int, path: Path,
                   has_truth: bool = True) -> None:
    print(f"[zcbench] computed {computed} of {total} networks (the rest were cached); "
          f"{failed} proxy failures in this run; scores in {path}")
    if "note" in table:  # skipped proxies were named above
        table = table[~table["note"].astype(str).str.startswith("n/a")]
    if table.empty:
        return
    if has_truth:
        print("[zcbench] spearman/kendall/pearson/top10 leave failed archs out; *_failed_last rank them last")
        shown = table[["proxy", "spearman", "kendall", "pearson", "top10_precision", "n_archs", "n_failed",
                       "spearman_failed_last", "kendall_failed_last", "mean_seconds"]]
    else:
        print("[zcbench] no ground truth, so no correlations: per proxy, archs scored, failures, "
              "score range, seconds")
        shown = table[["proxy", "n_archs", "n_failed", "score_min", "score_median", "score_max",
                       "mean_seconds", "top_failure"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def compose(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """The config the CLI would build for these overrides (for the Python API and tests).

    Also inside a running Hydra command (the leaderboard composes scoring runs): that command's
    Hydra state is set aside meanwhile and restored after.
    """
    from hydra import compose as hydra_compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    running = get_gh_backup()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base=None):
            return hydra_compose(config_name=config_name, overrides=list(overrides))
    finally:
        restore_gh_from_backup(running)
