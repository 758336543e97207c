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

import torch
from torch import nn
from torch.nn import functional as F

from autolearn.rl.common.policies import _ACTIVATION_FNS, _mlp, orthogonal_init

__all__ = ["QNetwork", "masked_q"]


class QNetwork(nn.Module):
    """``(B, obs_dim) -> (B, n_actions)`` action values.

    Args:
        obs_dim: size of the flattened observation.
        n_actions: number of discrete actions.
        hidden: hidden layer sizes, e.g. ``(64, 64)``; ``()`` for a linear Q-function.
        dueling: use the dueling value/advantage head.
        activation: ``"relu"`` (the papers') or ``"tanh"``.
        generator: draws the initial weights.
    """

    def __init__(self, obs_dim: int, n_actions: int, *, hidden: Sequence[int] = (64, 64),
                 dueling: bool = False, activation: str = "relu",
                 generator: torch.Generator) -> None:
        super().__init__()
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
        if self.value_head is not None:
            orthogonal_init(self.value_head, 1.0, generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = obs.flatten(1)
        for layer in self._linears:
            h = self._act(F.linear(h, layer.weight, layer.bias))
        out = F.linear(h, self.head.weight, self.head.bias)
        if self.value_head is None:
            return out
        value = F.linear(h, self.value_head.weight, self.value_head.bias)
        return value + out - out.mean(dim=-1, keepdim=True)


def masked_q(q: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``q`` with disallowed actions set to ``-inf`` (so ``max``/``argmax`` skip them).

    A row with no allowed action (a terminal observation) is left unmasked.
    """
    if mask is None:
        return q
    mask = mask | ~mask.any(dim=-1, keepdim=True)
    return q.masked_fill(~mask, float("-inf"))
