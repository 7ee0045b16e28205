"""The shared probe: one network, one batch, each pass run at most once.

Proxies never run their own forward/backward on the scored network. They ask
the Probe for what they declared (activation codes, gradients, mini-batch
gradients); the Probe computes it on a private working copy, the first time it
is asked, and memoises it. One forward pass serves every planned pass that
can share it: activation codes, the loss gradient (and channel saliency), the
Hessian-vector product H g (the loss backward then keeps its graph) and the
input Jacobian (one more backward, to the input only). The network handed to
the Probe is never modified: no .grad, no BatchNorm statistics, no change of
train/eval mode.
"""
from __future__ import annotations

import copy
import hashlib
import time
from typing import Callable, Iterable, Sequence

import torch
from torch import nn

from ..allocator import choose_policy
from ..errors import BadOptionError
from .base import Needs
from .flop_count import count_flops

ACTIVATIONS = (nn.ReLU, nn.GELU)
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def forward_with_hooks(net: nn.Module, x: torch.Tensor, modules: Iterable[nn.Module],
                       hook: Callable) -> None:
    """One no-grad forward of `net` on `x` with `hook` as forward hook on `modules`, removed after."""
    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()


def scored_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Conv2d/Linear layers (with weights) that weight-based proxies sum over."""
    return [(n, m) for n, m in net.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight is not None]


def samples_independent(net: nn.Module) -> bool:
    """Whether each sample's output depends on that sample only: no BatchNorm using batch
    statistics, no dropout that would draw a mask per batch."""
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and (m.training or not m.track_running_stats):
            return False
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.training and m.p > 0:
            return False
    return True


#: input elements per chunk of samples (about 8 images at 224 px): what one chunk of the shared
#: forward, or of the per-sample pass, puts through the network at once
CHUNK_INPUT_ELEMENTS = 1_250_000


def input_chunk(inputs: torch.Tensor, budget: int = CHUNK_INPUT_ELEMENTS) -> int:
    """Samples per chunk such that their inputs hold at most `budget` elements (a power of two,
    at least 1). A network's activations grow with its input, so this bounds the memory of a
    chunk's graph: 8 samples at 224 px (AutoFormer-T, whose batch of 16 with H g kept 2.9 GiB of
    graph), the whole batch at 32 or 64 px."""
    per_sample = max(1, inputs[0].numel())
    fits = max(1, budget // per_sample)
    return 1 << (int(fits).bit_length() - 1)


class Probe:
    """Lazily computed, memoised signals of one network on one batch."""

    def __init__(self, net: nn.Module, inputs: torch.Tensor, labels: torch.Tensor | None,
                 loss_fn: LossFn | None = None, planned: Iterable[Needs] = (),
                 batch_chunk: int | None = None):
        # once per process (zcbench/allocator.py): freed memory kept for BatchNorm CNNs, whose large
        # per-sample tensors then reuse mapped pages; glibc's defaults for the rest (ViTs)
        has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
        choose_policy("keep" if has_batch_norm else "system")
        self.net = net
        self.inputs = inputs
        self.labels = labels
        self.loss_fn = loss_fn or nn.functional.cross_entropy
        planned = list(planned)
        self.planned_passes = {p for needs in planned for p in needs.passes}
        #: how many planned proxies read the per-sample pass: a pass for one consumer computes only
        #: the layers it reads (per_sample_gradients(layers=...)), one for several computes them all
        self._per_sample_readers = sum("per_sample_gradients" in needs.passes for needs in planned)
        self.pass_seconds: dict[str, float] = {}
        self._results: dict[str, object] = {}
        self._errors: dict[str, BaseException] = {}
        self._derived: dict[object, object] = {}
        self._work: nn.Module | None = None
        self._pristine_buffers: dict[str, torch.Tensor] | None = None
        #: BatchNorm statistics of the per-sample gradients: "sample" or "batch" (sample_norm.py)
        self.per_sample_statistics: str | None = None
        #: samples per chunk of the shared forward where samples never meet (the ViTs):
        #: None = input_chunk(inputs), 0 = the whole batch at once (see _chunked_forward_backward)
        self.batch_chunk = batch_chunk

    # ----------------------------------------------------------- working copy
    def working_copy(self) -> nn.Module:
        """A copy of the network, in train mode, with its initial buffers restored."""
        if self._work is None:
            self._work = copy.deepcopy(self.net)
            self._pristine_buffers = {k: v.clone() for k, v in self._work.named_buffers()}
        else:
            with torch.no_grad():
                for k, v in self._work.named_buffers():
                    v.copy_(self._pristine_buffers[k])
        self._work.train()
        self._work.zero_grad(set_to_none=True)
        return self._work

    def fresh_copy(self) -> nn.Module:
        """An independent deep copy that a proxy may change at will (synflow, flops)."""
        return copy.deepcopy(self.net)

    # ------------------------------------------------------------------ passes
    def activation_codes(self) -> list[tuple[str, torch.Tensor]]:
        """Binary codes of every ReLU/GELU unit: per layer a bool (batch, units) of input > 0."""
        return self._memo("activation_codes", lambda: self._forward_backward("activation_codes"))

    def gradients(self) -> dict[str, torch.Tensor]:
        """dL/dW of each scored layer's weight, L the task loss on the whole batch."""
        return self._memo("gradients", lambda: self._forward_backward("gradients"))

    def channel_saliency(self) -> list[tuple[str, torch.Tensor]]:
        """Per Conv2d/Linear layer, a (batch, channels) tensor: sum over positions of
        output * dL/d(output). Fisher-style proxies read it; it shares the gradient pass."""
        return self._memo("channel_saliency", lambda: self._forward_backward("channel_saliency"))

    def hessian_gradient(self) -> dict[str, torch.Tensor]:
        """H g per scored weight: g = dL/dW (the `gradients` pass), H the Hessian of L over the
        scored weights (a Hessian-vector product; H is never formed). GraSP reads it.

        When planned, it is taken from the shared forward: that pass's backward then
        keeps its graph (create_graph) and one more backward through it gives H g.
        """
        return self._memo("hessian_gradient", lambda: self._forward_backward("hessian_gradient"))

    def input_jacobian(self) -> torch.Tensor:
        """d(sum of outputs)/d(input) for every sample: a tensor shaped like the inputs.

        When planned beside gradients or activation codes, it reuses their forward
        (one more backward, to the input only)."""
        return self._memo("input_jacobian", lambda: self._forward_backward("input_jacobian"))

    def per_sample_gradients(self, chunk_size: int | None = None,
                             layers: Sequence[str] | None = None) -> dict[str, "PerSampleStats"]:
        """Statistics over samples of each scored weight's per-sample gradient.

        Each sample is its own batch of one (as GradSign's code does), BatchNorm
        in train mode without running statistics; computed with torch.func
        (vmap over grad) in chunks, so memory stays at chunk_size gradients (None: as many
        samples as fit PER_SAMPLE_CHUNK_BYTES of float32 gradients, 2 to 16: 16 on NB201, 4 on
        a TransNAS-Bench-101 autoencoder with 37M weights, where 16 took 2x as long and twice the
        memory; and at most input_chunk(inputs) samples, 8 at 224 px, where activations dominate:
        AutoFormer-T, batch 16, 2.9 -> 2.0 GiB at the same speed; chunk sizes change the
        gradients by float32 rounding only, ~1e-7 relative).
        Where that is not defined (a map with one value per channel per sample)
        or degenerate (BatchNorm-ended nets, whose per-sample output is then the
        classifier's bias: NB301, TransNAS-Bench-101), every BN normalises with
        the whole batch's statistics instead, held fixed (sample_norm.py).

        `layers` (scored-layer names): the caller reads only these. When it is the
        only planned reader of this pass (L-SWAG alone, its window near the output:
        the backward and the per-sample outer products stop there), only they are
        computed; their statistics are the same numbers as in the full pass.
        """
        if layers is None or self._per_sample_readers > 1 or "per_sample_gradients" in self._results:
            return self._memo("per_sample_gradients", lambda: self._per_sample_pass(chunk_size))
        digest = hashlib.sha1(",".join(layers).encode()).hexdigest()[:8]
        key = f"per_sample_gradients:{len(layers)}_layers_{digest}"
        return self._memo(key, lambda: self._per_sample_pass(chunk_size, list(layers), key))

    def shared(self, key: str, compute: Callable[[], object]) -> object:
        """Run a pass that a proxy module defines (e.g. AZ-NAS's block-feature pass) once.

        Memoised and timed like the built-in passes, so proxies that share it pay
        for it once and each reports its cost; declare it as the "shared" pass.
        """
        name = f"shared:{key}"

        def run() -> None:
            start = time.perf_counter()
            self._results[name] = compute()
            self.pass_seconds[name] = time.perf_counter() - start
        return self._memo(name, run)

    def forward_flops(self) -> float:
        """Forward FLOPs of one input (the batch's first), eval mode (see flop_count.count_flops)."""
        def run() -> None:
            start = time.perf_counter()
            self._results["forward_flops"] = count_flops(self.working_copy(), self.inputs[:1])
            self.pass_seconds["forward_flops"] = time.perf_counter() - start
        return self._memo("forward_flops", run)

    def derived(self, key: object, compute: Callable[[], object]) -> object:
        """A value computed from the passes (e.g. a pattern count), memoised under `key`.

        Not a pass: its time is charged to the proxy that computes it first, and
        the proxies that read it later get it free.
        """
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def weights(self) -> dict[str, torch.Tensor]:
        """Weights of the scored layers (the original tensors; do not modify)."""
        return {n: m.weight.detach() for n, m in scored_layers(self.net)}

    def split_gradients(self, parts: int) -> list[dict[str, torch.Tensor]]:
        """dL/dW per mini-batch: the batch cut into `parts` equal parts, one backward each."""
        return self._memo(f"split_gradients:{parts}", lambda: self._split_pass(parts))

    # ---------------------------------------------------------------- internals
    def _memo(self, key: str, compute: Callable[[], None]):
        if key in self._errors:
            raise self._errors[key]
        if key not in self._results:
            try:
                compute()
            except Exception as err:  # remembered: every proxy needing it fails alike
                self._errors[key] = err
                raise
        return self._results[key]

    def _require_labels(self) -> torch.Tensor:
        if self.labels is None:
            raise ValueError("this proxy needs labels but the batch has none")
        return self.labels

    def _forward_backward(self, wanted: str) -> None:
        """One train-mode forward of the working copy serving `wanted` and every planned pass
        of the same forward (activation codes, gradients, channel saliency, H g, input Jacobian).

        Backward order: the loss backward (keeping its graph when H g is planned, and
        its saliency hooks removed right after, so later backwards do not overwrite
        them), the Hessian-vector product, then the input Jacobian's backward.
        """
        done = set(self._results) | set(self._errors)
        shared_with = ((self.planned_passes & set(FORWARD_PASSES)) - done) | {wanted}
        if self.labels is None:  # passes of the loss are left to fail on their own call
            shared_with -= {"gradients", "channel_saliency", "hessian_gradient"} - {wanted}
        want_codes = "activation_codes" in shared_with
        want_grads = bool(shared_with & {"gradients", "channel_saliency", "hessian_gradient"})
        want_saliency = "channel_saliency" in shared_with
        want_hvp = "hessian_gradient" in shared_with
        want_jacobian = "input_jacobian" in shared_with
        chunk = self._forward_chunk()
        if chunk and self._chunked_forward_backward(wanted, chunk, want_codes, want_grads, want_saliency,
                                                    want_hvp, want_jacobian):
            return
        net = self.working_copy()
        layers = scored_layers(net)
        hooked = _HookedForward(net, layers, self.inputs, want_codes, want_saliency, want_jacobian,
                                grad_enabled=want_grads or want_jacobian)
        out, x, collected, saliency, grad_hooks = (hooked.out, hooked.x, hooked.codes, hooked.saliency,
                                                   hooked.grad_hooks)
        forward_seconds = hooked.seconds
        if want_codes:
            self._results["activation_codes"] = collected
            self.pass_seconds["activation_codes"] = forward_seconds
        if want_grads:
            start = time.perf_counter()
            grads = _weight_grads(self.loss_fn(out, self._require_labels()), layers,
                                  keep_graph=want_hvp or want_jacobian, create_graph=want_hvp)
            for h in grad_hooks:
                h.remove()
            if "gradients" not in self._results:
                self._results["gradients"] = {n: g.detach().clone() for n, g in grads.items()}
                self.pass_seconds["gradients"] = forward_seconds + time.perf_counter() - start
            if want_saliency:
                self._results["channel_saliency"] = [(n, t) for n, t in saliency if t is not None]
                self.pass_seconds["channel_saliency"] = forward_seconds + time.perf_counter() - start
            if want_hvp:
                start = time.perf_counter()
                try:
                    self._results["hessian_gradient"] = _hessian_gradient(
                        grads, layers, keep_graph=want_jacobian)
                except Exception as err:  # e.g. an op without double backward: only H g fails
                    if wanted == "hessian_gradient":
                        raise
                    self._errors["hessian_gradient"] = err
                self.pass_seconds["hessian_gradient"] = time.perf_counter() - start
            del grads
        if want_jacobian:
            start = time.perf_counter()
            try:
                (jac,) = torch.autograd.grad(out.sum(), x)
                self._results["input_jacobian"] = jac.detach()
            except Exception as err:  # only the Jacobian's readers fail
                if wanted == "input_jacobian":
                    raise
                self._errors["input_jacobian"] = err
            # charged the forward too: what jacov would cost on its own
            self.pass_seconds["input_jacobian"] = forward_seconds + time.perf_counter() - start
        net.zero_grad(set_to_none=True)

    def _forward_chunk(self) -> int | None:
        """Samples per chunk of the shared forward, or None for the whole batch at once: chunks only
        where samples never meet (samples_independent) and the batch is larger than a chunk."""
        n = self.inputs.shape[0]
        chunk = input_chunk(self.inputs) if self.batch_chunk is None else self.batch_chunk
        if not chunk or chunk >= n or not samples_independent(self.working_copy()):
            return None
        return chunk

    def _chunked_forward_backward(self, wanted: str, chunk: int, want_codes: bool, want_grads: bool,
                                  want_saliency: bool, want_hvp: bool, want_jacobian: bool) -> bool:
        """The shared forward's passes, `chunk` samples at a time, where samples never meet.

        The batch loss is then the sum over chunks of (chunk size / batch) x the chunk's loss
        (checked on the outputs: a loss that is not such a mean over samples returns False, and the
        whole batch is run at once), so gradients add up over chunks, while codes, saliency and
        the input Jacobian are per sample and are concatenated. H g needs the whole batch's g
        first: a second sweep differentiates each chunk's weighted gradient against it. The
        results equal the whole-batch pass up to float32 rounding; the memory is a chunk's
        graph: AutoFormer-T at 224 px, batch 16, H g planned, 2.9 GiB of graph -> ~1.4 GiB.
        """
        net = self.working_copy()
        layers = scored_layers(net)
        n = self.inputs.shape[0]
        labels = self._require_labels() if want_grads else None
        xs_all = self.inputs.split(chunk)
        ys_all = labels.split(chunk) if labels is not None else [None] * len(xs_all)
        codes: list[list[tuple[str, torch.Tensor]]] = []
        saliency: list[list[tuple[str, torch.Tensor]]] = []
        jacobians: list[torch.Tensor] = []
        outputs: list[torch.Tensor] = []
        losses: list[torch.Tensor] = []
        grads: dict[str, torch.Tensor] | None = None
        seconds = {"forward": 0.0, "backward": 0.0, "jacobian": 0.0}
        jacobian_error: BaseException | None = None
        for xs, ys in zip(xs_all, ys_all):
            hooked = _HookedForward(net, layers, xs, want_codes, want_saliency, want_jacobian,
                                    grad_enabled=want_grads or want_jacobian)
            out, x = hooked.out, hooked.x
            seconds["forward"] += hooked.seconds
            if not isinstance(out, torch.Tensor):
                return False  # a structured output: run the whole batch at once
            outputs.append(out.detach())
            codes.append(hooked.codes)
            if want_grads:
                start = time.perf_counter()
                loss = self.loss_fn(out, ys)
                losses.append(loss.detach())
                part = _weight_grads(loss * (xs.shape[0] / n), layers, keep_graph=want_jacobian,
                                     create_graph=False)
                for h in hooked.grad_hooks:
                    h.remove()
                grads = part if grads is None else {k: grads[k] + part[k] for k in grads}
                saliency.append(hooked.saliency)
                seconds["backward"] += time.perf_counter() - start
            if want_jacobian and jacobian_error is None:
                start = time.perf_counter()
                try:
                    (jac,) = torch.autograd.grad(out.sum(), x)
                    jacobians.append(jac.detach())
                except Exception as err:
                    jacobian_error = err
                seconds["jacobian"] += time.perf_counter() - start
            del out
        if want_grads and not _is_mean_over_samples(self.loss_fn, outputs, ys_all, losses):
            return False
        forward_seconds = seconds["forward"]
        if want_codes:
            self._results["activation_codes"] = _concat_codes(codes)
            self.pass_seconds["activation_codes"] = forward_seconds
        if want_grads:
            if "gradients" not in self._results:
                self._results["gradients"] = {k: g.detach() for k, g in grads.items()}
                self.pass_seconds["gradients"] = forward_seconds + seconds["backward"]
            if want_saliency:
                self._results["channel_saliency"] = [
                    (name, torch.cat([part[i][1] for part in saliency]))
                    for i, (name, t) in enumerate(saliency[0]) if t is not None]
                self.pass_seconds["channel_saliency"] = forward_seconds + seconds["backward"]
        if want_jacobian:
            if jacobian_error is None:
                self._results["input_jacobian"] = torch.cat(jacobians)
            elif wanted == "input_jacobian":
                raise jacobian_error
            else:
                self._errors["input_jacobian"] = jacobian_error
            self.pass_seconds["input_jacobian"] = forward_seconds + seconds["jacobian"]
        if want_hvp:
            start = time.perf_counter()
            direction = {k: g.detach() for k, g in grads.items()}
            try:
                hg: dict[str, torch.Tensor] | None = None
                for xs, ys in zip(xs_all, ys_all):
                    loss = self.loss_fn(net(xs), ys) * (xs.shape[0] / n)
                    part = _hessian_gradient(_weight_grads(loss, layers, keep_graph=True, create_graph=True),
                                             layers, keep_graph=False, direction=direction)
                    hg = part if hg is None else {k: hg[k] + part[k] for k in hg}
                self._results["hessian_gradient"] = hg
            except Exception as err:  # e.g. an op without double backward: only H g fails
                if wanted == "hessian_gradient":
                    raise
                self._errors["hessian_gradient"] = err
            self.pass_seconds["hessian_gradient"] = time.perf_counter() - start
        net.zero_grad(set_to_none=True)
        return True

    def _split_pass(self, n: int) -> None:
        labels = self._require_labels()
        if self.inputs.shape[0] < 2 * n:
            raise BadOptionError(f"batch of {self.inputs.shape[0]} is too small for {n} mini-batches")
        net = self.working_copy()
        start = time.perf_counter()
        grads = []
        for xs, ys in zip(self.inputs.chunk(n), labels.chunk(n)):
            net.zero_grad(set_to_none=True)
            self.loss_fn(net(xs), ys).backward()
            grads.append({name: m.weight.grad.detach().clone()
                          if m.weight.grad is not None else torch.zeros_like(m.weight)
                          for name, m in scored_layers(net)})
        net.zero_grad(set_to_none=True)
        self._results[f"split_gradients:{n}"] = grads
        self.pass_seconds[f"split_gradients:{n}"] = time.perf_counter() - start

    def _per_sample_pass(self, chunk_size: int, layers: list[str] | None = None,
                         key: str = "per_sample_gradients") -> None:
        from torch.func import functional_call, grad, vmap

        from .sample_norm import choose_per_sample_statistics, use_sample_norm

        labels = self._require_labels()
        net = self.fresh_copy().train()
        norm = use_sample_norm(net)
        start = time.perf_counter()
        self.per_sample_statistics = choose_per_sample_statistics(net, norm, self.inputs)
        wanted = None if layers is None else set(layers)
        weight_names = {(f"{n}.weight" if n else "weight"): n for n, _ in scored_layers(net)
                        if wanted is None or n in wanted}
        params = {k: v.detach() for k, v in net.named_parameters()}
        buffers = {k: v for k, v in net.named_buffers()}
        scored = {k: params[k] for k in weight_names}

        def sample_loss(weights, x, y):
            out = functional_call(net, ({**params, **weights}, buffers), (x.unsqueeze(0),))
            return self.loss_fn(out, y.unsqueeze(0))

        per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))

        acc = {k: PerSampleStats.empty(v) for k, v in scored.items()}
        chunk_size = chunk_size or min(per_sample_chunk(sum(v.numel() for v in scored.values())),
                                       max(2, input_chunk(self.inputs)))
        for xs, ys in zip(self.inputs.split(chunk_size), labels.split(chunk_size)):
            for k, g in per_sample(scored, xs, ys).items():
                acc[k].add(g.detach())
        self._results[key] = {weight_names[k]: v for k, v in acc.items()}
        self.pass_seconds[key] = time.perf_counter() - start

    def seconds_for(self, needs: Needs) -> float:
        """Time of the shared passes a proxy used (what it would cost on its own)."""
        return sum(v for k, v in self.pass_seconds.items() if k.split(":")[0] in needs.passes)


