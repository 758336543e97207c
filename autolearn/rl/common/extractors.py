"""Features extractors: what turns an observation into the vector a policy's MLP reads.

Vector observations go to the MLP flattened. Image observations go through a small
convolutional network first (:class:`CnnExtractor`; by default the "Nature DQN" one of
Mnih et al. 2015: 32 8x8/4, 64 4x4/2, 64 3x3/1 convolutions, then 512 units), shared by
the policy and value heads (or the Q-head). What an agent's config selects:

* ``features_extractor="auto"`` (the default): the CNN for an image observation space,
  flattening otherwise;
* ``"flatten"``: always flatten (an image becomes ``H * W * C`` inputs);
* ``"cnn"``: the CNN for any 2-d or 3-d Box observation (float maps as well as images);
* ``"package.module:name"``: your own ``torch.nn.Module``, built by calling ``name(obs_shape,
  features_dim)`` (:func:`custom_extractor`).

A ``Dict`` / ``Tuple`` observation space with such components gets a
:class:`CombinedExtractor`: a CNN per image (``"cnn"``: per 2-d / 3-d Box) component, the
other components' encodings passed through, concatenated.

An image space (:func:`is_image_space`) is a ``uint8`` Box with bounds 0 and 255 and 2
dimensions (``H, W``: one channel) or 3 (``C, H, W`` or ``H, W, C``: the smallest
dimension is taken as the channels, as Stable-Baselines3 does). The CNN reads either layout
as the env gives it (no transposing wrapper) and, with ``normalize_images``, divides image
pixels by 255.

References:
    Mnih et al. Human-level control through deep reinforcement learning. Nature 2015.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from autolearn.exceptions import ConfigError

__all__ = [
    "EXTRACTORS",
    "CnnExtractor",
    "CombinedExtractor",
    "FeaturesConfig",
    "build_extractor",
    "custom_extractor",
    "image_layout",
    "is_image_space",
    "is_import_path",
]

#: The values of a config's ``features_extractor``.
EXTRACTORS = ("auto", "flatten", "cnn")


@dataclass(frozen=True)
class FeaturesConfig:
    """The features-extractor fields every agent's config has (its first fields).

    Attributes:
        features_extractor: ``"auto"`` (a CNN for image observations, else flatten),
            ``"flatten"``, ``"cnn"`` (a CNN for any 2-d / 3-d Box observation) or
            ``"package.module:name"`` (your own module; see :func:`custom_extractor`).
        cnn_channels, cnn_kernels, cnn_strides: the CNN's convolutions, one entry each
            (default: the Nature DQN's; at least 36x36 pixels for it).
        features_dim: units of the CNN's last (linear) layer, what the MLP ``hidden``
            layers (or the heads, with ``hidden=()``, as Stable-Baselines3's CnnPolicy)
            read.
        normalize_images: divide image pixels by 255 in the network.
    """

    features_extractor: str = "auto"
    cnn_channels: tuple[int, ...] = (32, 64, 64)
    cnn_kernels: tuple[int, ...] = (8, 4, 3)
    cnn_strides: tuple[int, ...] = (4, 2, 1)
    features_dim: int = 512
    normalize_images: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every agent config checks its flags and numbers' types before its own rules
        (whose comparisons would raise a bare TypeError on a string or None)."""
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__post_init__")
        if own is None:
            return

        def __post_init__(self: Any) -> None:
            check_field_types(self)
            own(self)

        cls.__post_init__ = __post_init__  # type: ignore[attr-defined]


def check_field_types(config: Any) -> None:
    """A :class:`ConfigError` naming the first field whose value has the wrong kind: a flag
    (a field whose default is ``True`` / ``False``) that is not a bool, or a number (a field
    whose default is an int or float) that is a bool, a string, another non-number or not
    finite (``None`` where the field's type allows it; schedules where they are allowed)."""
    from autolearn.rl.common.schedules import Constant, Linear

    for f in dataclasses.fields(config):
        value, default = getattr(config, f.name), f.default
        if isinstance(default, bool):
            if not isinstance(value, bool | np.bool_):
                raise ConfigError(f"`{f.name}` must be True or False, but got {value!r}")
        elif isinstance(default, int | float):
            if value is None and "None" in str(f.type):
                continue
            if isinstance(value, Constant | Linear) and "Schedule" in str(f.type):
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ConfigError(f"`{f.name}` must be a number, but got {value!r}")
            if not math.isfinite(value):  # (inf trained until the first update diverged)
                raise ConfigError(f"`{f.name}` must be finite, but got {value!r}")


def is_import_path(text: str) -> bool:
    """Whether ``text`` reads as ``"package.module:name"`` (a custom extractor's path)."""
    module, sep, name = text.partition(":")
    return bool(sep and module and name and all(
        part.isidentifier() for part in (*module.split("."), *name.split("."))))


def custom_extractor(path: str, obs_shape: Sequence[int], features_dim: int,
                     generator: torch.Generator) -> nn.Module:
    """Your own features extractor: ``path`` is ``"package.module:name"``, and
    ``name(obs_shape, features_dim)`` must return a ``torch.nn.Module`` mapping a float32
    batch ``(B, *obs_shape)`` to ``(B, F)`` features (``F`` its ``features_dim`` attribute
    if it has one, else found by a forward pass on zeros; it is set on the module).

    ``obs_shape`` is what the networks see: the env's Box shape (images as floats 0-255:
    the module scales them itself), or the encoded vector's ``(dim,)`` for other spaces.
    The module is built with torch's global RNG seeded from ``generator`` inside
    ``torch.random.fork_rng`` (so the agent's seed fixes its weights and the global RNG
    is left as it was); ``ortho_init`` does not touch it. Saved agents store ``path``:
    loading one imports it again.

    Raises:
        ConfigError: the import fails, ``name`` is not callable, or it returns something
            other than a module giving ``(B, F)`` features.
    """
    import importlib

    module_name, _, attr = path.partition(":")
    try:
        factory: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            factory = getattr(factory, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"`features_extractor` {path!r} cannot be imported ({exc}); it must "
                          "name an importable 'package.module:name'") from None
    if not callable(factory):
        raise ConfigError(f"`features_extractor` {path!r} must name a class or function, but "
                          f"it is {type(factory).__name__}")
    shape = tuple(int(s) for s in obs_shape)
    seed = int(torch.randint(2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        module = factory(shape, int(features_dim))
    if not isinstance(module, nn.Module):
        raise ConfigError(f"`features_extractor` {path!r} must return a torch.nn.Module, but "
                          f"returned {type(module).__name__}")
    with torch.no_grad():
        out = module(torch.zeros(2, *shape))
    if not (isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[0] == 2):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(f"`features_extractor` {path!r} must map a batch (B, *{shape}) to "
                          f"(B, features), but a batch of 2 gave {got}")
    declared = getattr(module, "features_dim", None)
    if declared is not None and int(declared) != out.shape[1]:
        raise ConfigError(f"`features_extractor` {path!r}: its features_dim is {declared} but "
                          f"it outputs {out.shape[1]} features")
    module.features_dim = int(out.shape[1])  # type: ignore[assignment]
    return module


def is_image_space(space: gym.Space[Any]) -> bool:
    """Whether ``space`` holds images: a ``uint8`` Box with bounds 0 and 255 and 2 or 3
    dimensions."""
    if not (isinstance(space, gym.spaces.Box) and len(space.shape) in (2, 3)):
        return False
    return bool(space.dtype == np.uint8 and np.all(space.low == 0)
                and np.all(space.high == 255))


def image_layout(shape: Sequence[int]) -> tuple[int, int, int, bool]:
    """``(channels, height, width, channels_first)`` of one 2-d or 3-d observation: a 2-d one
    is one channel; of a 3-d one the smallest dimension is the channels (the first one on a
    tie), which must be the first or the last.

    Raises:
        ConfigError: not 2-d or 3-d, or the smallest dimension is the middle one.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) == 2:
        return 1, shape[0], shape[1], True
    if len(shape) != 3:
        raise ConfigError(f"a CNN features extractor needs 2-d (H, W) or 3-d (C, H, W or H, W, "
                          f"C) observations, but got shape {shape}: use "
                          "features_extractor='flatten'")
    c = int(np.argmin(shape))
    if c == 1:
        raise ConfigError(f"cannot tell the channels of observations of shape {shape}: the "
                          "smallest dimension (taken as the channels) must be the first or "
                          "the last; reorder the env's observations (e.g. gymnasium's "
                          "TransformObservation) or use features_extractor='flatten'")
    if c == 0:
        return shape[0], shape[1], shape[2], True
    return shape[2], shape[0], shape[1], False


class CnnExtractor(nn.Module):
    """``(B, *obs_shape)`` observations -> ``(B, features_dim)`` features: convolutions with
    ReLUs, flattened, then one linear layer with a ReLU.

    Args:
        obs_shape: one observation's shape, as the env gives it (see :func:`image_layout`).
        channels, kernels, strides: one entry per convolution (no padding).
        features_dim: units of the final linear layer.
        scale: what observations are multiplied by first (``1/255`` for images).
        generator: draws the initial weights (orthogonal, gain sqrt(2), zero biases).

    Raises:
        ConfigError: the lists differ in length or the image is too small for the
            convolutions.
    """

    def __init__(self, obs_shape: Sequence[int], *, channels: Sequence[int] = (32, 64, 64),
                 kernels: Sequence[int] = (8, 4, 3), strides: Sequence[int] = (4, 2, 1),
                 features_dim: int = 512, scale: float = 1.0,
                 generator: torch.Generator) -> None:
        super().__init__()
        if not len(channels) == len(kernels) == len(strides) >= 1:
            raise ConfigError(f"`cnn_channels`, `cnn_kernels` and `cnn_strides` must have one "
                              f"entry per convolution (the same length, >= 1), but got "
                              f"{list(channels)}, {list(kernels)} and {list(strides)}")
        self.obs_shape = tuple(int(s) for s in obs_shape)
        c, h, w, self.channels_first = image_layout(self.obs_shape)
        self.scale = float(scale)
        sizes = [(h, w)]
        for k, s in zip(kernels, strides, strict=True):
            h, w = (h - k) // s + 1, (w - k) // s + 1
            if h < 1 or w < 1:
                raise ConfigError(
                    f"observations of shape {self.obs_shape} ({sizes[0][0]}x{sizes[0][1]} "
                    f"pixels) are too small for the convolutions (cnn_kernels={list(kernels)}, "
                    f"cnn_strides={list(strides)}): after {len(sizes) - 1} of them "
                    f"{sizes[-1][0]}x{sizes[-1][1]} pixels remain, fewer than a {k}x{k} "
                    "kernel needs; set smaller cnn_kernels / cnn_strides")
            sizes.append((h, w))
        with torch.random.fork_rng(devices=[]):  # default inits draw from the global RNG
            convs = []
            for c_out, k, s in zip(channels, kernels, strides, strict=True):
                convs.append(nn.Conv2d(c, int(c_out), int(k), int(s)))
                c = int(c_out)
            self.convs = nn.ModuleList(convs)
            self.linear = nn.Linear(c * h * w, int(features_dim))
        self.features_dim = int(features_dim)
        gain = math.sqrt(2)
        with torch.no_grad():
            for m in [*self.convs, self.linear]:
                nn.init.orthogonal_(m.weight, gain=gain, generator=generator)
                m.bias.zero_()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.to(torch.float32) if obs.dtype != torch.float64 else obs
        if len(self.obs_shape) == 2:
            x = x.unsqueeze(1)
        elif not self.channels_first:
            x = x.permute(0, 3, 1, 2)
        if self.scale != 1.0:
            x = x * self.scale
        for conv in self.convs:
            x = F.relu(conv(x))
        return F.relu(self.linear(x.flatten(1)))


def _leaves(encoding: Any, offset: int = 0) -> Iterator[tuple[int, Any]]:
    """``(offset in the encoded vector, leaf encoding)`` of every non-Dict / non-Tuple
    component of ``encoding``, nested ones walked, in the vector's order."""
    if encoding.kind not in ("dict", "tuple"):
        yield offset, encoding
        return
    for part, size in zip(encoding.parts, encoding.sizes, strict=True):
        yield from _leaves(part, offset)
        offset += int(size)


def _wants_cnn(leaf: Any, cnn_for: str) -> bool:
    """Whether :class:`CombinedExtractor` gives ``leaf`` a CNN: an image ``box``
    (``cnn_for="image"``) or any 2-d / 3-d ``box`` (``"maps"``)."""
    if leaf.kind != "box":
        return False
    return bool(leaf.image) if cnn_for == "image" else len(leaf.raw_shape) in (2, 3)


def _cnn(config: Any, shape: Sequence[int], image: bool,
         generator: torch.Generator) -> CnnExtractor:
    """The :class:`CnnExtractor` the config's CNN fields describe for observations of
    ``shape`` (pixels / 255 for ``image`` ones with ``normalize_images``)."""
    return CnnExtractor(shape, channels=config.cnn_channels, kernels=config.cnn_kernels,
                        strides=config.cnn_strides, features_dim=config.features_dim,
                        scale=1 / 255 if image and config.normalize_images else 1.0,
                        generator=generator)


class CombinedExtractor(nn.Module):
    """Features of a ``Dict`` / ``Tuple`` observation with image components: a CNN per image
    component, the other components' encodings as they are, concatenated (SB3's
    ``CombinedExtractor`` for ``MultiInputPolicy``).

    It reads the encoded observation vector (:class:`~autolearn.rl.common.env.ObsEncoding`:
    the components' encodings side by side, a ``Box`` component flattened in C order) and
    reshapes each image component's slice back into its image.

    Args:
        encoding: the observation space's ``ObsEncoding`` (kind ``"dict"`` or ``"tuple"``).
        cnn_for: which ``box`` components get a CNN: ``"image"`` (image spaces) or
            ``"maps"`` (every 2-d / 3-d ``Box``).
        config: the agent's config (its :class:`FeaturesConfig` fields build each CNN).
        generator: draws the CNNs' initial weights, in the components' order.
    """

    def __init__(self, encoding: Any, cnn_for: str, config: Any,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.cnns = nn.ModuleList()
        self._cnn_slices: list[tuple[int, int, tuple[int, ...]]] = []
        rest: list[int] = []
        for offset, leaf in _leaves(encoding):
            size = int(sum(leaf.sizes))
            if _wants_cnn(leaf, cnn_for):
                self.cnns.append(_cnn(config, leaf.raw_shape, leaf.image, generator))
                self._cnn_slices.append((offset, offset + size, tuple(leaf.raw_shape)))
            else:
                rest.extend(range(offset, offset + size))
        self.rest: torch.Tensor
        self.register_buffer("rest", torch.tensor(rest, dtype=torch.long))
        self.features_dim = len(self.cnns) * int(config.features_dim) + len(rest)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.flatten(1)
        outs = [cnn(x[:, a:b].reshape(x.shape[0], *shape))
                for cnn, (a, b, shape) in zip(self.cnns, self._cnn_slices, strict=True)]
        if self.rest.numel():
            outs.append(x.index_select(1, self.rest))
        return torch.cat(outs, dim=1)


def build_extractor(config: Any, spec: Any, generator: torch.Generator) -> nn.Module | None:
    """The features extractor ``config.features_extractor`` selects for the observations
    ``spec`` (a :class:`~autolearn.rl.common.env.SpaceSpec`) describes, or ``None``
    (flatten): a :class:`CnnExtractor` for a 2-d / 3-d Box, a :class:`CombinedExtractor`
    for a ``Dict`` / ``Tuple`` with such components."""
    kind = getattr(config, "features_extractor", "flatten")
    if kind == "flatten":
        return None
    if kind not in EXTRACTORS:
        return custom_extractor(kind, spec.obs_shape, config.features_dim, generator)
    enc = spec.encoding
    if enc is not None and enc.kind in ("dict", "tuple"):
        cnn_for = "image" if kind == "auto" else "maps"
        if not any(_wants_cnn(leaf, cnn_for) for _, leaf in _leaves(enc)):
            if kind == "cnn":
                raise ConfigError("features_extractor='cnn' needs a 2-d or 3-d Box "
                                  "observation (or component), but this Dict / Tuple space "
                                  "has none: use features_extractor='flatten'")
            return None
        return CombinedExtractor(enc, cnn_for, config, generator)
    if kind == "auto" and not spec.image:
        return None
    return _cnn(config, spec.obs_shape, spec.image, generator)
