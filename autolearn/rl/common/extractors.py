"""Features extractors: what turns an observation into the vector a policy's MLP reads.

Vector observations go to the MLP flattened. Image observations go through a small
convolutional network first (:class:`CnnExtractor`; by default the "Nature DQN" one of
Mnih et al. 2015: 32 8x8/4, 64 4x4/2, 64 3x3/1 convolutions, then 512 units), shared by
the policy and value heads (or the Q-head). What an agent's config selects:

* ``features_extractor="auto"`` (the default): the CNN for an image observation space,
  flattening otherwise;
* ``"flatten"``: always flatten (an image becomes ``H * W * C`` inputs);
* ``"cnn"``: the CNN for any 2-d or 3-d Box observation (float maps as well as images).

An image space (:func:`is_image_space`) is a ``uint8`` Box with bounds 0 and 255 and 2
dimensions (``H, W``: one channel) or 3 (``C, H, W`` or ``H, W, C``: the smallest
dimension is taken as the channels, as Stable-Baselines3 does). The CNN reads either layout
as the env gives it (no transposing wrapper) and, with ``normalize_images``, divides image
pixels by 255.

References:
    Mnih et al. Human-level control through deep reinforcement learning. Nature 2015.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
    "FeaturesConfig",
    "build_extractor",
    "check_features",
    "image_layout",
    "is_image_space",
]

#: The values of a config's ``features_extractor``.
EXTRACTORS = ("auto", "flatten", "cnn")


@dataclass(frozen=True)
class FeaturesConfig:
    """The features-extractor fields every agent's config has (its first fields).

    Attributes:
        features_extractor: ``"auto"`` (a CNN for image observations, else flatten),
            ``"flatten"`` or ``"cnn"`` (a CNN for any 2-d / 3-d Box observation).
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


def check_features(config: Any) -> None:
    """Validate (and normalise lists to tuples in) ``config``'s :class:`FeaturesConfig`
    fields; raises ``ConfigError`` naming the field."""
    def fail(name: str, rule: str) -> None:
        raise ConfigError(f"`{name}` must {rule}, but got {name}={getattr(config, name)!r}")

    def positive_int(v: Any) -> bool:
        return bool(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1)

    if config.features_extractor not in EXTRACTORS:
        fail("features_extractor", "be 'auto', 'flatten' or 'cnn'")
    for name in ("cnn_channels", "cnn_kernels", "cnn_strides"):
        v = getattr(config, name)
        if not (isinstance(v, tuple | list) and len(v) >= 1 and all(map(positive_int, v))):
            fail(name, "be a non-empty tuple of positive ints (one per convolution)")
        object.__setattr__(config, name, tuple(int(x) for x in v))
    if not len(config.cnn_channels) == len(config.cnn_kernels) == len(config.cnn_strides):
        raise ConfigError(f"`cnn_channels`, `cnn_kernels` and `cnn_strides` must have one entry "
                          f"per convolution (the same length), but got cnn_channels="
                          f"{list(config.cnn_channels)}, cnn_kernels={list(config.cnn_kernels)},"
                          f" cnn_strides={list(config.cnn_strides)}")
    if not positive_int(config.features_dim):
        fail("features_dim", "be an int >= 1")
    if not isinstance(config.normalize_images, bool):
        fail("normalize_images", "be True or False")


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


def build_extractor(config: Any, obs_shape: Sequence[int], image: bool,
                    generator: torch.Generator) -> CnnExtractor | None:
    """The features extractor ``config.features_extractor`` selects for observations of
    ``obs_shape`` (``image``: the env's space is an image one), or ``None`` (flatten)."""
    kind = getattr(config, "features_extractor", "flatten")
    if kind == "flatten" or (kind == "auto" and not image):
        return None
    return CnnExtractor(obs_shape, channels=config.cnn_channels, kernels=config.cnn_kernels,
                        strides=config.cnn_strides, features_dim=config.features_dim,
                        scale=1 / 255 if image and config.normalize_images else 1.0,
                        generator=generator)
