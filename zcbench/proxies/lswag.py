"""L-SWAG (Casarin, Escalera & Lanz, CVPR 2025): Lambda x Psi over a layer window.

Three proxies share this code and the Probe's passes (scoring all three costs
the passes of one): ``lswag`` = Lambda x Psi, and its two factors alone,
``lswag_lambda`` and ``lswag_psi``, for the paper's ablation.

Depth percentiles (docs/method.md#layer-window). Layers are placed by depth: layer l of a
list of `depth` layers falls in bin int((l / depth) * 100 // 10), 0..9
(computed exactly as (10 * l) // depth, the same number without float
rounding), i.e. its depth percentile rounded down to a multiple of ten. The
window is given by the options ``window_lo`` and ``window_hi`` (percentiles
0..100) and is the CLOSED range of bins from bin(window_lo) to bin(window_hi),
with bin(p) = min(int(p // 10), 9): [0, 100] takes every layer (the default,
until per-benchmark window selection lands), [30, 50] takes the layers of
bins 3, 4 and 5 (depth percentiles 30 to 59), [90, 100] the last bin only.

* Gradient layers (Lambda) are the Conv2d/Linear layers with a weight, in the
  order of ``probe.scored_layers`` = module-registration order (named_modules),
  which is the forward order for sequential networks. (NB201 cells register
  their six edges in edge-tuple order, so inside one cell the registration
  order differs slightly from the execution order; across cells and stages
  it is the forward order.)
* Activation layers (Psi) are the ReLU/GELU calls in the order the forward
  pass executes them (``probe.activation_codes()``), placed the same way among
  the activation layers.

Lambda = sum over gradient layers in the window of
log( sum over weights w of the layer of 1 / sqrt(Var_i |dL/dw|) ),
ZiCo with the numerator replaced by 1. Weights whose |gradient| does not vary
are skipped (variance below 1e-10 x E[g^2] counts as zero: the one-pass
float64 variance leaves round-off of ~1e-16 E[g^2], which must not turn into
huge 1/sqrt terms); a layer left with nothing (a dead path) is skipped, as
ZiCo's code skips it.

Version 2 (lswag, lswag_lambda): per-sample gradients of BatchNorm-ended nets
(NB301, TransNAS-Bench-101) and of nets with a one-value-per-channel map use
the batch's BN statistics held fixed (probe.per_sample_gradients,
sample_norm.py); with per-sample statistics their logits were the classifier's
bias for every input and Lambda measured the variance of round-off. NB201 and
NB101 values are unchanged.

OPEN in the paper: what i runs over. Option ``variance_over``:
  "samples" (default): per-sample gradients (each sample its own batch of
      one; the Probe's torch.func pass, shared with GradSign). The paper
      writes the variance with a sample index, and 64 per-sample gradients
      give a real estimate of the spread, where two mini-batch gradients
      (ZiCo's convention) give a variance from two values.
  "minibatches": the batch cut into ``mini_batches`` equal parts, one
      gradient each (``probe.split_gradients``), ZiCo's convention. This pass
      is not in the proxy's declared needs (declared needs are fixed, and the
      default does not read it), so its time is not counted in the proxy's
      seconds.

Psi = SWAP (number of distinct per-unit on/off vectors across the batch, unit
on when its input is > 0) over the units of the activation layers whose bin is
<= bin(window_hi); option ``psi_from``: "first" (default, every activation
layer from the first one up to the window's end) or "window_lo" (only the
activation layers inside the window).

Sign. Psi >= 1, but Lambda is a sum of logs and is negative when the summed
1/sqrt(variance) of the window's layers is below 1 (very noisy gradients). The
paper's product Lambda x Psi would then rank a MORE expressive network LOWER.
So lswag = Lambda x Psi when Lambda >= 0 (the paper's formula, and the case on
every network we have seen), and Lambda / Psi when Lambda < 0. The score is
continuous at Lambda = 0, increasing in Lambda, and increasing in Psi for
either sign of Lambda, so higher = better holds for both factors.
"""
from __future__ import annotations

import math

import torch

from ..errors import BadOptionError, ProxyFailure
from .activation import distinct_columns
from .base import Needs
from .probe import Probe, scored_layers
from .registry import proxy

