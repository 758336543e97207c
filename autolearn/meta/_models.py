"""Small networks for few-shot tasks, built from a JSON-able spec with a seeded init.

A spec is a dict such as ``{"kind": "mlp", "sizes": [1, 40, 40, 1]}`` or
``{"kind": "conv1d", "length": 40, "channels": 32, "n_out": 5}``; saved meta-learners
store it so that :meth:`autolearn.meta.MetaLearner.load` can rebuild the network.

Example:
    >>> net = build_model({"kind": "mlp", "sizes": [1, 40, 40, 1]}, seed=0)
    >>> net(torch.zeros(3, 1)).shape
    torch.Size([3, 1])
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import ConfigError

__all__ = ["build_model", "default_model_spec", "init_parameters"]


class _AddChannel(nn.Module):
    """``(n, L) -> (n, 1, L)`` so that a Conv1d sees one input channel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(-2)


def init_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-draw every weight and bias like PyTorch's default init, from ``generator``.

    Weights and biases of ``Linear`` / ``Conv`` layers ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    (what ``reset_parameters`` gives), without touching torch's global RNG.
    """
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, nn.Linear | nn.Conv1d | nn.Conv2d):
                fan_in = sub.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                w = torch.rand(sub.weight.shape, generator=generator) * 2 - 1
                sub.weight.copy_(w * bound)
                if sub.bias is not None:
                    b = torch.rand(sub.bias.shape, generator=generator) * 2 - 1
                    sub.bias.copy_(b * bound)
    return module


def build_model(spec: dict[str, Any], *, seed: SeedLike = None) -> nn.Module:
    """Build the network described by ``spec`` with a reproducible init from ``seed``."""
    kind = spec.get("kind")
    if kind == "mlp":
        sizes = [int(s) for s in spec["sizes"]]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ConfigError(f"`sizes` must list >= 2 positive layer widths, but got "
                              f"sizes={sizes!r}")
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[spec.get("activation", "relu")]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(act())
        net: nn.Module = nn.Sequential(*layers)
    elif kind == "conv1d":
        length, ch, n_out = int(spec["length"]), int(spec["channels"]), int(spec["n_out"])
        blocks: list[nn.Module] = [_AddChannel()]
        c_in = 1
        for _ in range(int(spec.get("n_blocks", 3))):
            blocks += [nn.Conv1d(c_in, ch, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2)]
            c_in, length = ch, length // 2
        net = nn.Sequential(*blocks, nn.Flatten(), nn.Linear(ch * length, n_out))
    else:
        raise ConfigError(f"`kind` must be 'mlp' or 'conv1d', but got kind={kind!r}")
    gen = torch.Generator().manual_seed(int(as_generator(seed).integers(2**62)))
    return init_parameters(net, gen)


def default_model_spec(task_name: str, n_outputs: int) -> dict[str, Any]:
    """The network used for a built-in task family.

    sinusoid: the paper's 1-40-40-1 ReLU MLP; digits: 64-128-128-N MLP; mnist1d: a
    three-block Conv1d (32 channels, kernel 5, max-pool 2) and a linear head.
    """
    if task_name == "sinusoid":
        return {"kind": "mlp", "sizes": [1, 40, 40, n_outputs]}
    if task_name == "digits":
        return {"kind": "mlp", "sizes": [64, 128, 128, n_outputs]}
    if task_name == "mnist1d":
        return {"kind": "conv1d", "length": 40, "channels": 32, "n_out": n_outputs}
    raise ConfigError(f"`tasks` must be 'sinusoid', 'digits' or 'mnist1d', but got "
                      f"tasks={task_name!r}")
