"""Archs an option of a proxy was chosen on with ground truth: tables leave them out of its evaluation.

An option chosen by looking at accuracies has seen those archs' ground truth;
a table that reports the proxy (or an ensemble with it as a member) on them
credits the proxy with its own fit. Each such choice is declared here with the
file that records its archs:

- swap_reg's NB201 size prior, calibrated on CIFAR-100 accuracy
  (zcbench/conf/proxy/swap_reg_prior_archs.txt, `zcbench-size-prior
  calibrate=true`); it applies wherever swap_reg ran with a prior (other tasks'
  priors are NB201's moved to their size range, and their archs are not NB201
  cells, so nothing there is left out);
- a task's L-SWAG layer window when it was chosen with criterion="correlation"
  and the proxy was scored with that window: the task's entry in the generated
  zcbench/conf/derived/lswag_windows.yaml (`zcbench-select-layers write=true`)
  names the criterion and the file of archs it looked at. The default "spike"
  criterion reads no accuracies, so its sample stays in.

LIBRA's own tuning half is the same idea, handled by the tune/evaluation split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from ..tasks.derived import LSWAG_WINDOWS, read_entries
from ..tasks.readers_built import project_root
from .aliases import options_from_settings

LSWAG_FAMILY = ("lswag", "lswag_lambda", "lswag_psi")


@dataclass(frozen=True)
class GroundTruthChoice:
    """proxies whose `what` was chosen with ground truth; archs(task, settings) -> the archs it looked
    at, or None when this task's scores of the proxy did not use that choice."""

    proxies: tuple[str, ...]
    what: str
    archs: Callable[[str, str], list[str] | None]


def _swap_reg_prior(task: str, settings: str) -> list[str] | None:
    from ..proxies.size_prior import PRIOR_ARCHS, prior_archs

    options = options_from_settings(settings)
    if options.get("mu") is None or options.get("sigma") is None:
        return None
    archs = prior_archs(PRIOR_ARCHS)
    return archs or None


def _lswag_window(task: str, settings: str, windows: Path = LSWAG_WINDOWS) -> list[str] | None:
    """The archs the task's window was chosen on, if that looked at accuracies and `settings` use it.

    The archs file named in the entry's provenance is read from project_root() when relative
    (zcbench-select-layers writes results/layer_selection/<task>/archs.txt)."""
    entry = read_entries(windows).get(task) or {}
    how = entry.get("provenance") or {}
    if how.get("criterion") != "correlation" or not how.get("archs"):  # "spike" reads no accuracies
        return None
    window = next(iter((entry.get("proxy_options") or {}).values()), {})
    options = options_from_settings(settings)
    if (options.get("window_lo"), options.get("window_hi")) != (window.get("window_lo"), window.get("window_hi")):
        return None
    path = Path(how["archs"])
    path = path if path.is_absolute() else project_root() / path
    if not path.exists():
        return None
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


CHOICES: tuple[GroundTruthChoice, ...] = (
    GroundTruthChoice(("swap_reg",), "swap_reg's NB201 size prior (calibrated on CIFAR-100 accuracy)",
                      _swap_reg_prior),
    GroundTruthChoice(LSWAG_FAMILY, "the task's L-SWAG layer window (criterion=correlation)", _lswag_window),
)


def held_out(task: str, settings: Mapping[str, str],
             choices: tuple[GroundTruthChoice, ...] = CHOICES) -> dict[str, tuple[frozenset[str], str]]:
    """proxy -> (archs to leave out of its evaluation on `task`, what was chosen on them), for the
    proxies of `settings` (proxy -> cache settings string) that have such archs."""
    out: dict[str, tuple[frozenset[str], str]] = {}
    for choice in choices:
        for proxy in choice.proxies:
            if proxy not in settings:
                continue
            archs = choice.archs(task, settings[proxy])
            if archs:
                prev, what = out.get(proxy, (frozenset(), ""))
                out[proxy] = (prev | frozenset(archs), "; ".join(filter(None, (what, choice.what))))
    return out


def excluded_for(members, held: Mapping[str, tuple[frozenset[str], str]]) -> tuple[frozenset[str], str]:
    """The archs to leave out for a method with these member proxies, and why (joined)."""
    archs, whats = frozenset(), []
    for m in members:
        if m in held:
            archs |= held[m][0]
            whats.append(held[m][1])
    return archs, "; ".join(dict.fromkeys(whats))
