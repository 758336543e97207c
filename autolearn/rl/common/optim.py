"""Adam and RMSprop over one flat buffer, for small networks updated thousands of times.

A PPO minibatch step on a 64x64 network spends more CPU time in the optimiser's and the
gradient clipping's per-tensor Python bookkeeping than in arithmetic. Here every trainable
parameter is a view into one flat tensor, the gradients are gathered into another by one
``torch.cat`` (and ``.grad`` then points into it), so the global gradient-norm clip and the
optimiser step are a handful of kernels on one tensor each, whatever the number of layers.

The mathematics is torch's (Adam: its fused kernel, or the non-fused formula where this
torch build or device lacks that kernel; RMSprop: the non-fused formula without momentum
or centering; one parameter group), with one difference below float precision: every
``FLUSH_EVERY`` steps the decaying moment (Adam's first moment, RMSprop's square average)
is set to zero where it has fallen below the smallest normal float
(``torch.finfo(dtype).tiny``, 1.2e-38 in float32). Dead ReLU units give exact-zero
gradients, their moments then decay geometrically through the subnormal range, and x86
arithmetic on subnormals is 10-100x slower (after 6,144 DQN steps on CartPole 39k of the
68k first-moment entries were subnormal and one ``lerp_`` over them took 431 us instead of
34 us); the flush is not free, hence only every few steps. Both classes subclass the torch
optimiser and their per-parameter state tensors are views into the flat moment buffers,
so ``state_dict()`` has torch's layout: a checkpoint loads into either class.

Contract: build the optimiser after the module has reached its device (``module.to`` would
replace the views); to clip, call :meth:`clip_grad_norm_` of the optimiser. ``step()`` is
torch's (profiler range and step hooks included); ``flat_step()`` is the same update
without that wrapper, which costs as much as the update itself on a small network. A
trainable parameter whose gradient is None counts as having a zero gradient, which
matches torch whenever the loss reaches every parameter, as in the agents here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["FLUSH_EVERY", "FlatAdam", "FlatRMSprop", "flat_views", "flatten_parameters"]

#: Steps between two flushes of subnormal moments to zero.
FLUSH_EVERY = 32


def flatten_parameters(params: list[torch.Tensor]) -> torch.Tensor:
    """One flat tensor holding ``params`` (same device and dtype) in order; each parameter's
    ``.data`` becomes a view into it. Returns the flat tensor."""
    if not params or any(p.device != params[0].device or p.dtype != params[0].dtype
                         for p in params):
        raise ValueError("flatten_parameters needs parameters on one device and dtype")
    flat = torch.cat([p.detach().reshape(-1) for p in params])
    offset = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            p.data = flat[offset:offset + n].view_as(p)
            offset += n
    return flat


def flat_views(flat: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    """Consecutive views of ``flat`` shaped as the tensors ``like``, in order."""
    out, offset = [], 0
    for p in like:
        out.append(flat[offset:offset + p.numel()].view_as(p))
        offset += p.numel()
    return out


def _flush_subnormals(x: torch.Tensor) -> None:
    """Set the entries of ``x`` smaller in magnitude than the smallest normal number to 0."""
    x.masked_fill_(x.abs() < torch.finfo(x.dtype).tiny, 0.0)


class _FlatMixin:
    """Flat parameter/gradient/state buffers shared by :class:`FlatAdam` and
    :class:`FlatRMSprop`; ``_STATE`` names the per-parameter moment buffers."""

    _STATE: tuple[str, ...] = ()
    param_groups: list[dict[str, Any]]
    state: Any

    def _flatten(self) -> None:
        if len(self.param_groups) != 1:
            raise ValueError("flat optimisers take a single parameter group")
        params = [p for p in self.param_groups[0]["params"] if p.requires_grad]
        if not params:
            raise ValueError("no trainable parameters")
        dev, dtype = params[0].device, params[0].dtype
        if any(p.device != dev or p.dtype != dtype for p in params):
            raise ValueError("flat optimisers need every parameter on one device and dtype")
        self._params = params
        self._flat = torch.cat([p.detach().reshape(-1) for p in params])
        self._flat_grad = torch.zeros_like(self._flat)
        self._buffers = {name: torch.zeros_like(self._flat) for name in self._STATE}
        self._steps = torch.zeros(len(params))  # torch keeps "step" as a CPU float tensor
        self._t = 0
        self._grad_views: list[torch.Tensor] = []
        self._np_grad_views: list[Any] | None = None
        offset = 0
        with torch.no_grad():
            for i, p in enumerate(params):
                n = p.numel()
                p.data = self._flat[offset:offset + n].view_as(p)
                self._grad_views.append(self._flat_grad[offset:offset + n].view_as(p))
                st = self.state[p]
                st["step"] = self._steps[i]
                for name, buf in self._buffers.items():
                    st[name] = buf[offset:offset + n].view_as(p)
                offset += n

    def _gather_grads(self) -> torch.Tensor:
        """The flat gradient: the parameters' ``.grad`` copied in (by one ``torch.cat`` after
        a fresh backward; zero where a gradient is None), and ``.grad`` pointed at its view
        of the flat buffer, so that a later backward without ``zero_grad`` accumulates there."""
        params, views = self._params, self._grad_views
        stale = [i for i, p in enumerate(params) if p.grad is not views[i]]
        if not stale:
            return self._flat_grad
        with torch.no_grad():
            if len(stale) == len(params):
                torch.cat([p.grad.reshape(-1) if p.grad is not None
                           else torch.zeros(p.numel(), dtype=p.dtype, device=p.device)
                           for p in params], out=self._flat_grad)
            else:
                for i in stale:
                    g = params[i].grad
                    views[i].zero_() if g is None else views[i].copy_(g)
        for i in stale:
            params[i].grad = views[i]
        return self._flat_grad

    def _update(self) -> None:
        raise NotImplementedError

    def trainable_params(self) -> list[torch.Tensor]:
        """The flattened (trainable) parameters, in the flat buffer's order."""
        return list(self._params)

    def numpy_grad_views(self) -> list[Any]:
        """Numpy views of the flat gradient buffer, one per :meth:`trainable_params` entry,
        for a caller that writes the whole gradient there itself (the numpy actor-critic
        update); every ``.grad`` is pointed at its view, so :meth:`clip_grad_norm_` and
        :meth:`flat_step` read what was written (no ``zero_grad`` in between)."""
        params, views = self._params, self._grad_views
        for i, p in enumerate(params):
            if p.grad is not views[i]:
                p.grad = views[i]
        if self._np_grad_views is None:
            self._np_grad_views = [v.numpy() for v in views]
        return self._np_grad_views

    def flat_step(self) -> None:
        """One optimiser step, without torch's per-call wrapper (no step hooks run)."""
        self._t += 1
        self._update()

    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        if closure is not None:
            raise ValueError(f"{type(self).__name__}.step takes no closure")
        self.flat_step()

    def state_dict(self) -> dict[str, Any]:
        self._steps.fill_(float(self._t))  # the per-parameter "step" tensors, kept lazily
        return super().state_dict()  # type: ignore[misc,no-any-return]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the gradients (``set_to_none=False``: zero them in place), as torch's."""
        for p in self._params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    @torch.no_grad()
    def grad_norm(self) -> float:
        """The gradients' global 2-norm (as :meth:`clip_grad_norm_` computes it)."""
        return float(torch.linalg.vector_norm(self._gather_grads()))

    @torch.no_grad()
    def clip_grad_norm_(self, max_norm: float) -> torch.Tensor:
        """Scale the gradients by ``max_norm / (norm + 1e-6)`` where that is below 1, as
        ``torch.nn.utils.clip_grad_norm_``; returns the norm before clipping."""
        g = self._gather_grads()
        total = torch.linalg.vector_norm(g)
        if g.device.type == "cpu":  # reading the norm costs no device sync here
            coef = max_norm / (float(total) + 1e-6)
            if coef < 1.0:
                g.mul_(coef)
        else:
            g.mul_((max_norm / (total + 1e-6)).clamp_(max=1.0))
        return total

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's ``load_state_dict``, then the loaded state copied into the flat buffers
        (so a checkpoint of the plain torch optimiser loads too)."""
        super().load_state_dict(state_dict)  # type: ignore[misc]
        offset = 0
        with torch.no_grad():
            for i, p in enumerate(self._params):
                n = p.numel()
                st = self.state[p]
                if "step" in st:
                    self._steps[i] = float(st["step"])
                st["step"] = self._steps[i]
                for name, buf in self._buffers.items():
                    view = buf[offset:offset + n].view_as(p)
                    if name in st:
                        view.copy_(st[name])
                    else:
                        view.zero_()
                    st[name] = view
                offset += n
        self._t = int(self._steps.max()) if len(self._steps) else 0


class FlatAdam(_FlatMixin, torch.optim.Adam):  # type: ignore[misc]
    """Adam (Kingma & Ba 2015) as ``torch.optim.Adam`` computes it, on flat buffers.

    Args:
        params: the parameters (one group; the trainable ones are flattened).
        lr, betas, eps: as ``torch.optim.Adam`` (no weight decay, amsgrad or maximize).
    """

    _STATE = ("exp_avg", "exp_avg_sq")

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(list(params), lr=lr, betas=betas, eps=eps, foreach=False)
        self._flatten()
        # torch's fused Adam kernel (one pass over the four buffers instead of seven);
        # the explicit formula below where this torch build or device lacks it
        self._fused: list[torch.Tensor] | None = None
        kernel = getattr(torch, "_fused_adam_", None)
        if kernel is not None:
            step = [torch.zeros((), device=self._flat.device)]
            try:
                probe = torch.zeros(1, device=self._flat.device)
                kernel([probe], [probe.clone()], [probe.clone()], [probe.clone()], [], step,
                       amsgrad=False, lr=0.0, beta1=0.9, beta2=0.999, weight_decay=0.0,
                       eps=1.0, maximize=False)
                self._fused = step
            except (RuntimeError, NotImplementedError):
                self._fused = None

    def _update(self) -> None:  # the flat buffers carry no autograd history
        group = self.param_groups[0]
        beta1, beta2 = group["betas"]
        g = self._gather_grads()
        m, v = self._buffers["exp_avg"], self._buffers["exp_avg_sq"]
        if self._fused is not None:
            self._fused[0].fill_(float(self._t))
            torch._fused_adam_([self._flat], [g], [m], [v], [], self._fused, amsgrad=False,
                               lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=0.0,
                               eps=group["eps"], maximize=False)
        else:
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            step_size = group["lr"] / (1 - beta1 ** self._t)
            denom = v.sqrt().div_(math.sqrt(1 - beta2 ** self._t)).add_(group["eps"])
            self._flat.addcdiv_(m, denom, value=-step_size)
        if self._t % FLUSH_EVERY == 0:
            _flush_subnormals(m)


class FlatRMSprop(_FlatMixin, torch.optim.RMSprop):  # type: ignore[misc]
    """RMSprop (Tieleman & Hinton 2012) as ``torch.optim.RMSprop`` computes it without
    momentum or centering, on flat buffers.

    Args:
        params: the parameters (one group; the trainable ones are flattened).
        lr, alpha, eps: as ``torch.optim.RMSprop``.
    """

    _STATE = ("square_avg",)

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8) -> None:
        super().__init__(list(params), lr=lr, alpha=alpha, eps=eps, foreach=False)
        self._flatten()

    def _update(self) -> None:
        group = self.param_groups[0]
        alpha = group["alpha"]
        g = self._gather_grads()
        sq = self._buffers["square_avg"]
        sq.mul_(alpha).addcmul_(g, g, value=1 - alpha)
        if self._t % FLUSH_EVERY == 0:
            _flush_subnormals(sq)
        self._flat.addcdiv_(g, sq.sqrt().add_(group["eps"]), value=-group["lr"])
