"""An ensemble selected like a proxy: `python -m zcbench proxy=az_nas` (or te_nas, libra).

The run scores the ensemble's member proxies on its archs through the ordinary cache (they
resume like any proxy), then fuses them over the run's archs and caches the result as rows whose
proxy is the ensemble's name (this module; zcbench/harness.py calls it).

What an ensemble row depends on, spelled out in its cache key (the settings column):
- the whole sample: AZ-NAS and TE-NAS aggregate RANKS over the run's archs, so one arch's score
  changes with the other archs. `archs=<n>:<digest of the sorted arch strings>`;
- the members' scores: `members=<names>:<digest>` over each member's settings and code version
  (LIBRA: `candidates=<k>:<digest>`, the proxies it chooses from);
- LIBRA's tuning split: it chooses its members against the ground truth of the tuning side of
  split_archs(the run's archs, tune_fraction), the hash split the leaderboard uses, so
  `tune_fraction=` is in the key. Its rows cover the disjoint evaluation side only, and its
  correlation is over those archs; the accuracies of the evaluation archs never reach the choice.
The ensemble's rule version (Ensemble.version) is the rows' proxy_version.

A rerun of the same sample finds its members in the cache; the ensemble's arithmetic over them
(ranks of a few thousand numbers at most) is redone to name its members, and its rows are written
only when the cache lacks them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
from omegaconf import OmegaConf

from ..errors import UnknownNameError, ZcbenchError
from . import ENSEMBLES, MissingMembersError, evaluate, split_archs
from .table import ENSEMBLE_SETTINGS, score_tables

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
TUNED_OPTIONS = {"tune_fraction": 0.5, "candidates": None}  # zcbench/conf/proxy/libra.yaml states them
BIAS_REFERENCE = "params"  # LIBRA's z3 matches each candidate's Spearman with it (libra.bias)


class EnsembleSkipped(ZcbenchError):
    """An ensemble that cannot be scored on this run (no ground truth, a member left out, too few archs)."""


def main_command_ensembles() -> list[str]:
    """Ensembles selectable as `proxy=<name>` in the main command (those with a zcbench/conf/proxy config)."""
    return [n for n in ENSEMBLES.names() if (CONF_DIR / "proxy" / f"{n}.yaml").exists()]


def selectable_names() -> list[str]:
    """Every name `python -m zcbench proxy=...` accepts: the registered proxies, then the ensembles."""
    from ..proxies import PROXIES

    return [*PROXIES.names(), *main_command_ensembles()]


def all_single_proxies() -> list[str]:
    """The proxies of zcbench/conf/proxy/all.yaml (`proxy=all`): LIBRA's default candidates."""
    return [str(n) for n in OmegaConf.load(CONF_DIR / "proxy" / "all.yaml")["defaults"]]


