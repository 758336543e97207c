"""A meta-trained LSTM optimizer as an ordinary :class:`torch.optim.Optimizer`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from autolearn.exceptions import ConfigError
from autolearn.learned_optim._io import load_weights
from autolearn.learned_optim._lstm import LSTMOptimizerNet

__all__ = ["LearnedOptimizer"]


class LearnedOptimizer(torch.optim.Optimizer):
    """Apply a meta-trained coordinatewise LSTM to any model's gradients.

    Every parameter tensor keeps the LSTM state of each of its coordinates
    (``state[p]["h"]`` and ``state[p]["c"]``, shape ``(layers, numel, hidden)``), so the
    optimizer behaves exactly as during meta-training, one coordinate per batch row. The
    update is computed without autograd, so ``step()`` works under ``torch.no_grad()`` or
    ``torch.inference_mode()`` callers alike.

    Args:
        params: Parameters or parameter groups, as for any torch optimizer.
        weights: A shipped name (``"quadratic"``, ``"mlp"``), a file written by
            :func:`~autolearn.learned_optim.save_weights`, or an
            :class:`~autolearn.learned_optim.LSTMOptimizerNet`.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = LearnedOptimizer(model.parameters(), weights="mlp")
        >>> loss = model(torch.ones(4, 3)).pow(2).mean()
        >>> loss.backward()
        >>> opt.step()

    References:
        Andrychowicz et al. Learning to learn by gradient descent by gradient descent.
        NIPS 2016.
    """

    def __init__(self, params: Iterable[Any], *,
                 weights: str | os.PathLike[str] | LSTMOptimizerNet = "mlp") -> None:
        if isinstance(weights, LSTMOptimizerNet):
            net = weights
        elif isinstance(weights, str | os.PathLike):
            net = load_weights(weights)
        else:
            raise ConfigError(
                "`weights` must be a shipped name, a path or an LSTMOptimizerNet, but got "
                f"{type(weights).__name__}")
        super().__init__(params, {})
        self.net = net.eval().requires_grad_(False)

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:  # type: ignore[override]
        """One update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        ref = next(self.net.parameters())
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    zeros = torch.zeros(self.net.config.num_layers, p.numel(),
                                        self.net.config.hidden_size, dtype=ref.dtype,
                                        device=ref.device)
                    state["h"], state["c"] = zeros, zeros.clone()
                    state["step"] = 0
                lstm_state = tuple(zip(state["h"].unbind(0), state["c"].unbind(0), strict=True))
                grad = p.grad.detach().reshape(-1).to(ref.device, ref.dtype)
                update, new = self.net(grad, lstm_state)
                p.add_(update.view_as(p).to(p.device, p.dtype))
                state["h"] = torch.stack([h for h, _ in new])
                state["c"] = torch.stack([c for _, c in new])
                state["step"] += 1
        return loss
