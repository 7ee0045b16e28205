"""The shared probe: one network, one batch, each pass run at most once.

Proxies never run their own forward/backward on the scored network. They ask
the Probe for what they declared (activation codes, gradients, mini-batch
gradients); the Probe computes it on a private working copy, the first time it
is asked, and memoises it. When both activation codes and gradients are
planned, one forward pass serves both. The network handed to the Probe is never
modified: no .grad, no BatchNorm statistics, no change of train/eval mode.
"""
from __future__ import annotations

import copy
import time
from typing import Callable, Iterable

import torch
from torch import nn

from .base import Needs

ACTIVATIONS = (nn.ReLU, nn.GELU)
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def scored_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Conv2d/Linear layers (with weights) that weight-based proxies sum over."""
    return [(n, m) for n, m in net.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight is not None]


class Probe:
    """Lazily computed, memoised signals of one network on one batch."""

    def __init__(self, net: nn.Module, inputs: torch.Tensor, labels: torch.Tensor | None,
                 loss_fn: LossFn | None = None, planned: Iterable[Needs] = ()):
        self.net = net
        self.inputs = inputs
        self.labels = labels
        self.loss_fn = loss_fn or nn.functional.cross_entropy
        self.planned_passes = {p for needs in planned for p in needs.passes}
        self.pass_seconds: dict[str, float] = {}
        self._results: dict[str, object] = {}
        self._errors: dict[str, BaseException] = {}
        self._work: nn.Module | None = None
        self._pristine_buffers: dict[str, torch.Tensor] | None = None

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
        return self._memo("activation_codes", lambda: self._forward_backward(
            codes=True, grads="gradients" in self.planned_passes))

    def gradients(self) -> dict[str, torch.Tensor]:
        """dL/dW of each scored layer's weight, L the task loss on the whole batch."""
        return self._memo("gradients", lambda: self._forward_backward(
            codes="activation_codes" in self.planned_passes, grads=True))

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

    def _forward_backward(self, codes: bool, grads: bool) -> None:
        """One forward (with activation hooks if `codes`) and, if `grads`, one backward."""
        want_codes, want_grads = codes, grads
        net = self.working_copy()
        collected: list[tuple[str, torch.Tensor]] = []
        shared: dict = {}
        hooks = []
        if want_codes:
            for name, mod in net.named_modules():
                if isinstance(mod, ACTIVATIONS):
                    hooks.append(mod.register_forward_hook(_code_hook(name, collected, shared)))
        start = time.perf_counter()
        try:
            with torch.set_grad_enabled(want_grads):
                out = net(self.inputs)
        finally:
            for h in hooks:
                h.remove()
        forward_seconds = time.perf_counter() - start
        if want_codes:
            self._results["activation_codes"] = collected
            self.pass_seconds["activation_codes"] = forward_seconds
        if want_grads:
            start = time.perf_counter()
            loss = self.loss_fn(out, self._require_labels())
            loss.backward()
            self._results["gradients"] = {n: m.weight.grad.detach().clone()
                                          if m.weight.grad is not None else torch.zeros_like(m.weight)
                                          for n, m in scored_layers(net)}
            self.pass_seconds["gradients"] = forward_seconds + time.perf_counter() - start
            net.zero_grad(set_to_none=True)

    def _split_pass(self, n: int) -> None:
        labels = self._require_labels()
        if self.inputs.shape[0] < 2 * n:
            raise ValueError(f"batch of {self.inputs.shape[0]} is too small for {n} mini-batches")
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

    def seconds_for(self, needs: Needs) -> float:
        """Time of the shared passes a proxy used (what it would cost on its own)."""
        return sum(v for k, v in self.pass_seconds.items() if k.split(":")[0] in needs.passes)


def _code_hook(name: str, sink: list, shared: dict):
    """Record input > 0; modules fed the same tensor share one code tensor (same object)."""
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        x = inputs[0]
        key = (id(x), x._version)
        if key not in shared:  # x is held until the pass ends, so its id cannot be reused
            shared[key] = (x, (x.detach() > 0).reshape(x.shape[0], -1))
        sink.append((name, shared[key][1]))
    return hook
