"""Baselines for meta-learning: pretrain on all tasks jointly, or start from scratch.

Both are scored with :func:`autolearn.meta.evaluate_init`, the same fine-tuning loop that
scores a meta-learned initialisation, so the comparison differs only in the init.

- *Pretrained*: one network trained on the pooled data of the training tasks (regression:
  the support + query points of freshly drawn tasks, ``batch_tasks`` per step;
  classification: every training-class example under its global class label, then the
  class head is replaced by a zero N-way head with :func:`transfer_init`).
- *From scratch*: a fresh random init per task (:func:`scratch_init_fn`).

Example:
    >>> from autolearn.meta import SinusoidTasks, build_model, pretrain
    >>> net = build_model({"kind": "mlp", "sizes": [1, 40, 40, 1]}, seed=0)
    >>> params = pretrain(net, SinusoidTasks(shots=10), n_steps=5, seed=0)
    >>> sorted(params)[:2]
    ['0.bias', '0.weight']
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import ConfigError
from autolearn.meta._models import init_parameters
from autolearn.meta._tasks import TaskSampler, stack_tasks

__all__ = ["pretrain", "scratch_init_fn", "transfer_init"]


def pretrain(model: nn.Module, tasks: TaskSampler, *, n_steps: int, lr: float = 1e-3,
             batch_tasks: int = 25, batch_size: int = 128, seed: SeedLike = None
             ) -> dict[str, Tensor]:
    """Train ``model`` (a copy) jointly on the training tasks; return its parameters.

    If ``tasks`` has a ``dataset()`` method (classification samplers), the network is
    trained with cross-entropy on minibatches of ``batch_size`` examples of all training
    classes, so its output size must be the number of training classes. Otherwise each of
    the ``n_steps`` Adam steps uses the pooled support + query data of ``batch_tasks``
    fresh tasks under the sampler's loss (MSE by default).
    """
    if not (isinstance(n_steps, int) and n_steps >= 1):
        raise ConfigError(f"`n_steps` must be an int >= 1, but got n_steps={n_steps!r}")
    rng = as_generator(seed)
    net = copy.deepcopy(model)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    dataset = getattr(tasks, "dataset", None)
    X = Y = None
    if dataset is not None:
        X, Y = dataset()
    for _ in range(n_steps):
        if X is not None and Y is not None:
            idx = torch.as_tensor(rng.choice(len(X), size=min(batch_size, len(X)),
                                             replace=False))
            loss = F.cross_entropy(net(X[idx]), Y[idx])
        else:
            sx, sy, qx, qy = stack_tasks(tasks.sample(batch_tasks, rng))
            x = torch.cat([sx, qx], 1).flatten(0, 1)
            y = torch.cat([sy, qy], 1).flatten(0, 1)
            fn = F.cross_entropy if getattr(tasks, "loss", "mse") == "cross_entropy" \
                else F.mse_loss
            loss = fn(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def transfer_init(pretrained: Mapping[str, Tensor], target: nn.Module) -> dict[str, Tensor]:
    """``target``'s parameter dict filled from ``pretrained`` where the shapes agree; the
    rest (the class head, whose width differs) is set to zero."""
    out = {}
    for k, v in target.named_parameters():
        src = pretrained.get(k)
        out[k] = src.detach().clone() if src is not None and src.shape == v.shape \
            else torch.zeros_like(v.detach())
    return out


def scratch_init_fn(model: nn.Module, *, seed: SeedLike = None
                    ) -> Callable[[int], dict[str, Tensor]]:
    """``init_fn(n)`` giving ``n`` fresh random initialisations of ``model`` stacked into
    ``(n, *shape)`` tensors (for :func:`autolearn.meta.evaluate_init`)."""
    rng = as_generator(seed)
    gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
    net = copy.deepcopy(model)

    def init_fn(n: int) -> dict[str, Tensor]:
        draws: list[dict[str, Any]] = []
        for _ in range(n):
            init_parameters(net, gen)
            draws.append({k: v.detach().clone() for k, v in net.named_parameters()})
        return {k: torch.stack([d[k] for d in draws]) for k in draws[0]}

    return init_fn
