"""AutoFormer subnet encodings: the choices of each space, parsing, validation, sampling.

A subnet is one embed_dim, one depth, and one mlp_ratio and one num_heads per
layer. Its canonical string spells the four out, for example::

    embed_dim=192;depth=12;mlp_ratio=3.5,4.0,...;num_heads=3,4,...

Accepted as well (how ground-truth files write a subnet): a Python/JSON dict
with keys ``embed_dim`` (or Auto-Prox's ``hidden_dim``; an int or OoD-ViT-NAS's
per-layer list of one repeated value), ``depth`` (or ``layer_num``),
``mlp_ratio`` and ``num_heads`` (lists, one entry per layer).
"""
from __future__ import annotations

import ast
import json
import random
from dataclasses import dataclass

from ..errors import InvalidArchError


@dataclass(frozen=True)
class AutoFormerChoices:
    """The values a space allows (Cream/AutoFormer supernet configs, docs/method.md#vision-transformers)."""

    embed_dims: tuple[int, ...]
    depths: tuple[int, ...]
    mlp_ratios: tuple[float, ...]
    num_heads: tuple[int, ...]


@dataclass(frozen=True)
class Subnet:
    """One AutoFormer subnet."""

    embed_dim: int
    depth: int
    mlp_ratio: tuple[float, ...]
    num_heads: tuple[int, ...]

    def to_string(self) -> str:
        """The canonical string (see module doc)."""
        return (f"embed_dim={self.embed_dim};depth={self.depth};"
                f"mlp_ratio={','.join(_ratio_text(r) for r in self.mlp_ratio)};"
                f"num_heads={','.join(str(h) for h in self.num_heads)}")

    def as_dict(self) -> dict:
        return {"embed_dim": self.embed_dim, "depth": self.depth,
                "mlp_ratio": list(self.mlp_ratio), "num_heads": list(self.num_heads)}


_KEY_ALIASES = {"embed_dim": "embed_dim", "hidden_dim": "embed_dim", "depth": "depth",
                "layer_num": "depth", "mlp_ratio": "mlp_ratio", "num_heads": "num_heads"}
_FIELDS = ("embed_dim", "depth", "mlp_ratio", "num_heads")


def _ratio_text(r: float) -> str:
    return repr(float(r))


def _number(value, what: str, text: str, space: str, integer: bool) -> float | int:
    if isinstance(value, bool):
        raise _err(space, text, f"{what} {value!r} is not a number")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise _err(space, text, f"{what} {value!r} is not a number") from None
    if not isinstance(value, (int, float)):
        raise _err(space, text, f"{what} {value!r} is not a number")
    if integer:
        if float(value) != int(value):
            raise _err(space, text, f"{what} {value!r} is not an integer")
        return int(value)
    return float(value)


def _err(space: str, text: str, problem: str) -> InvalidArchError:
    return InvalidArchError(f"invalid {space} architecture {text!r}: {problem}")


def _fields_from_string(text: str, space: str) -> dict:
    """{field: raw value} of 'embed_dim=..;depth=..;mlp_ratio=..;num_heads=..'."""
    out: dict = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _KEY_ALIASES:
            raise _err(space, text, f"part {part!r} is not 'field=value' with field one of "
                                    f"{', '.join(_FIELDS)}")
        items = [v.strip() for v in value.split(",") if v.strip()]
        out[_KEY_ALIASES[key]] = items if key in ("mlp_ratio", "num_heads") else value.strip()
    return out


def _fields_from_literal(text: str, space: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise _err(space, text, "not a valid dict literal") from None
    if not isinstance(value, dict):
        raise _err(space, text, f"expected a dict with keys {', '.join(_FIELDS)}")
    out: dict = {}
    for key, v in value.items():
        if key not in _KEY_ALIASES:
            raise _err(space, text, f"unknown key {key!r}; valid keys: {', '.join(sorted(_KEY_ALIASES))}")
        out[_KEY_ALIASES[key]] = v
    return out


def parse_subnet(text: str, choices: AutoFormerChoices, space: str) -> Subnet:
    """Validate any accepted encoding against `choices`; InvalidArchError says what is wrong."""
    if not isinstance(text, str):
        raise InvalidArchError(f"{space} architecture must be a string, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise _err(space, text, "empty string")
    raw = _fields_from_literal(s, space) if s[0] == "{" else _fields_from_string(s, space)
    missing = [f for f in _FIELDS if f not in raw]
    if missing:
        raise _err(space, text, f"missing field(s) {', '.join(missing)}")
    embed = raw["embed_dim"]
    if isinstance(embed, (list, tuple)):  # OoD-ViT-NAS writes one embed_dim per layer
        if len(set(embed)) != 1:
            raise _err(space, text, f"embed_dim must be the same in every layer, got {list(embed)}")
        embed = embed[0]
    embed = _number(embed, "embed_dim", text, space, integer=True)
    depth = _number(raw["depth"], "depth", text, space, integer=True)
    ratios = [_number(r, "mlp_ratio", text, space, integer=False) for r in _as_list(raw["mlp_ratio"], text, space)]
    heads = [_number(h, "num_heads", text, space, integer=True) for h in _as_list(raw["num_heads"], text, space)]
    subnet = Subnet(embed, depth, tuple(ratios), tuple(heads))
    check_subnet(subnet, choices, space, text)
    return subnet


def _as_list(value, text: str, space: str) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _err(space, text, f"expected a list with one value per layer, got {value!r}")


def check_subnet(subnet: Subnet, choices: AutoFormerChoices, space: str, text: str = "") -> None:
    """Raise InvalidArchError naming the first value outside the space's choices."""
    text = text or subnet.to_string()
    if subnet.embed_dim not in choices.embed_dims:
        raise _err(space, text, f"embed_dim {subnet.embed_dim} is not in the space; valid: "
                                f"{', '.join(map(str, choices.embed_dims))}")
    if subnet.depth not in choices.depths:
        raise _err(space, text, f"depth {subnet.depth} is not in the space; valid: "
                                f"{', '.join(map(str, choices.depths))}")
    for name, values in (("mlp_ratio", subnet.mlp_ratio), ("num_heads", subnet.num_heads)):
        if len(values) != subnet.depth:
            raise _err(space, text, f"{name} has {len(values)} entries but depth is {subnet.depth} "
                                    f"(one entry per layer)")
    for i, r in enumerate(subnet.mlp_ratio):
        if r not in choices.mlp_ratios:
            raise _err(space, text, f"mlp_ratio {r:g} of layer {i} is not in the space; valid: "
                                    f"{', '.join(_ratio_text(c) for c in choices.mlp_ratios)}")
    for i, h in enumerate(subnet.num_heads):
        if h not in choices.num_heads:
            raise _err(space, text, f"num_heads {h} of layer {i} is not in the space; valid: "
                                    f"{', '.join(map(str, choices.num_heads))}")


def sample_subnet(choices: AutoFormerChoices, rng: random.Random) -> Subnet:
    """Uniform draw: embed_dim and depth once, then mlp_ratio and num_heads per layer."""
    embed = rng.choice(choices.embed_dims)
    depth = rng.choice(choices.depths)
    ratios = tuple(rng.choice(choices.mlp_ratios) for _ in range(depth))
    heads = tuple(rng.choice(choices.num_heads) for _ in range(depth))
    return Subnet(embed, depth, ratios, heads)
