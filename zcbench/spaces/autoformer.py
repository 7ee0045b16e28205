"""AutoFormer search spaces T, S and B (Chen et al., ICCV 2021): registered as autoformer_t/s/b.

Encodings are in autoformer_encoding, the network in autoformer_net. A task's
``space_options`` say how a subnet becomes a network: image_size, patch_size,
the qkv rule (``autoformer``: 64 x heads; ``embed``: embed_dim, as Auto-Prox
built its subnets), relative_position, pool, layer_norm_eps.
"""
from __future__ import annotations

import dataclasses
import random

from torch import nn

from ..errors import ZcbenchError
from . import SPACES
from .autoformer_encoding import AutoFormerChoices, Subnet, parse_subnet, sample_subnet
from .autoformer_net import POOLS, QKV_RULES, AutoFormerNet, ViTOptions
from .base import SearchSpace

#: Supernet choices of AutoFormer's three spaces (docs/method.md#vision-transformers).
CHOICES: dict[str, AutoFormerChoices] = {
    "autoformer_t": AutoFormerChoices((192, 216, 240), (12, 13, 14), (3.5, 4.0), (3, 4)),
    "autoformer_s": AutoFormerChoices((320, 384, 448), (12, 13, 14), (3.0, 3.5, 4.0), (5, 6, 7)),
    "autoformer_b": AutoFormerChoices((528, 576, 624), (14, 15, 16), (3.0, 3.5, 4.0), (9, 10)),
}

_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(ViTOptions))


class AutoFormerSpace(SearchSpace):
    """One AutoFormer space; canonical = 'embed_dim=..;depth=..;mlp_ratio=..;num_heads=..'."""

    def __init__(self, name: str, choices: AutoFormerChoices):
        self.name, self.choices = name, choices

    def subnet(self, arch: str) -> Subnet:
        """The validated subnet of any accepted encoding."""
        return parse_subnet(arch, self.choices, self.name)

    def canonical(self, text: str) -> str:
        return self.subnet(text).to_string()

    def sample(self, rng: random.Random) -> str:
        return sample_subnet(self.choices, rng).to_string()

    def mutate(self, arch: str, rng: random.Random, prob: float | None = None,
               embed_prob: float | None = None) -> str:
        """A mutated subnet. prob=None: exactly one gene changes (depth, embed_dim, or one layer's
        mlp_ratio or num_heads). Otherwise AutoFormer's evolution mutation: depth resampled with
        `prob` (new layers drawn at random, removed ones dropped from the end), each layer's
        mlp_ratio and num_heads resampled with `prob`, embed_dim with `embed_prob` (default prob)."""
        sub, c = self.subnet(arch), self.choices
        if prob is None:
            gene = rng.choice(("embed_dim", "depth", "mlp_ratio", "num_heads"))
            other = lambda values, now: rng.choice([v for v in values if v != now])  # noqa: E731
            if gene == "embed_dim":
                return dataclasses.replace(sub, embed_dim=other(c.embed_dims, sub.embed_dim)).to_string()
            if gene == "depth":
                return _with_depth(sub, other(c.depths, sub.depth), c, rng).to_string()
            i = rng.randrange(sub.depth)
            values = list(getattr(sub, gene))
            values[i] = other(c.mlp_ratios if gene == "mlp_ratio" else c.num_heads, values[i])
            return dataclasses.replace(sub, **{gene: tuple(values)}).to_string()
        embed_prob = prob if embed_prob is None else embed_prob
        if rng.random() < prob:
            sub = _with_depth(sub, rng.choice(c.depths), c, rng)
        ratios = tuple(rng.choice(c.mlp_ratios) if rng.random() < prob else r for r in sub.mlp_ratio)
        heads = tuple(rng.choice(c.num_heads) if rng.random() < prob else h for h in sub.num_heads)
        embed = rng.choice(c.embed_dims) if rng.random() < embed_prob else sub.embed_dim
        return Subnet(embed, sub.depth, ratios, heads).to_string()

    def crossover(self, a: str, b: str, rng: random.Random) -> str:
        """AutoFormer's crossover: each gene from one of two parents of the same depth, at random."""
        x, y = self.subnet(a), self.subnet(b)
        if x.depth != y.depth:
            raise ZcbenchError(f"space {self.name}: crossover needs parents of the same depth, "
                               f"got {x.depth} and {y.depth}")
        pick = lambda u, v: u if rng.random() < 0.5 else v  # noqa: E731
        return Subnet(pick(x.embed_dim, y.embed_dim), x.depth,
                      tuple(pick(u, v) for u, v in zip(x.mlp_ratio, y.mlp_ratio)),
                      tuple(pick(u, v) for u, v in zip(x.num_heads, y.num_heads))).to_string()

    def options(self, **options) -> ViTOptions:
        """ViTOptions from a task's space_options, rejecting unknown names and values."""
        self.check_options(options, _OPTION_NAMES)
        opts = ViTOptions(**options)
        if opts.qkv not in QKV_RULES:
            raise ZcbenchError(f"space {self.name}: qkv={opts.qkv!r}; valid qkv rules: {', '.join(QKV_RULES)}")
        if opts.pool not in POOLS:
            raise ZcbenchError(f"space {self.name}: pool={opts.pool!r}; valid pools: {', '.join(POOLS)}")
        if opts.image_size % opts.patch_size:
            raise ZcbenchError(f"space {self.name}: image_size {opts.image_size} is not a multiple of "
                               f"patch_size {opts.patch_size}")
        return opts

    def build(self, arch: str, num_classes: int, **options) -> nn.Module:
        subnet = self.subnet(arch)
        opts = self.options(**options)
        if opts.qkv == "embed":
            bad = sorted({h for h in subnet.num_heads if subnet.embed_dim % h})
            if bad:
                raise ZcbenchError(f"space {self.name}: qkv=embed needs embed_dim {subnet.embed_dim} "
                                   f"divisible by num_heads, not by {bad}")
        return AutoFormerNet(subnet, num_classes, opts)


def _with_depth(sub: Subnet, depth: int, c: AutoFormerChoices, rng: random.Random) -> Subnet:
    """`sub` cut or grown to `depth` layers (new layers drawn uniformly), as AutoFormer mutates depth."""
    extra = max(depth - sub.depth, 0)
    ratios = sub.mlp_ratio[:depth] + tuple(rng.choice(c.mlp_ratios) for _ in range(extra))
    heads = sub.num_heads[:depth] + tuple(rng.choice(c.num_heads) for _ in range(extra))
    return Subnet(sub.embed_dim, depth, ratios, heads)


for _name, _choices in CHOICES.items():
    SPACES.add(_name, AutoFormerSpace(_name, _choices))
