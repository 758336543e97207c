"""Policies: an MLP actor-critic and an autoregressive LSTM controller.

Both initialise every weight orthogonally from an explicit ``torch.Generator`` (hidden
layers gain sqrt(2), policy head 0.01, value head 1 — the PPO/A2C implementation details
of Engstrom et al. 2020 and Huang et al. 2022), so the seed alone fixes the network.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from autolearn.rl.common.distributions import (
    DiagGaussian,
    MaskedCategorical,
    MultiCategorical,
    StateDependentGaussian,
    sde_std,
)
from autolearn.rl.common.extractors import CnnExtractor, CombinedExtractor
from autolearn.rl.common.npforward import (
    ParamViews,
    activation_,
    categorical_sample,
    gaussian_log_prob,
    log_softmax,
)

__all__ = [
    "ActorCritic",
    "AutoregressivePolicy",
    "SequenceSample",
    "SplitMLP",
    "TwinMLP",
    "orthogonal_init",
]

_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}
_ACTIVATION_FNS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "relu": torch.relu}


def orthogonal_init(module: nn.Module, gain: float, generator: torch.Generator) -> None:
    """Orthogonal weights with ``gain`` and zero biases for every Linear/LSTM in ``module``."""
    for name, p in module.named_parameters():
        if p.dim() >= 2:
            nn.init.orthogonal_(p.data, gain=gain, generator=generator)
        elif "bias" in name:
            nn.init.zeros_(p.data)


def _default_init(modules: Sequence[nn.Module], generator: torch.Generator) -> None:
    """torch's default ``nn.Linear`` initialisation, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
    for weights and biases alike, drawn from ``generator``: for every ``nn.Linear`` and
    ``nn.Conv2d`` (``fan_in = in_channels * kernel area``) and for
    :class:`TwinMLP`'s ``(2, in, out)`` layers (``fan_in = in``)."""
    with torch.no_grad():
        for module in modules:
            for m in module.modules():
                if isinstance(m, nn.Linear | nn.Conv2d):
                    fan_in = m.weight[0].numel()
                    pairs = [(m.weight, fan_in)]
                    if m.bias is not None:
                        pairs.append((m.bias, fan_in))
                elif isinstance(m, TwinMLP):
                    pairs = [(w, w.shape[1]) for w in m.weights]
                    pairs += [(b, w.shape[1]) for w, b in zip(m.weights, m.biases, strict=True)]
                else:
                    continue
                for p, fan_in in pairs:
                    bound = 1.0 / math.sqrt(fan_in)
                    p.uniform_(-bound, bound, generator=generator)


def _mlp(sizes: Sequence[int], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), _ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