#: memory for one chunk of per-sample float32 gradients (see per_sample_chunk)
PER_SAMPLE_CHUNK_BYTES = 640 << 20


def per_sample_chunk(n_weights: int, budget: int = PER_SAMPLE_CHUNK_BYTES) -> int:
    """Samples per vmap chunk: the largest power of two, 2 to 16, whose float32 gradients of
    `n_weights` weights each fit `budget` bytes. Small networks take 16 (fewer, larger calls);
    large ones fewer, so that the chunk's tensors stay in memory the allocator already holds."""
    fits = max(1, budget // (4 * max(1, n_weights)))
    return max(2, min(16, 1 << (int(fits).bit_length() - 1)))


class PerSampleStats:
    """Running sums over samples of one weight tensor's per-sample gradients (float64):
    of |g|, of g^2 and of sign(g), what GradSign and L-SWAG read."""

    def __init__(self, count: int, abs_total: torch.Tensor, sq_total: torch.Tensor, sign_total: torch.Tensor):
        self.count, self.abs_total, self.sq_total, self.sign_total = count, abs_total, sq_total, sign_total

    @classmethod
    def empty(cls, like: torch.Tensor) -> "PerSampleStats":
        z = lambda: torch.zeros_like(like, dtype=torch.float64)  # noqa: E731
        return cls(0, z(), z(), z())

    def add(self, grads: torch.Tensor) -> None:
        """Add a (samples, *weight_shape) block of per-sample gradients.

        The sums are those of the float64 copy of `grads`, bit for bit, with one float64 copy
        worked on in place instead of four new tensors (memory traffic is the cost here: a
        TransNAS-Bench-101 decoder has ~37M weights per sample).
        """
        self.count += grads.shape[0]
        self.sign_total += torch.sign(grads).sum(0)  # sums of -1/0/1: exact in float32
        g = grads.double().abs_()  # the one float64 copy; worked on in place
        self.abs_total += g.sum(0)
        self.sq_total += g.mul_(g).sum(0)

    @property
    def abs_mean(self) -> torch.Tensor:
        return self.abs_total / self.count

    @property
    def abs_var(self) -> torch.Tensor:
        """Population variance over samples of |g| (= E[g^2] - E[|g|]^2)."""
        return (self.sq_total / self.count - self.abs_mean ** 2).clamp_min(0)


# passes that one forward of the working copy can serve together
FORWARD_PASSES = ("activation_codes", "gradients", "channel_saliency", "hessian_gradient", "input_jacobian")


def _weight_grads(loss: torch.Tensor, layers: list[tuple[str, nn.Module]], keep_graph: bool,
                  create_graph: bool) -> dict[str, torch.Tensor]:
    """dL/dW of each layer's weight (zeros where L does not reach it), without touching .grad."""
    weights = [m.weight for _, m in layers]
    found = torch.autograd.grad(loss, weights, retain_graph=keep_graph or create_graph,
                                create_graph=create_graph, allow_unused=True) if weights else ()
    return {n: (g if g is not None else torch.zeros_like(m.weight))
            for (n, m), g in zip(layers, found)}


def _hessian_gradient(grads: dict[str, torch.Tensor], layers: list[tuple[str, nn.Module]],
                      keep_graph: bool, direction: dict[str, torch.Tensor] | None = None
                      ) -> dict[str, torch.Tensor]:
    """H v from gradients computed with create_graph: d/dW of sum(v * dL/dW), v = `direction`
    (default g.detach(), i.e. H g).

    Weights the loss does not reach, or whose gradient does not depend on the
    weights, get H g = 0 (NASLib's allow_unused)."""
    live = [(n, m.weight, g) for n, m in layers if (g := grads[n]).requires_grad]
    if not live:
        return {n: torch.zeros_like(m.weight) for n, m in layers}
    z = sum(((g.detach() if direction is None else direction[n]) * g).sum() for n, _, g in live)
    found = torch.autograd.grad(z, [w for _, w, _ in live], retain_graph=keep_graph, allow_unused=True)
    hg = {n: (h.detach() if h is not None else torch.zeros_like(w)) for (n, w, _), h in zip(live, found)}
    return {n: hg.get(n, torch.zeros_like(m.weight)) for n, m in layers}


class _HookedForward:
    """One forward of `net` on `inputs` (a leaf copy that requires grad when `want_jacobian`), recording
    activation codes and arming the saliency hooks as asked; the hooks are removed when it returns."""

    def __init__(self, net: nn.Module, layers: list[tuple[str, nn.Module]], inputs: torch.Tensor,
                 want_codes: bool, want_saliency: bool, want_jacobian: bool, grad_enabled: bool):
        self.codes: list[tuple[str, torch.Tensor]] = []
        self.saliency: list[tuple[str, torch.Tensor]] = []
        self.grad_hooks: list = []  # on the outputs, removed by the caller after the loss backward
        hooks = []
        if want_codes:
            seen: dict = {}
            hooks += [mod.register_forward_hook(_code_hook(name, self.codes, seen))
                      for name, mod in net.named_modules() if isinstance(mod, ACTIVATIONS)]
        if want_saliency:
            hooks += [mod.register_forward_hook(_saliency_hook(name, self.saliency, self.grad_hooks))
                      for name, mod in layers]
        self.x = inputs.detach().clone().requires_grad_(True) if want_jacobian else inputs
        start = time.perf_counter()
        try:
            with torch.set_grad_enabled(grad_enabled):
                self.out = net(self.x)
        finally:
            for h in hooks:
                h.remove()
        self.seconds = time.perf_counter() - start


def _is_mean_over_samples(loss_fn: LossFn, outputs: list[torch.Tensor], labels: list, losses: list[torch.Tensor]
                          ) -> bool:
    """Whether the batch loss equals the size-weighted mean of the chunks' losses (a mean over
    samples, as cross-entropy and MSE are), checked on the chunks' outputs."""
    n = sum(o.shape[0] for o in outputs)
    with torch.no_grad():
        whole = loss_fn(torch.cat(outputs), torch.cat(labels)).double()
    parts = sum(loss.double() * (o.shape[0] / n) for loss, o in zip(losses, outputs))
    return bool(torch.isclose(whole, parts, rtol=1e-5, atol=1e-7))


def _concat_codes(chunks: list[list[tuple[str, torch.Tensor]]]) -> list[tuple[str, torch.Tensor]]:
    """Each layer's codes joined over chunks; layers that shared one code tensor in the chunks
    (modules fed the same tensor) share one joined tensor too."""
    joined: dict[int, torch.Tensor] = {}
    out = []
    for i, (name, first) in enumerate(chunks[0]):
        owner = next(j for j, (_, t) in enumerate(chunks[0]) if t is first)
        if owner not in joined:
            joined[owner] = torch.cat([part[owner][1] for part in chunks])
        out.append((name, joined[owner]))
    return out


def _saliency_hook(name: str, sink: list, handles: list):
    """On the layer output, register a gradient hook that stores sum over positions of act * grad."""
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if not output.requires_grad:
            return
        index = len(sink)
        sink.append((name, None))
        act = output.detach()

        def on_grad(g: torch.Tensor) -> None:
            with torch.no_grad():  # g carries a graph when the pass keeps one for H g
                prod = act * g.detach()
                if prod.dim() == 4:      # (B, C, H, W): conv maps
                    per_channel = prod.sum(dim=(2, 3))
                elif prod.dim() == 3:    # (B, tokens, C): transformer linears
                    per_channel = prod.sum(dim=1)
                else:                    # (B, C)
                    per_channel = prod
            sink[index] = (name, per_channel)
        handles.append(output.register_hook(on_grad))
    return hook


def _code_hook(name: str, sink: list, shared: dict):
    """Record input > 0; modules fed the same tensor share one code tensor (same object)."""
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        x = inputs[0]
        key = (id(x), x._version)
        if key not in shared:  # x is held until the pass ends, so its id cannot be reused
            shared[key] = (x, (x.detach() > 0).reshape(x.shape[0], -1))
        sink.append((name, shared[key][1]))
    return hook
