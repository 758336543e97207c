"""Q-networks for value-based agents: an MLP ``Q(s, .)`` with an optional dueling head.

The dueling head (Wang et al. 2016) splits the last hidden layer into a state value
``V(s)`` and advantages ``A(s, a)`` and recombines them as
``Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')`` (the paper's identifiable form, eq. 9).
Weights are drawn orthogonally from an explicit ``torch.Generator`` (hidden layers gain
sqrt(2), heads gain 1), so the seed alone fixes the network.

References:
    Mnih et al. Human-level control through deep reinforcement learning. Nature 2015.
    Wang, Schaul, Hessel, van Hasselt, Lanctot, de Freitas. Dueling Network Architectures
    for Deep Reinforcement Learning. ICML 2016.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from autolearn.rl.common.npforward import ParamViews, activation_
from autolearn.rl.common.policies import _ACTIVATION_FNS, _mlp, orthogonal_init

__all__ = ["QNetwork", "masked_q"]


class QNetwork(nn.Module):
    """``(B, *obs_shape) -> (B, n_actions)`` action values.

    Args:
        obs_dim: size of the flattened observation.
        n_actions: number of discrete actions.
        hidden: hidden layer sizes, e.g. ``(64, 64)``; ``()`` for a linear Q-function.
        dueling: use the dueling value/advantage head.
        activation: ``"relu"`` (the papers') or ``"tanh"``.
        generator: draws the initial weights.
        features: a features extractor (e.g. a
            :class:`~autolearn.rl.common.extractors.CnnExtractor`) the MLP reads instead of
            the flattened observations (``obs_dim`` unused); :meth:`q_numpy` then runs the
            torch forward.
    """

    def __init__(self, obs_dim: int, n_actions: int, *, hidden: Sequence[int] = (64, 64),
                 dueling: bool = False, activation: str = "relu",
                 generator: torch.Generator, features: nn.Module | None = None) -> None:
        super().__init__()
        self.features = features
        if features is not None:
            obs_dim = int(features.features_dim)  # type: ignore[arg-type]
        self.dueling = dueling
        width = hidden[-1] if hidden else obs_dim
        with torch.random.fork_rng(devices=[]):  # default inits draw from the global RNG
            self.trunk = _mlp([obs_dim, *hidden], activation)
            self.head = nn.Linear(width, n_actions)
            self.value_head = nn.Linear(width, 1) if dueling else None
        orthogonal_init(self.trunk, math.sqrt(2), generator)
        orthogonal_init(self.head, 1.0, generator)
        # the trunk's layers called as functions: this runs several times per update
        self._linears = [m for m in self.trunk if isinstance(m, nn.Linear)]
        self._act = _ACTIVATION_FNS[activation]
        self._activation = activation
        if self.value_head is not None:
            orthogonal_init(self.value_head, 1.0, generator)
        layers = [*self._linears, self.head]
        if self.value_head is not None:
            layers.append(self.value_head)
        self._views = ParamViews([t for m in layers for t in (m.weight, m.bias)])

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.features(obs) if self.features is not None else obs.flatten(1)
        if not h.is_floating_point():  # uint8 images from the replay buffer, flattened
            h = h.float()
        for layer in self._linears:
            h = self._act(F.linear(h, layer.weight, layer.bias))
        out = F.linear(h, self.head.weight, self.head.bias)
        if self.value_head is None:
            return out
        value = F.linear(h, self.value_head.weight, self.value_head.bias)
        return value + out - out.mean(dim=-1, keepdim=True)

    def q_numpy(self, obs: np.ndarray) -> np.ndarray:
        """``(B, n_actions)`` float32 values as :meth:`forward`, evaluated in numpy on
        views of the (CPU) weights: the acting path's forward, no gradients (with a features
        extractor, the torch forward)."""
        if self.features is not None:
            with torch.inference_mode():
                return self(torch.as_tensor(obs)).numpy()
        w = self._views.get()
        h = obs.reshape(obs.shape[0], -1)
        for i in range(len(self._linears)):
            h = activation_(h @ w[2 * i].T + w[2 * i + 1], self._activation)
        j = 2 * len(self._linears)
        out = h @ w[j].T + w[j + 1]
        if self.value_head is None:
            return out
        value = h @ w[j + 2].T + w[j + 3]
        return value + out - out.mean(axis=-1, keepdims=True)


def masked_q(q: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``q`` with disallowed actions set to ``-inf`` (so ``max``/``argmax`` skip them).

    A row with no allowed action (a terminal observation) is left unmasked.
    """
    if mask is None:
        return q
    mask = mask | ~mask.any(dim=-1, keepdim=True)
    return q.masked_fill(~mask, float("-inf"))