NBINS = 10
VARIANCE_OVER = ("samples", "minibatches")
PSI_FROM = ("first", "window_lo")
# |g| variance below this fraction of E[g^2] is round-off of the one-pass formula: treated as zero.
REL_VAR_TOL = 1e-10

# window_lo/hi None (the signatures' default) = the task's chosen window (task.proxy_options.lswag, from
# conf/derived/lswag_windows.yaml), else every layer.


# ------------------------------------------------------------------ windows
def depth_bin(index: int, depth: int) -> int:
    """Depth bin of layer `index` among `depth` layers: int((index / depth) * 100 // 10), exactly."""
    if not 0 <= index < depth:
        raise ValueError(f"layer index {index} outside 0..{depth - 1}")
    return (NBINS * index) // depth


def window_bins(window_lo: float | None, window_hi: float | None) -> tuple[int, int]:
    """The closed bin range [bin(lo), bin(hi)] of a percentile window, bin(p) = min(p // 10, 9).

    None stands for the open end: lo None = 0, hi None = 100 (every layer).
    """
    window_lo = 0 if window_lo is None else window_lo
    window_hi = 100 if window_hi is None else window_hi
    if not (0 <= window_lo <= window_hi <= 100):
        raise BadOptionError(f"layer window needs 0 <= window_lo <= window_hi <= 100 (depth percentiles), "
                         f"got window_lo={window_lo}, window_hi={window_hi}")
    return min(int(window_lo // 10), NBINS - 1), min(int(window_hi // 10), NBINS - 1)


def in_window(depth: int, lo_bin: int, hi_bin: int) -> list[int]:
    """Indices of the layers (of `depth`) whose depth bin lies in [lo_bin, hi_bin]."""
    return [i for i in range(depth) if lo_bin <= depth_bin(i, depth) <= hi_bin]


# ------------------------------------------------------------------ factors
def _layer_sum(abs_var: torch.Tensor, sq_mean: torch.Tensor) -> torch.Tensor:
    """Sum over weights whose |g| varies of 1/sqrt(var), 0-d on the gradients' device (0 if none varies)."""
    var, sq = abs_var.double().reshape(-1), sq_mean.double().reshape(-1)
    keep = var > REL_VAR_TOL * sq
    return var[keep].rsqrt().sum()


def _layer_terms(sums: dict[str, torch.Tensor]) -> dict[str, float]:
    """log of each layer's sum, read back to the host once for all layers; dead layers (sum 0) left out."""
    values = torch.stack(list(sums.values())).tolist() if sums else []
    return {n: math.log(v) for n, v in zip(sums, values) if v > 0}


def lambda_terms(probe: Probe, window_lo: float | None = None, window_hi: float | None = None,
                 variance_over: str = "samples", mini_batches: int = 2) -> dict[str, float]:
    """Per gradient layer in the window, its log-sum of 1/sqrt(Var_i |dL/dw|) (dead layers left out)."""
    if variance_over not in VARIANCE_OVER:
        raise BadOptionError(f"variance_over must be one of {VARIANCE_OVER}, got {variance_over!r}")
    lo_bin, hi_bin = window_bins(window_lo, window_hi)
    names = [n for n, _ in scored_layers(probe.net)]
    if not names:
        raise ProxyFailure("network has no Conv2d/Linear weights to read")
    chosen = [names[i] for i in in_window(len(names), lo_bin, hi_bin)]
    if not chosen:
        raise ProxyFailure(f"layer window [{window_lo}, {window_hi}] (depth bins {lo_bin}..{hi_bin}) "
                         f"selects none of the {len(names)} Conv2d/Linear layers")
    sums: dict[str, torch.Tensor] = {}
    if variance_over == "samples":
        stats = probe.per_sample_gradients(layers=chosen)
        for n in chosen:
            s = stats[n]
            sums[n] = _layer_sum(s.abs_var, s.sq_total / s.count)
    else:
        parts = probe.split_gradients(mini_batches)
        for n in chosen:
            g = torch.stack([p[n].reshape(-1) for p in parts]).double().abs()
            sums[n] = _layer_sum(g.var(dim=0, unbiased=False), (g * g).mean(dim=0))
    return _layer_terms(sums)


def lswag_lambda_value(probe: Probe, window_lo: float | None = None, window_hi: float | None = None,
                       variance_over: str = "samples", mini_batches: int = 2, **_: object) -> float:
    """Lambda: sum of the window's layer terms (0.0 when every windowed layer is dead)."""
    return float(sum(lambda_terms(probe, window_lo, window_hi, variance_over, mini_batches).values()))


def lswag_psi_value(probe: Probe, window_lo: float | None = None, window_hi: float | None = None,
                    psi_from: str = "first", **_: object) -> float:
    """Psi: distinct per-unit activation patterns over the activation layers up to the window's end."""
    if psi_from not in PSI_FROM:
        raise BadOptionError(f"psi_from must be one of {PSI_FROM}, got {psi_from!r}")
    lo_bin, hi_bin = window_bins(window_lo, window_hi)
    codes = probe.activation_codes()
    if not codes:
        raise ProxyFailure("network has no ReLU/GELU units to read")
    first_bin = 0 if psi_from == "first" else lo_bin
    chosen = [codes[i] for i in in_window(len(codes), first_bin, hi_bin)]
    if not chosen:
        raise ProxyFailure(f"layer window [{window_lo}, {window_hi}] (depth bins {first_bin}..{hi_bin}) "
                         f"selects none of the {len(codes)} ReLU/GELU layers")
    return float(distinct_columns(chosen, probe))


def combine(lam: float, psi: float) -> float:
    """Lambda x Psi when Lambda >= 0 (the paper), Lambda / Psi when Lambda < 0 (more Psi never lowers it)."""
    if not psi > 0:
        raise ProxyFailure(f"Psi must be positive, got {psi}")
    return lam * psi if lam >= 0 else lam / psi


# ------------------------------------------------------------------ proxies
_ALL = Needs(passes=frozenset({"per_sample_gradients", "activation_codes"}), labels=True)


@proxy("lswag", needs=_ALL, version="2",
       orientation="trainable (low-variance gradients, Lambda) and expressive (many distinct activation "
                   "patterns, Psi) = predicted better; Lambda x Psi, or Lambda / Psi when Lambda < 0 so "
                   "that more patterns never lower the score")
def lswag(probe: Probe, window_lo: float | None = None, window_hi: float | None = None, variance_over: str = "samples",
          mini_batches: int = 2, psi_from: str = "first") -> float:
    """L-SWAG: Lambda (gradient-variance term) x Psi (layer-wise SWAP) over a depth-percentile window."""
    lam = lswag_lambda_value(probe, window_lo, window_hi, variance_over, mini_batches)
    psi = lswag_psi_value(probe, window_lo, window_hi, psi_from)
    return combine(lam, psi)


@proxy("lswag_lambda", needs=Needs(passes=frozenset({"per_sample_gradients"}), labels=True), version="2",
       orientation="low variance of |gradients| across samples = stable training signal = predicted better")
def lswag_lambda(probe: Probe, window_lo: float | None = None, window_hi: float | None = None, variance_over: str = "samples",
                 mini_batches: int = 2, psi_from: str = "first") -> float:
    """L-SWAG's Lambda alone: sum over windowed layers of log(sum over weights of 1/sqrt(Var_i |dL/dw|))."""
    return lswag_lambda_value(probe, window_lo, window_hi, variance_over, mini_batches)


def _psi_is_swap(options: dict) -> str | None:
    """'swap' when Psi's layers are every activation layer (from bin 0 to the last bin): then Psi is SWAP."""
    lo_bin, hi_bin = window_bins(options.get("window_lo"), options.get("window_hi"))
    first_bin = 0 if options.get("psi_from", "first") == "first" else lo_bin
    return "swap" if first_bin == 0 and hi_bin == NBINS - 1 else None


@proxy("lswag_psi", needs=Needs(passes=frozenset({"activation_codes"})), version="1",
       orientation="more distinct sample-wise activation patterns up to the window's end = more "
                   "expressive = predicted better",
       same_as=_psi_is_swap)
def lswag_psi(probe: Probe, window_lo: float | None = None, window_hi: float | None = None, variance_over: str = "samples",
              mini_batches: int = 2, psi_from: str = "first") -> float:
    """L-SWAG's Psi alone: SWAP over the ReLU/GELU layers from the first (or window_lo) to window_hi."""
    return lswag_psi_value(probe, window_lo, window_hi, psi_from)
