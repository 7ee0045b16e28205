"""Train one network with a configurable recipe and measure its held-out accuracy.

This is what turns sampled architectures into ground truth (zcbench.build).
The recipe is the usual one for small vision transformers and CNNs: AdamW,
linear warmup then cosine decay (per step), label smoothing, random-crop and
horizontal-flip augmentation, gradient clipping. Everything that changes the
result is in `Recipe`, and `Recipe.digest()` is stored with every accuracy so
that numbers trained under different recipes are never mixed.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .inputs.datasets import ImageSet, to_tensor
from .errors import ZcbenchError


@dataclass(frozen=True)
class Recipe:
    """A training recipe; see zcbench/conf/recipe/*.yaml for the ones shipped."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    min_lr: float = 1e-5
    label_smoothing: float = 0.1
    crop_padding: int = 4          # random crop after zero padding, in pixels of the trained size; 0 = off
    flip: bool = True              # random horizontal flip
    grad_clip: float = 5.0         # max gradient norm; 0 = off
    max_train_images: int | None = None  # use only the first N training images (seeded order); None = all
    max_eval_images: int | None = None   # evaluate on the first N evaluation images; None = all
    eval_split: str = "test"       # "test" (the dataset's test files) or "holdout" (a slice of train)
    holdout_fraction: float = 0.15

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> "Recipe":
        data = dict(cfg)
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ZcbenchError(f"recipe has unknown keys {unknown}; valid keys: {sorted(cls.__dataclass_fields__)}")
        recipe = cls(**data)
        if recipe.eval_split not in ("test", "holdout"):
            raise ZcbenchError(f"recipe eval_split={recipe.eval_split!r}; valid: test, holdout")
        if recipe.epochs < 1 or recipe.batch_size < 1:
            raise ZcbenchError(f"recipe needs epochs >= 1 and batch_size >= 1, got {recipe.epochs}, "
                               f"{recipe.batch_size}")
        return recipe

    def digest(self) -> str:
        """Short hash of every field: two accuracies are comparable only under the same digest."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def split_images(train: ImageSet, test: ImageSet | None, recipe: Recipe, seed: int
                 ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train images, labels), (eval images, labels) as the recipe asks."""
    order = np.random.default_rng(seed).permutation(len(train.labels))
    if recipe.eval_split == "holdout":
        n_eval = max(1, int(round(recipe.holdout_fraction * len(order))))
        eval_idx, train_idx = order[:n_eval], order[n_eval:]
        evaluation = (train.images[eval_idx], train.labels[eval_idx])
    else:
        if test is None:
            raise ZcbenchError("recipe eval_split=test but the dataset has no test images here")
        train_idx = order
        evaluation = (test.images, test.labels)
    if recipe.max_train_images:
        train_idx = train_idx[:recipe.max_train_images]
    if recipe.max_eval_images:
        evaluation = (evaluation[0][:recipe.max_eval_images], evaluation[1][:recipe.max_eval_images])
    return (train.images[train_idx], train.labels[train_idx]), evaluation


def _augment(x: torch.Tensor, recipe: Recipe, gen: torch.Generator) -> torch.Tensor:
    """Random crop (with zero padding) and horizontal flip, per image, on a normalised batch."""
    if recipe.crop_padding:
        p = recipe.crop_padding
        n, _, h, w = x.shape
        dy = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=gen)
        x = _crop(F.pad(x, (p, p, p, p)), dy, dx, h, w)
    if recipe.flip:
        flip = torch.rand(x.shape[0], generator=gen) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    return x


def _crop(padded: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Per-image h x w windows of a padded batch at offsets (dy, dx)."""
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)  # n, c, oy, ox, h, w
    picked = windows[torch.arange(padded.shape[0]), :, dy, dx]  # n, c, h, w
    return picked.contiguous()


def _lr_at(step: int, total: int, warmup: int, recipe: Recipe) -> float:
    if step < warmup:
        return recipe.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return recipe.min_lr + 0.5 * (recipe.lr - recipe.min_lr) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def evaluate(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256
             ) -> tuple[float, float]:
    """(top-1 accuracy in percent, mean cross-entropy without smoothing) on the evaluation images.

    The loss is the smoother of the two measures: on a few hundred test images one
    image more or less changes top-1 by a tenth of a point, the loss hardly at all.
    """
    net.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(labels), batch_size):
        logits, y = net(images[i:i + batch_size]), labels[i:i + batch_size]
        correct += int((logits.argmax(1) == y).sum())
        loss += float(F.cross_entropy(logits.double(), y, reduction="sum"))
    return 100.0 * correct / len(labels), loss / len(labels)


def train_and_evaluate(net: nn.Module, train: tuple[np.ndarray, np.ndarray], evaluation: tuple[np.ndarray, np.ndarray],
                       dataset: str, image_size: int | None, recipe: Recipe, seed: int,
                       device: torch.device = torch.device("cpu"), curve: bool = False) -> dict[str, Any]:
    """Train `net` from its current initialisation.

    Returns accuracy (%) and eval_loss on the evaluation images, the final train loss,
    seconds and steps; with `curve`, also the evaluation after every epoch (a list of
    {epoch, accuracy, eval_loss}). Evaluating in between draws no random numbers, so
    the trained network is the same with or without the curve.
    """
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    x_train = to_tensor(train[0], dataset, image_size)
    y_train = torch.from_numpy(train[1].astype(np.int64))
    x_eval = to_tensor(evaluation[0], dataset, image_size).to(device)
    y_eval = torch.from_numpy(evaluation[1].astype(np.int64)).to(device)
    decay = [p for n, p in net.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in net.named_parameters() if p.ndim <= 1]
    optimiser = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr)
    steps_per_epoch = math.ceil(len(y_train) / recipe.batch_size)
    total = recipe.epochs * steps_per_epoch
    warmup = int(round(recipe.warmup_epochs * steps_per_epoch))
    step, loss_value, history = 0, math.nan, []
    for epoch in range(recipe.epochs):
        net.train()
        order = torch.randperm(len(y_train), generator=gen)
        for i in range(0, len(order), recipe.batch_size):
            idx = order[i:i + recipe.batch_size]
            x = _augment(x_train[idx], recipe, gen).to(device)
            y = y_train[idx].to(device)
            for group in optimiser.param_groups:
                group["lr"] = _lr_at(step, total, warmup, recipe)
            loss = F.cross_entropy(net(x), y, label_smoothing=recipe.label_smoothing)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at step {step}")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip:
                nn.utils.clip_grad_norm_(net.parameters(), recipe.grad_clip)
            optimiser.step()
            loss_value = loss.item()
            step += 1
        if curve and epoch + 1 < recipe.epochs:
            accuracy, eval_loss = evaluate(net, x_eval, y_eval)
            history.append({"epoch": epoch + 1, "accuracy": accuracy, "eval_loss": eval_loss})
    accuracy, eval_loss = evaluate(net, x_eval, y_eval)
    result = {"accuracy": accuracy, "eval_loss": eval_loss, "train_loss": loss_value,
              "seconds": time.perf_counter() - start, "steps": step}
    if curve:
        result["curve"] = history + [{"epoch": recipe.epochs, "accuracy": accuracy, "eval_loss": eval_loss}]
    return result