def ensemble_options(name: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ensemble's options with defaults filled in; an unknown or bad option is one clear error."""
    from ..proxies import PROXIES

    ensemble = ENSEMBLES.get(name)
    valid = TUNED_OPTIONS if ensemble.tuned else {}
    options = dict(options or {})
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ZcbenchError(f"ensemble {name} has no option {', '.join(unknown)}; valid options: "
                           f"{', '.join(valid) or 'none'}")
    out = {**valid, **{k: v for k, v in options.items() if v is not None}}
    if ensemble.tuned:
        fraction = out["tune_fraction"]
        if not isinstance(fraction, (int, float)) or not 0 < float(fraction) < 1:
            raise ZcbenchError(f"proxy.{name}.tune_fraction={fraction}; it must be a number strictly "
                               "between 0 and 1")
        out["tune_fraction"] = float(fraction)
        if out["candidates"] is not None:
            names = [out["candidates"]] if isinstance(out["candidates"], str) else list(out["candidates"])
            for candidate in names:
                if candidate not in PROXIES:
                    raise UnknownNameError("proxy", candidate, PROXIES.names())
            out["candidates"] = names
    return out


def member_proxies(name: str, options: Mapping[str, Any]) -> list[str]:
    """The proxies each network is scored with for this ensemble: its fixed members, or for a tuned
    ensemble its candidates (all single proxies unless options['candidates'] lists some) and params."""
    ensemble = ENSEMBLES.get(name)
    if not ensemble.tuned:
        return list(ensemble.members)
    candidates = list(options.get("candidates") or all_single_proxies())
    return candidates + ([BIAS_REFERENCE] if BIAS_REFERENCE not in candidates else [])


def not_applicable(name: str, task: str, has_truth: bool) -> str | None:
    """"n/a: <reason>" when the ensemble cannot apply to the task at all, else None."""
    if ENSEMBLES.get(name).tuned and not has_truth:
        return (f"n/a: {name} chooses its members against ground truth on a tuning split of the run's archs, "
                f"and task {task} has none (az_nas and te_nas need none)")
    return None


def _digest(lines: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]


def cache_settings(name: str, options: Mapping[str, Any], archs: Sequence[str], members: Sequence[str],
                   settings: Mapping[str, str], versions: Mapping[str, str]) -> str:
    """The ensemble rows' settings string: what their scores depend on (see the module docstring)."""
    ensemble = ENSEMBLES.get(name)
    member_key = _digest([f"{m}|{settings[m]}|{versions[m]}" for m in sorted(members)])
    parts = [f"{ENSEMBLE_SETTINGS}{name}", f"archs={len(archs)}:{_digest(sorted(archs))}"]
    if ensemble.tuned:
        parts += [f"candidates={len(members)}:{member_key}", f"tune_fraction={options['tune_fraction']}"]
    else:
        parts.append(f"members={','.join(members)}:{member_key}")
    return ";".join(parts)


@dataclass
class EnsembleScores:
    """An ensemble's rows over one run's archs, and what they were computed from."""

    name: str
    settings: str
    version: str
    members: tuple[str, ...]
    tune_archs: list[str]          # [] for an untuned ensemble
    eval_archs: list[str]          # the archs its rows cover
    rows: list[dict] = field(default_factory=list)
    tune_fraction: float | None = None

    def note(self) -> str:
        """The correlation table's note: where a tuned ensemble was tuned and evaluated ('' if untuned)."""
        if not self.tune_archs:
            return ""
        return (f"members {'+'.join(self.members)} chosen on {len(self.tune_archs)} tuning archs; "
                f"evaluated on the {len(self.eval_archs)} other archs")

    def describe(self, task: str, tuning_file: Path | None = None) -> str:
        """The line the run prints about this ensemble."""
        ensemble = ENSEMBLES.get(self.name)
        if not ensemble.tuned:
            return (f"[zcbench] {self.name} on {task}: {ensemble.description}, members "
                    f"{', '.join(self.members)}, ranked over the run's {len(self.eval_archs)} archs "
                    "(an arch's score depends on the whole sample)")
        where = f", listed in {tuning_file}" if tuning_file else ""
        return (f"[zcbench] {self.name} on {task}: members {'+'.join(self.members)} chosen on the "
                f"{len(self.tune_archs)} tuning archs of this sample (split_archs: a hash of each arch string, "
                f"tune_fraction={self.tune_fraction}{where}); its correlation is over "
                f"the {len(self.eval_archs)} other archs only")


def score_over_archs(name: str, options: Mapping[str, Any], frame: pd.DataFrame, archs: Sequence[str],
                     truth: pd.Series, settings: Mapping[str, str], versions: Mapping[str, str]
                     ) -> EnsembleScores:
    """The ensemble `name` over `archs`, from the member rows of `frame` (a load_scores()-style frame of
    one task and seed) that match `settings` and `versions`; `truth` (index arch) is read for the
    tuning archs of a tuned ensemble only. Raises EnsembleSkipped with a reason when it cannot score."""
    ensemble = ENSEMBLES.get(name)
    members = [m for m in member_proxies(name, options) if m in settings]
    archs = list(dict.fromkeys(archs))
    rows = frame[frame["proxy"].isin(members) & frame["arch"].isin(archs)]
    rows = rows[(rows["settings"] == rows["proxy"].map(settings))
                & (rows["proxy_version"] == rows["proxy"].map(versions))]
    if ensemble.tuned:
        tune, held = split_archs(archs, float(options["tune_fraction"]))
        seen = set(tune)  # the only accuracies the choice may read
        accuracy = rows["arch"].map(lambda a: truth.get(a, float("nan")) if a in seen else float("nan"))
    else:
        tune, held = [], archs
        accuracy = pd.Series(float("nan"), index=rows.index)
    if rows.empty:
        raise EnsembleSkipped(f"n/a: none of {name}'s member proxies has scores on these archs")
    tables = score_tables(rows.assign(accuracy=accuracy.astype(float)), members, truth_only=False)
    table = next(iter(tables.values()))
    held = [a for a in held if a in table.scores.index]
    try:
        result = evaluate(ensemble, table, tune, held)
    except MissingMembersError as err:
        why = "; ".join(f"{m}: {table.left_out[m]}" for m in err.missing if m in table.left_out)
        raise EnsembleSkipped(f"n/a: {err}" + (f" ({why})" if why else "")) from None
    except ZcbenchError as err:  # e.g. too few tuning archs to choose members
        raise EnsembleSkipped(f"n/a: {err}") from None
    chosen = list(result.selection.members)
    key = cache_settings(name, options, archs, members, settings, versions)
    task, seed = table.task, table.seed
    seconds = table.seconds.loc[held, chosen].sum(axis=1)
    out = [{"task": task, "proxy": name, "arch": arch, "seed": seed, "settings": key,
            "score": float(score), "seconds": float(seconds[arch]), "error": "",
            "proxy_version": ensemble.version}
           for arch, score in result.scores.loc[held].items()]
    return EnsembleScores(name, key, ensemble.version, tuple(chosen), list(result.tuned_on), held, out,
                          options.get("tune_fraction") if ensemble.tuned else None)
