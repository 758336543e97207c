"""The coordinatewise LSTM optimizer of Andrychowicz et al. (2016) as a pure update rule.

One small two-layer LSTM is shared by every coordinate of the optimisee: the coordinates
are the batch dimension, so a model with ``n`` parameters is one LSTM call on a batch of
``n`` rows. Each coordinate keeps its own hidden and cell state.

References:
    Andrychowicz, Denil, Gomez, Hoffman, Pfau, Schaul, Shillingford, de Freitas. Learning
    to learn by gradient descent by gradient descent. NIPS 2016.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from autolearn.exceptions import ConfigError

__all__ = ["LSTMOptimizerConfig", "LSTMOptimizerNet", "LSTMState", "preprocess_gradients"]

#: Per layer ``(h, c)``, each of shape ``(n_coordinates, hidden_size)``.
LSTMState = tuple[tuple[Tensor, Tensor], ...]


@dataclass(frozen=True)
class LSTMOptimizerConfig:
    """Shape of the LSTM optimizer.

    Attributes:
        hidden_size: Units per LSTM layer (20 in the paper).
        num_layers: Stacked LSTM layers (2 in the paper).
        preprocess: Feed ``(log|g|/p, sign g)`` as in the paper's appendix (True) or the
            raw gradient (False).
        p: The preprocessing constant ``p`` (10 in the paper): gradients with
            ``|g| < exp(-p)`` take the small-gradient branch ``(-1, exp(p) g)``.
        output_scale: The LSTM's output is multiplied by this to give the update (0.1 in
            the paper).
    """

    hidden_size: int = 20
    num_layers: int = 2
    preprocess: bool = True
    p: float = 10.0
    output_scale: float = 0.1

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"`{name}` must be a positive int, but got {value!r}")
        if not isinstance(self.preprocess, bool):
            raise ConfigError(f"`preprocess` must be a bool, but got {self.preprocess!r}")
        for name in ("p", "output_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and value > 0
            ):
                raise ConfigError(f"`{name}` must be a finite number > 0, but got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def preprocess_gradients(g: Tensor, p: float = 10.0) -> Tensor:
    """The paper's gradient preprocessing (Andrychowicz et al. 2016, appendix A).

    ``|g| >= e^-p -> (log|g| / p, sign g)``, otherwise ``(-1, e^p g)``. Large and tiny
    gradients thus reach the LSTM on one scale while the sign is kept.

    Args:
        g: Gradients, shape ``(n,)``.
        p: The constant ``p`` (> 0).

    Returns:
        Shape ``(n, 2)``.

    Example:
        >>> import torch
        >>> preprocess_gradients(torch.tensor([1.0, -1e-6]), p=10.0)
        tensor([[ 0.0000,  1.0000],
                [-1.0000, -0.0220]])
    """
    big = g.abs() >= math.exp(-p)
    # Clamping keeps log finite on the branch that torch.where discards (its gradient too).
    log_part = torch.where(big, torch.log(g.abs().clamp_min(math.exp(-p))) / p, -torch.ones_like(g))
    sign_part = torch.where(big, torch.sign(g), math.exp(p) * g)
    return torch.stack([log_part, sign_part], dim=-1)


class LSTMOptimizerNet(nn.Module):
    """``update, state = net(grad, state)``: the learned update rule ``g_t`` of the paper.

    Args:
        config: The network's shape; :class:`LSTMOptimizerConfig` defaults if None.

    Example:
        >>> import torch
        >>> net = LSTMOptimizerNet()
        >>> grad = torch.randn(5)
        >>> update, state = net(grad, net.initial_state(5))
        >>> update.shape
        torch.Size([5])
    """

    def __init__(self, config: LSTMOptimizerConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else LSTMOptimizerConfig()
        c = self.config
        n_in = 2 if c.preprocess else 1
        self.cells = nn.ModuleList(
            nn.LSTMCell(n_in if i == 0 else c.hidden_size, c.hidden_size)
            for i in range(c.num_layers)
        )
        self.head = nn.Linear(c.hidden_size, 1)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw every weight from ``U(-1/sqrt(fan), 1/sqrt(fan))`` (torch's LSTM default).

        With a ``generator`` the draw is reproducible and leaves torch's global RNG alone.
        """
        with torch.no_grad():
            for module in (*self.cells, self.head):
                fan = self.config.hidden_size if module is not self.head else module.in_features
                bound = 1.0 / math.sqrt(fan)
                for p in module.parameters():
                    p.copy_(torch.rand(p.shape, generator=generator, dtype=p.dtype) * 2 - 1)
                    p.mul_(bound)

    def initial_state(
        self, n: int, *, dtype: torch.dtype | None = None, device: torch.device | None = None
    ) -> LSTMState:
        """Zero hidden and cell states for ``n`` coordinates."""
        ref = self.head.weight
        zeros = torch.zeros(n, self.config.hidden_size, dtype=dtype or ref.dtype,
                            device=device or ref.device)
        return tuple((zeros, zeros) for _ in self.cells)

    def forward(self, grad: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """One step for every coordinate.

        Args:
            grad: Gradient of the optimisee, shape ``(n,)``.
            state: The coordinates' states from :meth:`initial_state` or the last call.

        Returns:
            The update to add to the parameters, shape ``(n,)``, and the new state.
        """
        c = self.config
        x = preprocess_gradients(grad, c.p) if c.preprocess else grad.unsqueeze(-1)
        x = x.to(self.head.weight.dtype)
        new_state = []
        for cell, (h, cs) in zip(self.cells, state, strict=True):
            h, cs = cell(x, (h, cs))
            new_state.append((h, cs))
            x = h
        update = self.head(x).squeeze(-1) * c.output_scale
        return update, tuple(new_state)


def detach_state(state: LSTMState) -> LSTMState:
    """The same state cut from the autograd graph (the truncation of truncated BPTT)."""
    return tuple((h.detach(), c.detach()) for h, c in state)
