"""Action distributions: masked categorical, independent categoricals (``MultiDiscrete``
actions), diagonal Gaussian and gSDE's state-dependent Gaussian.

Lighter than ``torch.distributions`` (no argument validation, no broadcasting machinery)
because they sit on the acting path, and they sample from an explicit ``torch.Generator``
so that a seed fixes every action.
"""

from __future__ import annotations

import math

import torch

__all__ = ["DiagGaussian", "MaskedCategorical", "MultiCategorical", "StateDependentGaussian",
           "sde_std"]

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
        if self.mask is None:
            return -(p * self.log_probs_all).sum(-1)
        # 0 * -inf is nan for masked choices; they contribute 0.
        return -(p * self.log_probs_all.clamp(min=torch.finfo(p.dtype).min)).sum(-1)


class MultiCategorical:
    """Independent categoricals, one per action component (``MultiDiscrete`` actions, and
    ``MultiBinary`` ones as two-way choices), as SB3's ``MultiCategoricalDistribution``.

    Args:
        logits: ``(B, sum(nvec))``: component ``j``'s ``nvec[j]`` logits side by side.
        nvec: choices per component.
        mask: optional ``(B, sum(nvec))`` bool, laid out as ``logits``: the allowed choices
            of each component (at least one per component and row), as SB3-contrib's
            MaskablePPO takes them.

    Actions are ``(B, len(nvec))`` int64 indices (``0 .. nvec[j] - 1``); log-probabilities
    and entropies are sums over the components.
    """

    def __init__(self, logits: torch.Tensor, nvec: tuple[int, ...],
                 mask: torch.Tensor | None = None) -> None:
        sizes = list(nvec)
        masks = ([None] * len(sizes) if mask is None
                 else list(torch.split(mask, sizes, dim=-1)))
        self.parts = [MaskedCategorical(x, m)
                      for x, m in zip(torch.split(logits, sizes, dim=-1), masks, strict=True)]

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.stack([d.sample(generator) for d in self.parts], dim=-1)

    def mode(self) -> torch.Tensor:
        return torch.stack([d.mode() for d in self.parts], dim=-1)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return torch.stack([d.log_prob(actions[..., j]) for j, d in enumerate(self.parts)],
                           dim=-1).sum(-1)

    def entropy(self) -> torch.Tensor:
        return torch.stack([d.entropy() for d in self.parts], dim=-1).sum(-1)


def _diag_gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor,
                            actions: torch.Tensor) -> torch.Tensor:
    """Log-density of independent Gaussians, summed over the last (action) dimension."""
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - 0.5 * _LOG_2PI).sum(-1)


def _diag_gaussian_entropy(log_std: torch.Tensor) -> torch.Tensor:
    return (log_std + 0.5 * (1.0 + _LOG_2PI)).sum(-1)


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
        return _diag_gaussian_log_prob(self.mean, self.log_std, actions)

    def entropy(self) -> torch.Tensor:
        return _diag_gaussian_entropy(self.log_std)


def sde_std(log_std: torch.Tensor, action_dim: int, *, use_expln: bool = False) -> torch.Tensor:
    """``(F, D)`` standard deviations of gSDE's noise matrix from its learned ``log_std``.

    Args:
        log_std: ``(F, D)`` (``full_std``: one per feature and action) or ``(F, 1)`` (one
            per feature, shared by the action dimensions).
        action_dim: ``D``.
        use_expln: ``exp(x)`` for ``x <= 0`` and ``log1p(x) + 1`` above, instead of
            ``exp(x)``: grows only logarithmically, so the std cannot run away.
    """
    if use_expln:
        above = log_std > 0
        std = torch.where(above, torch.log1p(log_std.clamp(min=0)) + 1.0,
                          torch.exp(log_std.clamp(max=0)))
    else:
        std = log_std.exp()
    return std.expand(log_std.shape[0], action_dim)


class StateDependentGaussian:
    """The action distribution of generalized state-dependent exploration (gSDE).

    An action is ``mean(s) + z(s) @ W`` with features ``z(s)`` (the policy's last hidden
    layer, detached) and a noise matrix ``W ~ N(0, std^2)`` elementwise, drawn once per
    env and kept for several steps. Given ``s``, the action is therefore Gaussian with
    independent dimensions and the state-dependent variance
    ``var_j(s) = sum_i z_i(s)^2 std_ij^2`` — the density used for log-probabilities and
    the entropy (plus ``eps`` for a positive variance when ``z = 0``).

    Args:
        mean: ``(B, D)``.
        features: ``(B, F)`` the latent features ``z(s)``, already detached by the caller.
        std: ``(F, D)`` from :func:`sde_std`.
        eps: added to the variance.
    """

    def __init__(self, mean: torch.Tensor, features: torch.Tensor, std: torch.Tensor,
                 eps: float = 1e-6) -> None:
        self.mean = mean
        self.features = features
        self.log_std = 0.5 * torch.log(features.pow(2) @ std.pow(2) + eps)

    def noise(self, matrices: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` exploration noise ``z(s) @ W``; ``matrices``: ``(B, F, D)``, one per row,
        or ``(1, F, D)`` shared by all rows."""
        if matrices.shape[0] == 1:
            return self.features @ matrices[0]
        return torch.bmm(self.features.unsqueeze(1), matrices).squeeze(1)

    def sample(self, matrices: torch.Tensor) -> torch.Tensor:
        return self.mean + self.noise(matrices)

    def mode(self) -> torch.Tensor:
        return self.mean

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return _diag_gaussian_log_prob(self.mean, self.log_std, actions)

    def entropy(self) -> torch.Tensor:
        return _diag_gaussian_entropy(self.log_std)