class TwinMLP(nn.Module):
    """Two MLPs of the same layer sizes (the policy and value trunks) run as one.

    Layer 1 is one ``Linear`` with both trunks' units side by side; each deeper layer is
    one batched matmul over a ``(2, in, out)`` weight. The same function as two separate
    ``nn.Sequential`` trunks, in about half the kernel calls — which is what a small
    network's forward and backward cost on a CPU. Output: ``(2, B, hidden[-1])``.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], activation: str,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.sizes = tuple(hidden)
        self.act = _ACTIVATION_FNS[activation]
        self.first = nn.Linear(in_dim, 2 * hidden[0])
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(2, a, b)) for a, b in zip(hidden[:-1], hidden[1:],
                                                                  strict=True))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(2, 1, b)) for b in hidden[1:])
        gain = math.sqrt(2)
        with torch.no_grad():
            for half in self.first.weight.chunk(2, dim=0):  # each trunk orthogonal alone
                nn.init.orthogonal_(half, gain=gain, generator=generator)
            self.first.bias.zero_()
            for w in self.weights:
                for i in range(2):
                    nn.init.orthogonal_(w[i], gain=gain, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(F.linear(x, self.first.weight, self.first.bias))
        h = h.view(x.shape[0], 2, self.sizes[0]).transpose(0, 1)
        for w, b in zip(self.weights, self.biases, strict=True):
            h = self.act(torch.baddbmm(b, h, w))
        return h


class SplitMLP(nn.Module):
    """Policy and value trunks of different layer sizes, as two ``nn.Sequential`` MLPs
    (orthogonal weights, gain sqrt(2), zero biases; the policy's drawn first). Output: the
    pair ``(h_pi, h_vf)``; an empty size list passes the input through."""

    def __init__(self, in_dim: int, hidden_pi: Sequence[int], hidden_vf: Sequence[int],
                 activation: str, generator: torch.Generator) -> None:
        super().__init__()
        self.pi = _mlp([in_dim, *hidden_pi], activation)
        self.vf = _mlp([in_dim, *hidden_vf], activation)
        orthogonal_init(self.pi, math.sqrt(2), generator)
        orthogonal_init(self.vf, math.sqrt(2), generator)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.pi(x), self.vf(x)


class ActorCritic(nn.Module):
    """MLP policy and value function, with a shared trunk or two separate ones.

    Args:
        obs_dim: size of the flattened observation.
        n_actions: number of discrete actions, or ``None`` for continuous actions.
        action_dim: dimension of a continuous (Box) action; ignored when discrete.
        hidden: hidden layer sizes, e.g. ``(64, 64)``; ``()`` for linear heads.
        hidden_vf: the value network's own sizes when they differ from ``hidden`` (the
            policy's; SB3's ``net_arch=dict(pi=hidden, vf=hidden_vf)``), needing
            ``shared=False``: the trunks run as a :class:`SplitMLP`, acting and the gradient
            through torch. ``None``: the same sizes as ``hidden``.
        shared: one trunk feeding both heads (A2C-style) instead of separate networks
            (evaluated together as a :class:`TwinMLP`).
        activation: ``"tanh"`` or ``"relu"``.
        log_std_init: initial log-std of the Gaussian head (state-independent), or of
            the gSDE noise matrix with ``use_sde``.
        use_sde: generalized state-dependent exploration (Raffin et al. 2021): the
            exploration noise is ``z(s) @ W``, ``z(s)`` the policy's last hidden layer
            (detached), ``W ~ N(0, std^2)`` a ``(features, action_dim)`` matrix per env that
            :meth:`reset_noise` redraws; see :class:`StateDependentGaussian`.
        full_std: with ``use_sde``, learn one log-std per (feature, action) instead of one
            per feature.
        use_expln: with ``use_sde``, map log-std to std by ``expln`` (see :func:`sde_std`).
        generator: the ``torch.Generator`` that draws the initial weights (and the first
            gSDE noise matrix).
        action_nvec: for ``MultiDiscrete`` (or ``MultiBinary``) actions, the choices per
            component (``n_actions`` None): independent categoricals
            (:class:`MultiCategorical`) over a head of ``sum(action_nvec)`` logits. Acting
            and the gradient then go through torch (the numpy paths cover ``Discrete`` and
            ``Box`` actions).
        ortho_init: ``False``: every weight and bias of the trunk and heads (and of a
            ``CnnExtractor`` / ``CombinedExtractor`` as ``features``) drawn instead from
            ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, torch's default for ``nn.Linear`` and
            ``nn.Conv2d`` (SB3's ``ortho_init=False``), still from ``generator``.
        features: a features extractor shared by both trunks (e.g. a
            :class:`~autolearn.rl.common.extractors.CnnExtractor`), mapping a batch of
            observations to ``(B, features.features_dim)``; ``obs_dim`` is then unused.
            Acting and the gradient go through torch. ``None``: observations flattened.
    """

    def __init__(
        self, obs_dim: int, n_actions: int | None, action_dim: int = 1, *,
        hidden: Sequence[int] = (64, 64), hidden_vf: Sequence[int] | None = None,
        shared: bool = False, activation: str = "tanh",
        log_std_init: float = 0.0, use_sde: bool = False, full_std: bool = True,
        use_expln: bool = False, generator: torch.Generator,
        action_nvec: Sequence[int] | None = None, ortho_init: bool = True,
        features: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.features = features
        if features is not None:
            obs_dim = int(features.features_dim)  # type: ignore[arg-type]
        self.discrete = n_actions is not None
        self.nvec = None if action_nvec is None else tuple(int(n) for n in action_nvec)
        if self.nvec is not None and (self.discrete or use_sde):
            raise ValueError("action_nvec is for MultiDiscrete actions: n_actions must be "
                             "None and use_sde False")
        out = (n_actions if n_actions is not None
               else sum(self.nvec) if self.nvec is not None else action_dim)
        split = hidden_vf is not None and tuple(hidden_vf) != tuple(hidden)
        if split and shared:
            raise ValueError("hidden_vf different from hidden needs shared=False")
        self.shared = (shared or not hidden) and not split
        width = hidden[-1] if hidden else obs_dim
        width_vf = (hidden_vf[-1] if hidden_vf else obs_dim) if split else width
        # the numpy paths evaluate a shared MLP or a TwinMLP on flattened observations
        self._numpy_mlp = features is None and not split
        self.trunk: nn.Module
        with torch.random.fork_rng(devices=[]):  # default inits draw from the global RNG
            if split:
                self.trunk = SplitMLP(obs_dim, hidden, hidden_vf or (), activation, generator)
            elif self.shared:
                self.trunk = _mlp([obs_dim, *hidden], activation)
                orthogonal_init(self.trunk, math.sqrt(2), generator)
            else:
                self.trunk = TwinMLP(obs_dim, hidden, activation, generator)
            self.pi_head = nn.Linear(width, out)
            self.vf_head = nn.Linear(width_vf, 1)
        if use_sde and self.discrete:
            raise ValueError("gSDE (use_sde) needs continuous actions")
        self.use_sde, self.use_expln, self.action_dim = use_sde, use_expln, out
        self.activation = activation
        shape = ((width, out if full_std else 1) if use_sde else (out,))
        self.log_std = nn.Parameter(torch.full(shape, float(log_std_init)),
                                    requires_grad=not self.discrete and self.nvec is None)
        orthogonal_init(self.pi_head, 0.01, generator)
        orthogonal_init(self.vf_head, 1.0, generator)
        if not ortho_init:  # our CNNs too; a user's own extractor keeps its initialisation
            ours = isinstance(features, CnnExtractor | CombinedExtractor)
            _default_init([m for m in (features if ours else None, self.trunk, self.pi_head,
                                       self.vf_head) if m is not None], generator)
        self.register_buffer("sde_matrices", torch.zeros(1, width, out) if use_sde else None)
        if use_sde:
            self.reset_noise(1, generator)
        # numpy views for the acting path: trunk layers in order, then both heads, log_std
        trunk: list[torch.Tensor]
        if isinstance(self.trunk, TwinMLP):
            tw = self.trunk
            trunk = [tw.first.weight, tw.first.bias, *(t for wb in zip(
                tw.weights, tw.biases, strict=True) for t in wb)]
            self._twin_width = tw.sizes[0]
        else:
            trunk = [t for m in self.trunk.modules() if isinstance(m, nn.Linear)
                     for t in (m.weight, m.bias)]
        self._views = ParamViews([*trunk, self.pi_head.weight, self.pi_head.bias,
                                  self.vf_head.weight, self.vf_head.bias, self.log_std])

    @property
    def numpy_ok(self) -> bool:
        """Whether the numpy acting path covers this policy (Discrete or Box actions, no
        features extractor, one size list for both trunks)."""
        return self.nvec is None and self._numpy_mlp

    def _obs_features(self, obs: torch.Tensor) -> torch.Tensor:
        """What the trunk reads: the extractor's features, or the flattened observations."""
        return self.features(obs) if self.features is not None else obs.flatten(1)

    def numpy_param_tensors(self) -> list[torch.Tensor]:
        """The parameters the numpy paths read, in their order: trunk layers (weight, bias),
        policy head, value head, ``log_std``."""
        return list(self._views.params)

    def numpy_forward(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(policy head output (B, K), values (B,))`` as :meth:`forward`, in numpy on
        views of the (CPU) weights: the acting path's forward, no gradients (with a features
        extractor or separate trunk sizes, the torch forward)."""
        if not self._numpy_mlp:
            with torch.inference_mode():
                head_t, values_t = self(torch.as_tensor(obs))
            return head_t.numpy(), values_t.numpy()
        head, values, _ = self._numpy_forward(obs)
        return head, values

    def _numpy_forward(self, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = self._views.get()
        x = obs.reshape(obs.shape[0], -1)
        act = self.activation
        # biases added in place into each matmul's fresh output: the same numbers (its dtype
        # is already the promoted one, the biases having the weights' dtype), no temporaries
        h: np.ndarray
        if self.shared:
            h = x
            for i in range(0, len(w) - 5, 2):
                h = h @ w[i].T
                h += w[i + 1]
                activation_(h, act)
            h_pi = h_vf = h
        else:
            h = x @ w[0].T
            h += w[1]
            activation_(h, act)
            h = h.reshape(x.shape[0], 2, self._twin_width).transpose(1, 0, 2)  # (2, B, h0)
            for i in range(2, len(w) - 5, 2):
                h = np.matmul(h, w[i])
                h += w[i + 1]
                activation_(h, act)
            h_pi, h_vf = h[0], h[1]
        head = h_pi @ w[-5].T
        head += w[-4]
        values = h_vf @ w[-3].T
        values += w[-2]
        return head, values[:, 0], h_pi

    def act_numpy(self, obs: np.ndarray, mask: np.ndarray | None, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(actions, log_probs, values)`` as :meth:`act` computes them, in numpy, sampling
        from ``rng`` (categorical: inverse CDF; Gaussian: ``mean + std * normal``).
        With gSDE: ``mean + z(s) @ W`` with the current noise matrices, as :meth:`act`
        (``rng`` unused)."""
        head, values, features = self._numpy_forward(obs)
        if self.use_sde:
            log_std = self._views.get()[-1]
            if self.use_expln:
                std = np.where(log_std > 0, np.log1p(np.maximum(log_std, 0)) + 1.0,
                               np.exp(np.minimum(log_std, 0)))
            else:
                std = np.exp(log_std)
            std = np.broadcast_to(std, (std.shape[0], self.action_dim))
            w = self.sde_matrices.numpy()
            noise = (features @ w[0] if w.shape[0] != features.shape[0]
                     else np.matmul(features[:, None, :], w)[:, 0])
            actions = head + noise
            sde_log_std = 0.5 * np.log((features * features) @ (std * std) + 1e-6)
            return actions, gaussian_log_prob(head, sde_log_std, actions), values
        if self.discrete:
            log_p = log_softmax(head, mask)
            actions = categorical_sample(log_p, rng)
            return actions, log_p[np.arange(actions.shape[0]), actions], values
        log_std = np.broadcast_to(self._views.get()[-1], head.shape)
        actions = (head + np.exp(log_std) * rng.standard_normal(head.shape)).astype(np.float32)
        return actions, gaussian_log_prob(head, log_std, actions), values

    def reset_noise(self, n: int, generator: torch.Generator) -> None:
        """Draw ``n`` gSDE noise matrices ``W ~ N(0, std^2)`` (one per env; on the CPU from
        ``generator``, so a seed draws the same noise on every device)."""
        std = sde_std(self.log_std.detach().cpu(), self.action_dim, use_expln=self.use_expln)
        w = torch.randn((n, *std.shape), generator=generator) * std
        self.sde_matrices = w.to(self.log_std.device)

    def _load_from_state_dict(self, state_dict: dict, prefix: str,  # type: ignore[type-arg]
                              *args: object, **kwargs: object) -> None:
        saved = state_dict.get(prefix + "sde_matrices")
        if self.use_sde and saved is not None:  # as many matrices as the saver's envs
            self.sde_matrices = torch.empty_like(saved, device=self.log_std.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)  # type: ignore[arg-type]

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(policy head output (B, K), values (B,))``."""
        h = self.trunk(self._obs_features(obs))
        h_pi, h_vf = (h, h) if self.shared else (h[0], h[1])
        # F.linear rather than module calls: this runs once per env step
        pi, vf = self.pi_head, self.vf_head
        return F.linear(h_pi, pi.weight, pi.bias), F.linear(h_vf, vf.weight, vf.bias).squeeze(-1)

    def _sde_forward(self, obs: torch.Tensor
                     ) -> tuple[StateDependentGaussian, torch.Tensor]:
        """The gSDE distribution (features detached, as in the paper) and ``(B,)`` values."""
        h = self.trunk(self._obs_features(obs))
        h_pi, h_vf = (h, h) if self.shared else (h[0], h[1])
        pi, vf = self.pi_head, self.vf_head
        std = sde_std(self.log_std, self.action_dim, use_expln=self.use_expln)
        dist = StateDependentGaussian(F.linear(h_pi, pi.weight, pi.bias), h_pi.detach(), std)
        return dist, F.linear(h_vf, vf.weight, vf.bias).squeeze(-1)

    def distribution(self, head: torch.Tensor, mask: torch.Tensor | None = None
                     ) -> MaskedCategorical | MultiCategorical | DiagGaussian:
        if self.discrete:
            return MaskedCategorical(head, mask)
        if self.nvec is not None:
            return MultiCategorical(head, self.nvec, mask)
        return DiagGaussian(head, self.log_std)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """``(B,)`` state values."""
        return self(obs)[1]

    def act(self, obs: torch.Tensor, mask: torch.Tensor | None, generator: torch.Generator,
            deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(actions, log_probs, values)`` for a batch; call under ``torch.inference_mode``.

        With gSDE, row ``i`` explores with noise matrix ``i`` when there is one per row
        (a vector env's step), else with matrix 0.
        """
        if self.use_sde:
            sde, values = self._sde_forward(obs)
            if deterministic:
                actions = sde.mode()
            else:
                w = self.sde_matrices
                actions = sde.sample(w if w.shape[0] == obs.shape[0] else w[:1])
            return actions, sde.log_prob(actions), values
        head, values = self.forward(obs)
        dist = self.distribution(head, mask)
        actions = dist.mode() if deterministic else dist.sample(generator)
        return actions, dist.log_prob(actions), values

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor,
                 mask: torch.Tensor | None = None, *, entropy_grad: bool = True
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(log_probs, entropy, values)`` of taken ``actions``, with gradients.

        ``entropy_grad=False`` returns a detached entropy (for logging only), sparing its
        backward pass when the entropy bonus is 0.
        """
        if self.use_sde:
            sde, values = self._sde_forward(obs)
            with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
                entropy = sde.entropy()
            return sde.log_prob(actions), entropy, values
        head, values = self(obs)
        dist = self.distribution(head, mask)
        with torch.set_grad_enabled(entropy_grad and torch.is_grad_enabled()):
            entropy = dist.entropy()
        return dist.log_prob(actions), entropy, values


class SequenceSample(NamedTuple):
    """A batch of decision sequences drawn by :class:`AutoregressivePolicy`.

    Attributes:
        actions: ``(B, T)`` int64 choices.
        log_prob: ``(B,)`` sum over steps of the log-probability of each choice.
        entropy: ``(B,)`` sum over steps of the (masked) entropy.
        masks: ``(B, T, K_max)`` bool, the allowed choices at each step (padding False).
    """

    actions: torch.Tensor
    log_prob: torch.Tensor
    entropy: torch.Tensor
    masks: torch.Tensor


MaskFn = Callable[[int, torch.Tensor], torch.Tensor | None]


class AutoregressivePolicy(nn.Module):
    """LSTM controller emitting a sequence of categorical decisions (Zoph & Le 2017).

    Step ``t`` feeds the embedding of decision ``t-1`` (a learned start token at ``t=0``)
    into an LSTM cell; a per-step linear head gives logits over that step's
    ``num_choices[t]`` options. Invalid choices are masked out through ``mask_fn(t,
    prefix)`` which sees the ``(B, t)`` decisions so far and returns a ``(B, num_choices[t])``
    bool mask (or ``None`` for all allowed).

    Args:
        num_choices: options per decision, e.g. ``(4, 3, 2)``.
        hidden_size: LSTM units.
        temperature: logits are divided by it; ``tanh_c``: if set, logits are
            ``tanh_c * tanh(logits)`` (the NAS paper's sampling-logit squashing).
        generator: draws the initial weights.
    """

    def __init__(self, num_choices: Sequence[int], *, hidden_size: int = 32,
                 temperature: float = 1.0, tanh_c: float | None = None,
                 generator: torch.Generator) -> None:
        super().__init__()
        self.num_choices = tuple(int(k) for k in num_choices)
        self.k_max = max(self.num_choices)
        self.temperature = temperature
        self.tanh_c = tanh_c
        self.start = nn.Parameter(torch.zeros(1, hidden_size))
        with torch.random.fork_rng(devices=[]):  # default inits draw from the global RNG
            embeds = [nn.Embedding(k, hidden_size) for k in self.num_choices[:-1]]
            self.cell = nn.LSTMCell(hidden_size, hidden_size)
            self.heads = nn.ModuleList(nn.Linear(hidden_size, k) for k in self.num_choices)
        for emb in embeds:
            nn.init.uniform_(emb.weight, -0.1, 0.1, generator=generator)
        self.embed = nn.ModuleList(embeds)
        orthogonal_init(self.cell, 1.0, generator)
        orthogonal_init(self.heads, 0.01, generator)

    def _logits(self, h: torch.Tensor, t: int) -> torch.Tensor:
        logits = self.heads[t](h) / self.temperature
        return self.tanh_c * torch.tanh(logits) if self.tanh_c is not None else logits

    def _run(self, batch_size: int, actions: torch.Tensor | None, mask_fn: MaskFn | None,
             generator: torch.Generator | None, deterministic: bool) -> SequenceSample:
        B, T = batch_size, len(self.num_choices)
        x = self.start.expand(B, -1)
        state: tuple[torch.Tensor, torch.Tensor] | None = None
        chosen = torch.zeros(B, T, dtype=torch.long)
        masks = torch.zeros(B, T, self.k_max, dtype=torch.bool)
        log_prob = torch.zeros(B)
        entropy = torch.zeros(B)
        for t, k in enumerate(self.num_choices):
            state = self.cell(x, state)
            mask = mask_fn(t, chosen[:, :t]) if mask_fn is not None else None
            dist = MaskedCategorical(self._logits(state[0], t), mask)
            if actions is not None:
                a = actions[:, t]
            else:
                a = dist.mode() if deterministic else dist.sample(generator)
            chosen[:, t] = a
            masks[:, t, :k] = mask if mask is not None else True
            log_prob = log_prob + dist.log_prob(a)
            entropy = entropy + dist.entropy()
            if t + 1 < T:
                x = self.embed[t](a)
        return SequenceSample(chosen, log_prob, entropy, masks)

    def sample(self, batch_size: int, *, generator: torch.Generator | None = None,
               mask_fn: MaskFn | None = None, deterministic: bool = False) -> SequenceSample:
        """Draw ``batch_size`` sequences (with gradients; wrap in ``no_grad`` to act only)."""
        return self._run(batch_size, None, mask_fn, generator, deterministic)

    def evaluate(self, actions: torch.Tensor, masks: torch.Tensor | None = None) -> SequenceSample:
        """Log-probability and entropy of given ``(B, T)`` sequences (teacher forcing).

        ``masks`` is the ``(B, T, K_max)`` tensor returned by :meth:`sample`.
        """
        def mask_fn(t: int, _prefix: torch.Tensor) -> torch.Tensor | None:
            return None if masks is None else masks[:, t, : self.num_choices[t]]

        return self._run(actions.shape[0], actions, mask_fn, None, False)
