"""TE-NAS's two indicators (Chen et al., ICLR 2021), each as its own proxy.

- ntk: condition number of the empirical neural tangent kernel on the batch.
- linear_regions: number of distinct ReLU activation patterns over sampled inputs.

TE-NAS ranks architectures by the sum of the two ranks; that combination
needs a population and lives with the ensembles ("tenas" is not registered
here).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch
from torch import nn

from ..errors import BadOptionError, ProxyFailure
from .base import Needs
from .init import reinitialise_
from .probe import ACTIVATIONS, Probe, forward_with_hooks, samples_independent
from .registry import proxy


def tangent_features(net: nn.Module, x: torch.Tensor, chunk_size: int = 2) -> torch.Tensor:
    """(batch, weights) matrix: row i = d(sum of logits of sample i)/d(weights).

    Weights are all parameters named `weight` (TE-NAS: convolution, linear and
    normalisation scales). With BatchNorm in train mode (TE-NAS's get_ntk_n), the
    batch statistics couple the samples: one forward of the whole batch, then one
    backward per sample, skipping weights the output does not reach. A network whose
    samples never meet (no train-mode BatchNorm, no active dropout: the ViTs) gives
    the same rows from each sample alone, so they are computed as per-sample gradients
    (torch.func, `chunk_size` samples at a time): one backward per sample through that
    sample only instead of through the whole batch. ntk alone, 16 samples at 224 px:
    AutoFormer-T 48.8 s and 4.1 GiB -> 13 s and 2.5 GiB; AutoFormer-S 28 s and
    5.6 GiB (chunks of 1 or 4: 52 s, 8.7-9.2 GiB there). Weights the output does
    not reach then give zero columns, which leave J J^T unchanged.
    """
    named = [(name, p) for name, p in net.named_parameters() if "weight" in name.rsplit(".", 1)[-1]]
    if not named:
        raise ProxyFailure("network has no weight parameters")
    if samples_independent(net):
        return _per_sample_rows(net, x, dict(named), chunk_size)
    return _coupled_rows(net, x, [p for _, p in named])


def _coupled_rows(net: nn.Module, x: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    logits = net(x)
    if isinstance(logits, tuple):
        logits = logits[-1]
    per_sample = logits.reshape(logits.shape[0], -1).sum(dim=1)
    out = None
    for i in range(per_sample.shape[0]):
        grads = torch.autograd.grad(per_sample[i], weights, retain_graph=i + 1 < per_sample.shape[0],
                                    allow_unused=True)
        row = torch.cat([g.reshape(-1) for g in grads if g is not None])
        if out is None:  # one (batch, weights) buffer, filled row by row (no stacked copy)
            out = row.new_empty((per_sample.shape[0], row.numel()))
        out[i] = row
    return out


def _per_sample_rows(net: nn.Module, x: torch.Tensor, weights: dict[str, torch.Tensor],
                     chunk_size: int) -> torch.Tensor:
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in net.named_parameters()}
    buffers = dict(net.named_buffers())

    def summed_logits(w: dict[str, torch.Tensor], sample: torch.Tensor) -> torch.Tensor:
        out = functional_call(net, ({**params, **w}, buffers), (sample.unsqueeze(0),))
        return (out[-1] if isinstance(out, tuple) else out).sum()

    rows_of = vmap(grad(summed_logits), in_dims=(None, 0))
    frozen = {k: v.detach() for k, v in weights.items()}
    out = torch.empty((x.shape[0], sum(v.numel() for v in frozen.values())), dtype=x.dtype, device=x.device)
    for start, chunk in zip(range(0, x.shape[0], chunk_size), x.split(chunk_size)):
        grads, column = rows_of(frozen, chunk), 0
        for k, w in frozen.items():  # straight into J's columns: no concatenated copy of the chunk
            out[start:start + chunk.shape[0], column:column + w.numel()] = grads.pop(k).reshape(chunk.shape[0], -1)
            column += w.numel()
    return out


def gram(feats: torch.Tensor, block: int = 1 << 22) -> np.ndarray:
    """J J^T in float64, summed over column blocks so that J itself stays float32.

    A float64 copy of J would need samples x weights x 8 bytes (13 GB for 16 samples of an
    AutoFormer-B subnet); the blocks need 16 x 4M x 8 bytes at most.
    """
    n = feats.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=feats.device)
    for start in range(0, feats.shape[1], block):
        part = feats[:, start:start + block].double()
        kernel += part @ part.T
    return kernel.cpu().numpy()


#: a kernel whose lambda_min / lambda_max is at or below this is singular. Float32 gradients leave a
#: truly singular kernel with lambda_min / lambda_max of about 1e-12 (NB301 / TNB networks, below);
#: NB201 and NB101 networks at initialisation stay above 1e-4 (condition numbers of 3 to 3,000).
SINGULAR_RTOL = 1e-9


def condition_number(kernel: np.ndarray, rtol: float = SINGULAR_RTOL) -> float:
    """lambda_max / lambda_min of a symmetric PSD matrix; inf if numerically singular.

    Singular means lambda_min <= rtol * lambda_max: round-off leaves a singular
    kernel with a tiny eigenvalue of either sign, and a condition number above
    1e9 from float32 gradients is round-off, not a property of the network.
    """
    eig = np.linalg.eigvalsh(kernel)
    return float(eig[-1] / eig[0]) if eig[-1] > 0 and eig[0] > rtol * eig[-1] else math.inf


#: per-sample gradient rows summing to less than this fraction of a row's norm: BatchNorm-coupled (see ntk).
COUPLED_RTOL = 1e-3


def batch_coupled(feats: torch.Tensor, rtol: float = COUPLED_RTOL) -> bool:
    """Whether the rows of J sum to (numerically) zero, i.e. Theta 1 = 0 by construction."""
    total = feats.sum(0, dtype=torch.float64).norm()
    return bool(total <= rtol * torch.linalg.vector_norm(feats, dim=1, dtype=torch.float64).mean())


def without_batch_sum(kernel: np.ndarray) -> np.ndarray:
    """Q^T K Q, Q an orthonormal basis of the vectors orthogonal to 1 (the kernel on zero-sum directions)."""
    n = kernel.shape[0]
    q = scipy.linalg.null_space(np.ones((1, n)))
    return q.T @ kernel @ q


@proxy("ntk", orientation="lower NTK condition number = better-conditioned training dynamics = predicted better; "
                          "the proxy returns -log(condition number)",
       version="2")
def ntk(probe: Probe, samples: int = 16, log: bool = True) -> float:
    """-log(lambda_max / lambda_min) of the NTK Theta = J J^T on the batch (TE-NAS).

    J is the Jacobian of each sample's summed logits with respect to every
    weight (see tangent_features), computed on a copy in train mode on the
    task's images; the kernel and its eigenvalues are in float64. `samples`:
    how many images of the batch to use (the first ones; 0 = all). The cost
    is one backward pass through the whole sub-batch per sample (BatchNorm
    couples the samples), i.e. quadratic in `samples`; the default 16 is
    TE-NAS's --batch_size default (its NB201 search used 72, on a GPU).
    `log=False` returns -condition number itself, as TE-NAS's code.

    BatchNorm-ended networks (BN -> global pooling -> Linear with no
    nonlinearity between, as NASLib's NB301 and every TransNAS-Bench-101 net
    with a classification head): in train mode the batch statistics fix the
    batch sum of every output (it depends on BN's shifts only), so the
    per-sample gradient rows sum to zero and Theta 1 = 0 exactly, whatever
    the architecture. TE-NAS's code (get_ntk_n, train_mode=True) would divide
    by that round-off eigenvalue (about 1e-12 lambda_max here, of either
    sign); its own networks put BN + ReLU before the pooling and never meet
    it. No weight can move the outputs along that direction (only the
    biases and BN shifts can, and TE-NAS leaves them out of the kernel), so
    it holds no training dynamics to condition: for these networks (detected by
    the rows' sum, below 1e-3 of a row's norm; 5e-6 on TNB macro, 3 to 14 on
    NB201 and NB101 nets) the condition number is taken over the kernel
    restricted to the orthogonal complement of 1, Q^T Theta Q (Q an
    orthonormal basis of the zero-sum vectors), i.e. lambda_max over the
    smallest eigenvalue of the directions the outputs can move in. Every
    other network keeps the full kernel, so NB201 and NB101 scores do not
    change. A kernel still singular after that (outputs independent of the
    input, duplicate samples) is a failure, with its reason.
    """
    x = probe.inputs[:samples] if samples else probe.inputs
    if x.shape[0] < 2:
        raise BadOptionError("the NTK condition number needs at least 2 samples")
    net = probe.working_copy()  # weights are only read; its buffers are restored on every call
    feats = tangent_features(net, x)
    kernel = gram(feats)
    coupled = batch_coupled(feats)
    if coupled:
        kernel = without_batch_sum(kernel)
    cond = condition_number(kernel)
    if not math.isfinite(cond):
        where = " on the zero-sum directions (BatchNorm fixes the batch sum of the outputs)" if coupled else ""
        raise ProxyFailure(f"the NTK is singular{where} (lambda_min <= {SINGULAR_RTOL:g} lambda_max): "
                           "its condition number is undefined")
    return -math.log(cond) if log else -cond


def _activation_codes(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """(batch, units) bool codes of input > 0 for every ReLU/GELU module call, one forward."""
    codes: list[torch.Tensor] = []

    def hook(module, inputs, output):
        codes.append((inputs[0].detach() > 0).reshape(inputs[0].shape[0], -1))

    forward_with_hooks(net, x, (m for m in net.modules() if isinstance(m, ACTIVATIONS)), hook)
    return codes


def count_patterns(codes: list[torch.Tensor]) -> int:
    """Number of distinct rows (samples) of the concatenated (batch, units) codes."""
    unique = list({id(c): c for c in codes}.values())  # layers reading one tensor repeat its columns
    # one device-to-host copy per network; packing the concatenation instead of each layer
    # changes only zero padding, not which rows are equal
    rows = np.ascontiguousarray(np.packbits(torch.cat(unique, dim=1).cpu().numpy(), axis=1))
    return int(np.unique(rows.view(np.dtype((np.void, rows.shape[1])))).shape[0])


def random_crops(images: torch.Tensor, n: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """n random size x size crops of one random channel of random images: (n, 1, size, size).

    TE-NAS's input for its region count (RandomCrop then RandChannel(1) on training images).
    """
    b, c, h, w = images.shape
    if h < size or w < size:
        raise BadOptionError(f"images of {h}x{w} are smaller than the {size}x{size} crops")
    dev = images.device
    pick = lambda high: torch.randint(0, high, (n,), generator=gen, device=dev)  # noqa: E731
    idx, chan, top, left = pick(b), pick(c), pick(h - size + 1), pick(w - size + 1)
    steps = torch.arange(size, device=dev)
    rows = (top[:, None] + steps)[:, :, None]
    cols = (left[:, None] + steps)[:, None, :]
    return images[idx[:, None, None], chan[:, None, None], rows, cols].unsqueeze(1)


def thin_cell_regions(make_thin, images: torch.Tensor, samples: int, batches: int, repeats: int,
                      gen: torch.Generator) -> float:
    """TE-NAS's count on its reduced network: distinct ReLU patterns over batches x samples crops,
    averaged over `repeats` fresh Kaiming (fan-in) initialisations, BatchNorm in train mode."""
    counts = []
    for _ in range(repeats):
        thin = make_thin().to(images.device).train()
        reinitialise_(thin, lambda w, g: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu",
                                                                 generator=g), gen)
        per_batch = [_activation_codes(thin, random_crops(images, samples, 3, gen)) for _ in range(batches)]
        if not per_batch[0]:
            raise ProxyFailure("the reduced network has no ReLU/GELU units to read")
        counts.append(count_patterns([torch.cat(parts, 0) for parts in zip(*per_batch)]))
    return float(np.mean(counts))


SOURCES = ("auto", "data", "gaussian", "thin_cell")


@proxy("linear_regions", needs=Needs(passes=frozenset({"activation_codes"})), version="3",
       orientation="more distinct activation patterns = input space cut into more linear regions = more expressive "
                   "= predicted better")
def linear_regions(probe: Probe, source: str = "auto", samples: int = 64, seed: int = 0, crops: int = 1000,
                   crop_batches: int = 3, repeats: int = 3) -> float:
    """Number of distinct activation patterns of the ReLU (and GELU) units over sampled inputs.

    A sample's pattern is the on/off state (input > 0) of every ReLU/GELU unit
    of the network; inputs with the same pattern lie in the same linear
    region. On a full-width network almost every input has its own pattern,
    so a count over the task's batch saturates at the batch size. TE-NAS
    therefore counts on a reduced network, and so does `source="auto"`
    wherever the space provides one (the network has `tenas_thin_copy()`:
    NB201, following TE-NAS's `model_config_thin`, C=1, N=1, depth=1, no
    stem; TNB micro, whose cell has NB201's shape, the same way), else it
    falls back to "data" (version 3: TNB micro joined; nothing else changed). Sources:
      source="thin_cell": the reduced network, fresh Kaiming fan-in weights
        (drawn with `seed`), BatchNorm in train mode, fed `crop_batches`
        batches of `crops` random 3x3 crops of one random channel of the
        task's images (TE-NAS: 3 x 1,000); the count over all of them,
        averaged over `repeats` initialisations (TE-NAS's --repeat 3).
      source="data": the task's image batch, read from the shared activation-
        code pass (the one NASWOT and SWAP use); at most the batch size.
      source="gaussian": `samples` standard-normal inputs shaped like the batch
        images, drawn from a torch.Generator seeded with `seed`, pushed through
        a copy in train mode in one batch (the TE-NAS port in the Zen-NAS and
        AZ-NAS code bases).
    """
    if source not in SOURCES:
        raise BadOptionError(f"source={source!r}; valid sources: {', '.join(SOURCES)}")
    make_thin = getattr(probe.net, "tenas_thin_copy", None)
    if source == "auto":
        source = "thin_cell" if make_thin is not None else "data"
    if source == "thin_cell":
        if make_thin is None:
            raise ProxyFailure(f"{type(probe.net).__name__} has no tenas_thin_copy() (TE-NAS's reduced network); "
                             "use source=data or source=gaussian")
        gen = torch.Generator(device=probe.inputs.device).manual_seed(int(seed))
        images = probe.inputs.detach()
        if images.dim() == 5:  # jigsaw: B x tiles x C x t x t; crops come from every tile
            images = images.flatten(0, 1)
        with torch.no_grad():
            return thin_cell_regions(make_thin, images, int(crops), int(crop_batches), int(repeats), gen)
    if source == "data":
        codes = [c for _, c in probe.activation_codes()]
    else:
        gen = torch.Generator(device=probe.inputs.device).manual_seed(int(seed))
        x = torch.randn((int(samples), *probe.inputs.shape[1:]), generator=gen, device=probe.inputs.device)
        codes = _activation_codes(probe.working_copy(), x)
    if not codes:
        raise ProxyFailure("network has no ReLU/GELU units to read")
    return float(count_patterns(codes))
