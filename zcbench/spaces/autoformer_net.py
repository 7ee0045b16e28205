"""A standalone AutoFormer subnet: patch embedding, class token, pre-norm blocks, head.

Written from the definitions of the two sources whose ground truth zcbench
reads (not from their code):

* AutoFormer (Cream/AutoFormer, trained with ``--change_qkv --relative_position
  --gp``): the attention's q/k/v width is 64 x num_heads, each block adds 2-D
  relative-position embeddings to keys and values (tables of
  2 x max_relative_position + 2 rows per axis, class token in row 0), the head
  reads the mean of the patch tokens, LayerNorm eps 1e-5.
* Auto-Prox's AutoFormerSub (its trained-from-scratch subnets): q/k/v width =
  embed_dim (head_dim = embed_dim / num_heads), no relative position, mean of
  the patch tokens, LayerNorm eps 1e-6. Auto-Prox's supernet (its
  ``imagenet_super_acc`` column): 64 x heads, no relative position, no q/k/v bias.

Both keep a class token and a learned absolute position embedding. Activations
are ``nn.GELU`` modules so that activation-pattern proxies (nwot, swap, lswag)
see them. Linear weights are truncated-normal (std 0.02) with zero bias, LayerNorm
1/0, as both sources initialise them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .autoformer_encoding import Subnet

QKV_RULES = ("autoformer", "embed")
POOLS = ("mean", "cls")


@dataclass(frozen=True)
class ViTOptions:
    """How a subnet becomes a network (a task's space_options)."""

    image_size: int = 224
    patch_size: int = 16
    qkv: str = "autoformer"          # "autoformer": 64 x heads; "embed": embed_dim (Auto-Prox)
    qkv_bias: bool = True
    relative_position: bool = True
    max_relative_position: int = 14
    pool: str = "mean"               # "mean" of patch tokens (AutoFormer --gp, Auto-Prox) or "cls"
    layer_norm_eps: float = 1e-5
    in_channels: int = 3


def qkv_width(embed_dim: int, num_heads: int, rule: str) -> int:
    """Total q (= k = v) width of one attention layer under a qkv rule."""
    if rule == "autoformer":
        return 64 * num_heads
    if rule == "embed":
        if embed_dim % num_heads:
            raise ValueError(f"qkv=embed needs embed_dim divisible by num_heads, got {embed_dim}/{num_heads}")
        return embed_dim
    raise ValueError(f"qkv rule {rule!r}; valid: {', '.join(QKV_RULES)}")


class RelativePosition2D(nn.Module):
    """Learned 2-D relative-position embeddings (row + column tables), class token at index 0."""

    def __init__(self, head_dim: int, grid: int, max_distance: int):
        super().__init__()
        rows = 2 * max_distance + 2
        self.table_v = nn.Parameter(nn.init.trunc_normal_(torch.empty(rows, head_dim), std=0.02))
        self.table_h = nn.Parameter(nn.init.trunc_normal_(torch.empty(rows, head_dim), std=0.02))
        pos = torch.arange(grid * grid)
        dv = (pos[None, :] // grid - pos[:, None] // grid).clamp(-max_distance, max_distance) + max_distance + 1
        dh = (pos[None, :] % grid - pos[:, None] % grid).clamp(-max_distance, max_distance) + max_distance + 1
        pad = nn.functional.pad
        self.register_buffer("index_v", pad(dv, (1, 0, 1, 0)), persistent=False)
        self.register_buffer("index_h", pad(dh, (1, 0, 1, 0)), persistent=False)

    def forward(self) -> torch.Tensor:
        """(tokens, tokens, head_dim) embeddings of every query/key pair."""
        return self.table_v[self.index_v] + self.table_h[self.index_h]


class Attention(nn.Module):
    """Multi-head self-attention with a free q/k/v width and optional relative position."""

    def __init__(self, dim: int, heads: int, width: int, grid: int, options: ViTOptions):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * width, bias=options.qkv_bias)
        self.proj = nn.Linear(width, dim)
        self.rel_k = self.rel_v = None
        if options.relative_position:
            self.rel_k = RelativePosition2D(self.head_dim, grid, options.max_relative_position)
            self.rel_v = RelativePosition2D(self.head_dim, grid, options.max_relative_position)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn = q @ k.transpose(-2, -1)
        if self.rel_k is not None:
            attn = attn + torch.einsum("bhqd,qkd->bhqk", q, self.rel_k())
        attn = (attn * self.scale).softmax(dim=-1)
        out = attn @ v
        if self.rel_v is not None:
            out = out + torch.einsum("bhqk,qkd->bhqd", attn, self.rel_v())
        return self.proj(out.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), then x + fc2(GELU(fc1(LN(x))))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, grid: int, options: ViTOptions):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=options.layer_norm_eps)
        self.attn = Attention(dim, heads, qkv_width(dim, heads, options.qkv), grid, options)
        self.norm2 = nn.LayerNorm(dim, eps=options.layer_norm_eps)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class AutoFormerNet(nn.Module):
    """The subnet as a plain network (no supernet weight sharing)."""

    def __init__(self, subnet: Subnet, num_classes: int, options: ViTOptions):
        super().__init__()
        if options.image_size % options.patch_size:
            raise ValueError(f"image_size {options.image_size} is not a multiple of patch_size {options.patch_size}")
        if options.pool not in POOLS:
            raise ValueError(f"pool {options.pool!r}; valid: {', '.join(POOLS)}")
        grid = options.image_size // options.patch_size
        dim = subnet.embed_dim
        self.image_size, self.pool = options.image_size, options.pool
        self.patch_embed = nn.Conv2d(options.in_channels, dim, options.patch_size, stride=options.patch_size)
        self.cls_token = nn.Parameter(nn.init.trunc_normal_(torch.zeros(1, 1, dim), std=0.02))
        self.pos_embed = nn.Parameter(nn.init.trunc_normal_(torch.zeros(1, grid * grid + 1, dim), std=0.02))
        self.blocks = nn.Sequential(*[Block(dim, h, r, grid, options)
                                      for r, h in zip(subnet.mlp_ratio, subnet.num_heads)])
        self.norm = nn.LayerNorm(dim, eps=options.layer_norm_eps)
        self.head = nn.Linear(dim, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(f"network built for {self.image_size}x{self.image_size} inputs, "
                             f"got {tuple(x.shape[-2:])}")
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 1:].mean(dim=1) if self.pool == "mean" else x[:, 0])


def param_count(subnet: Subnet, num_classes: int, options: ViTOptions) -> int:
    """Parameters of AutoFormerNet(subnet, num_classes, options), counted without building it.

    Lets tests compare the network definition with the parameter counts that
    benchmark files record for thousands of subnets, in milliseconds.
    """
    dim, grid = subnet.embed_dim, options.image_size // options.patch_size
    total = options.in_channels * options.patch_size ** 2 * dim + dim  # patch embedding
    total += dim + (grid * grid + 1) * dim + 2 * dim + dim * num_classes + num_classes  # tokens, norm, head
    for ratio, heads in zip(subnet.mlp_ratio, subnet.num_heads):
        width, hidden = qkv_width(dim, heads, options.qkv), int(dim * ratio)
        total += 4 * dim  # two LayerNorms
        total += dim * 3 * width + (3 * width if options.qkv_bias else 0) + width * dim + dim
        total += dim * hidden + hidden + hidden * dim + dim
        if options.relative_position:
            total += 2 * 2 * (2 * options.max_relative_position + 2) * (width // heads)
    return total
