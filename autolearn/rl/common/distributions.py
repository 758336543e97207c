"""Action distributions: masked categorical and diagonal Gaussian.

Lighter than ``torch.distributions`` (no argument validation, no broadcasting machinery)
because they sit on the acting path, and they sample from an explicit ``torch.Generator``
so that a seed fixes every action.
"""

from __future__ import annotations

import math

import torch

__all__ = ["DiagGaussian", "MaskedCategorical"]

_LOG_2PI = math.log(2.0 * math.pi)


class MaskedCategorical:
    """Categorical over the last axis of ``logits`` with invalid choices masked out.

    Args:
        logits: ``(..., K)`` unnormalised log-probabilities.
        mask: optional ``(..., K)`` bool, ``True`` where the choice is allowed. Masked
            choices get probability exactly 0, so they are never sampled and contribute
            nothing to the entropy. Every row needs at least one allowed choice.
    """

    def __init__(self, logits: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        if mask is not None:
            logits = logits.masked_fill(~mask, float("-inf"))
        self.mask = mask
        self.log_probs_all = torch.log_softmax(logits, dim=-1)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(...)`` int64 choices by the Gumbel-max trick: ``argmax(log p + Gumbel noise)``.

        Masked choices have ``log p = -inf`` and can never win the argmax.
        """
        u = torch.rand(self.log_probs_all.shape, generator=generator,
                       dtype=self.log_probs_all.dtype)
        if u.device != self.log_probs_all.device:  # CPU generator, accelerator network
            u = u.to(self.log_probs_all.device)
        idx = (self.log_probs_all - (-u.log()).log()).argmax(-1)
        if self.mask is not None:  # u == 0 on every allowed choice (p ~ 2^-24k): use the mode
            bad = ~self.mask.gather(-1, idx.unsqueeze(-1)).squeeze(-1)
            if bool(bad.any()):
                idx = torch.where(bad, self.mode(), idx)
        return idx

    def mode(self) -> torch.Tensor:
        return self.log_probs_all.argmax(-1)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.log_probs_all.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> torch.Tensor:
        p = self.log_probs_all.exp()
        # 0 * -inf is nan for masked choices; they contribute 0.
        return -(p * self.log_probs_all.clamp(min=torch.finfo(p.dtype).min)).sum(-1)


class DiagGaussian:
    """Independent Gaussians per action dimension, ``N(mean, exp(log_std)^2)``.

    Args:
        mean: ``(B, D)``.
        log_std: ``(D,)`` state-independent log standard deviation (a parameter).
    """

    def __init__(self, mean: torch.Tensor, log_std: torch.Tensor) -> None:
        self.mean = mean
        self.log_std = log_std.expand_as(mean)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype)
        if noise.device != self.mean.device:  # CPU generator, accelerator network
            noise = noise.to(self.mean.device)
        return self.mean + noise * self.log_std.exp()

    def mode(self) -> torch.Tensor:
        return self.mean

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        z = (actions - self.mean) * torch.exp(-self.log_std)
        return (-0.5 * z.pow(2) - self.log_std - 0.5 * _LOG_2PI).sum(-1)

    def entropy(self) -> torch.Tensor:
        return (self.log_std + 0.5 * (1.0 + _LOG_2PI)).sum(-1)
