"""Actor-critic loss gradients in numpy, for the A2C and PPO updates of small CPU networks.

A2C's update of a 64x64 actor-critic on 40 samples, or one PPO minibatch of 64, is a few
microseconds of arithmetic and hundreds of microseconds of torch dispatch and autograd
bookkeeping (a PPO minibatch on CartPole-sized inputs: ~770 us through autograd, ~210 us
here). Here the forward keeps its layer outputs, the loss gradient is written by hand
for the two heads the agents use (categorical, optionally masked; diagonal Gaussian with
a state-independent log-std) and back-propagated through the MLP (shared trunk or the
:class:`~autolearn.rl.common.policies.TwinMLP` pair) straight into the flat gradient
buffer of :class:`~autolearn.rl.common.optim.FlatAdam` / ``FlatRMSprop`` (A2C, PPO),
whose global norm clip and step then run as before, or into A3C's local gradient.

Same mathematics as torch's autograd of the same loss: ``tests/rl/test_npbackward.py``
checks every head and loss option against autograd, to 1e-6 in float64; in float32 (the
agents' dtype) they agree up to float32 rounding, the sums running in another order.

Used for CPU MLP policies without gSDE; anything else (CUDA, gSDE) keeps the torch
path. The loss gradients are pure functions of ``(B,)`` arrays:

* :func:`a2c_loss_grad`: ``L = -mean(A * log pi) + c_v * mean((V - R)^2) - beta * mean(H)``;
* :func:`ppo_loss_grad`: the clipped surrogate, optional (pessimistic) value clipping and
  the entropy bonus, with torch's tie rule for ``min``/``max`` (half the gradient to each
  side of an exact tie).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import torch

    from autolearn.rl.common.policies import ActorCritic

__all__ = ["ActorCriticGrad", "LossGrad", "a2c_loss_grad", "mean1d", "ppo_loss_grad"]

_LOG_2PI = float(np.log(2.0 * np.pi))
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def mean1d(x: np.ndarray) -> Any:
    """``x.mean()`` of a non-empty 1-d float32/float64 array, bitwise: numpy's ``_mean`` sums
    with ``np.add.reduce`` and divides the scalar sum by the count in float64, then casts
    back to the array's type; the same here, without its Python dispatch (a few
    microseconds a call). Anything else goes to ``x.mean()``."""
    if x.ndim != 1 or x.dtype not in _FLOATS or x.shape[0] == 0:
        return x.mean()
    return x.dtype.type(float(np.add.reduce(x)) / x.shape[0])


class LossGrad(NamedTuple):
    """A loss's gradient with respect to the per-sample quantities, and its diagnostics.

    Attributes:
        d_log_prob: ``(B,)`` dL/d log pi(a_i|s_i).
        d_entropy: dL/dH_i, the same for every sample (``-beta / B``), or 0.
        d_values: ``(B,)`` dL/dV(s_i).
        stats: diagnostics (floats; PPO adds the ``(B,)`` ``log_ratio`` array).
    """

    d_log_prob: np.ndarray
    d_entropy: float
    d_values: np.ndarray
    stats: dict[str, Any]


def a2c_loss_grad(log_prob: np.ndarray, entropy: np.ndarray, values: np.ndarray,
                  advantages: np.ndarray, returns: np.ndarray, *, ent_coef: float,
                  vf_coef: float) -> LossGrad:
    """Gradient of A2C's loss (:func:`~autolearn.rl.a2c.a2c_loss`, advantages already
    normalised if wanted); all arguments ``(B,)``."""
    n = log_prob.shape[0]
    err = values - returns
    stats: dict[str, Any] = {
        "policy_loss": -float(np.dot(advantages, log_prob)) / n,
        "value_loss": float(np.dot(err, err)) / n, "entropy": float(mean1d(entropy))}
    return LossGrad(advantages * (-1.0 / n), -ent_coef / n if ent_coef > 0 else 0.0,
                    err * (2.0 * vf_coef / n), stats)


def ppo_loss_grad(log_prob: np.ndarray, entropy: np.ndarray, values: np.ndarray,
                  old_log_prob: np.ndarray, old_values: np.ndarray, advantages: np.ndarray,
                  returns: np.ndarray, *, clip_range: float, clip_range_vf: float | None,
                  ent_coef: float, vf_coef: float) -> LossGrad:
    """Gradient of PPO's loss (:func:`~autolearn.rl.ppo.ppo_loss`, advantages already
    normalised if wanted); all arguments ``(B,)``. ``stats["log_ratio"]`` is the ``(B,)``
    log-ratio for :func:`~autolearn.rl.ppo.ratio_diagnostics`."""
    n = log_prob.shape[0]
    log_ratio = log_prob - old_log_prob
    ratio = np.exp(log_ratio)
    surr = advantages * ratio
    surr_clipped = advantages * np.clip(ratio, 1 - clip_range, 1 + clip_range)
    # torch.min: the whole gradient to the smaller side, half to each at a tie; the clamped
    # side passes it on only inside [1 - eps, 1 + eps] (bounds included), where the two
    # sides are equal
    inside = (ratio >= 1 - clip_range) & (ratio <= 1 + clip_range)
    share = np.where(surr < surr_clipped, 1.0,
                     np.where(surr == surr_clipped, np.where(inside, 1.0, 0.5), inside))
    d_log_prob = (-(1.0 / n) * advantages * ratio * share).astype(log_prob.dtype)
    policy_loss = -float(mean1d(np.minimum(surr, surr_clipped)))
    if clip_range_vf is None:
        err = values - returns
        value_loss = float(np.dot(err, err)) / n
        d_values = err * (2.0 * vf_coef / n)
    else:  # max((R - V)^2, (R - V_clip)^2), V_clip = V_old + clamp(V - V_old, +-eps_v)
        delta = values - old_values
        clipped = old_values + np.clip(delta, -clip_range_vf, clip_range_vf)
        a, b = (returns - values) ** 2, (returns - clipped) ** 2
        value_loss = float(mean1d(np.maximum(a, b)))
        d_a = 2.0 * (values - returns)
        d_b = np.where(np.abs(delta) <= clip_range_vf, 2.0 * (clipped - returns), 0.0)
        d_values = (np.where(a > b, d_a, np.where(a < b, d_b, 0.5 * (d_a + d_b)))
                    * (vf_coef / n)).astype(values.dtype)
    stats: dict[str, Any] = {
        "policy_loss": policy_loss, "value_loss": value_loss,
        "entropy": float(mean1d(entropy)), "log_ratio": log_ratio}
    return LossGrad(d_log_prob, -ent_coef / n if ent_coef > 0 else 0.0, d_values, stats)


def _act_grad(y: np.ndarray, name: str) -> np.ndarray:
    """The activation's derivative from its output ``y``: tanh ``1 - y^2``, relu ``y > 0``."""
    if name == "tanh":
        return 1.0 - y * y
    return (y > 0).astype(y.dtype)


class ActorCriticGrad:
    """Loss, gradient and diagnostics of an :class:`ActorCritic` update in numpy.

    Calling it on a batch writes the loss gradient with respect to ``params`` into the
    arrays it is given, e.g. the numpy views of a flat optimiser's gradient buffer
    (:meth:`~autolearn.rl.common.optim.FlatAdam.numpy_grad_views`, which also points every
    ``.grad`` there, ready for ``clip_grad_norm_`` and ``flat_step``; no ``zero_grad``).

    Args:
        policy: a CPU float32 (or float64) :class:`ActorCritic` without gSDE (see
            :meth:`supports`).
        params: the trainable parameters of ``policy`` whose gradients to write, in the
            order of the output arrays (a flat optimiser's ``trainable_params()``).
    """

    def __init__(self, policy: ActorCritic, params: Sequence[torch.Tensor]) -> None:
        if not self.supports(policy):
            raise ValueError("numpy gradients need a CPU float32/float64 ActorCritic "
                             "without gSDE")
        self.policy = policy
        index = {id(t): i for i, t in enumerate(policy.numpy_param_tensors())}
        self._order = [index[id(p)] for p in params]

    @staticmethod
    def supports(policy: ActorCritic) -> bool:
        """Whether ``policy`` is one this class differentiates (CPU, float32 or float64,
        no gSDE, Discrete or Box actions, no features extractor)."""
        p = policy.log_std
        return (not policy.use_sde and policy.numpy_ok and p.device.type == "cpu"
                and str(p.dtype) in ("torch.float32", "torch.float64")
                and all(t.device.type == "cpu" and t.dtype == p.dtype for t in
                        policy.parameters()))

    def __call__(self, obs: np.ndarray, actions: np.ndarray, mask: np.ndarray | None,
                 loss_grad: Callable[[np.ndarray, np.ndarray, np.ndarray], LossGrad],
                 out: Sequence[np.ndarray]) -> dict[str, Any]:
        """Write d loss / d ``params`` for ``(B, ...)`` ``obs`` and ``actions`` (``mask``:
        ``(B, K)`` allowed actions or None) into ``out`` (one array per parameter, its
        shape); ``loss_grad(log_prob, entropy, values)`` gives the loss's gradient in
        those ``(B,)`` quantities. Returns its diagnostics."""
        pol = self.policy
        w = pol._views.get()
        n_trunk = len(w) - 5
        x = obs.reshape(obs.shape[0], -1)
        # forward, keeping each layer's activated output
        outs: list[np.ndarray] = []
        h: np.ndarray
        if pol.shared:
            h = x
            for i in range(0, n_trunk, 2):
                h = _activate(h @ w[i].T + w[i + 1], pol.activation)
                outs.append(h)
            h_pi = h_vf = h
        else:
            h = _activate(x @ w[0].T + w[1], pol.activation)
            h = h.reshape(x.shape[0], 2, pol._twin_width).transpose(1, 0, 2)  # (2, B, h0)
            outs.append(h)
            for i in range(2, n_trunk, 2):
                h = _activate(np.matmul(h, w[i]) + w[i + 1], pol.activation)
                outs.append(h)
            h_pi, h_vf = h[0], h[1]
        w_pi, b_pi, w_vf, b_vf, log_std = w[n_trunk:]
        head = h_pi @ w_pi.T + b_pi
        values = (h_vf @ w_vf.T + b_vf)[:, 0]

        # the distribution's log-prob and entropy, then the loss's gradient through them
        grads: list[np.ndarray | None] = [None] * len(w)
        if pol.discrete:
            logits = head if mask is None else np.where(mask, head, -np.inf)
            z = logits - logits.max(axis=-1, keepdims=True)
            log_p_all = z - np.log(np.add.reduce(np.exp(z), axis=-1, keepdims=True))
            p = np.exp(log_p_all)
            rows = np.arange(x.shape[0])
            acts = actions.astype(np.int64, copy=False)
            log_prob = log_p_all[rows, acts]
            # masked choices (p = 0, log p = -inf) add nothing, as in MaskedCategorical
            plogp = p * (log_p_all if mask is None else np.where(mask, log_p_all, 0.0))
            entropy = -np.add.reduce(plogp, axis=-1)
            lg = loss_grad(log_prob, entropy, values)
            # d log p_a / d logits = onehot(a) - p;  dH / d logits = -p (log p + H)
            d_head = p * (-lg.d_log_prob)[:, None]
            d_head[rows, acts] += lg.d_log_prob
            if lg.d_entropy:
                d_head -= lg.d_entropy * (plogp + p * entropy[:, None])
        else:
            inv_std = np.exp(-log_std)
            zs = (actions - head) * inv_std
            log_prob = (-0.5 * zs * zs - log_std - 0.5 * _LOG_2PI).sum(axis=-1)
            entropy = np.broadcast_to((log_std + 0.5 * (1.0 + _LOG_2PI)).sum(),
                                      log_prob.shape)
            lg = loss_grad(log_prob, entropy, values)
            d_head = (zs * inv_std) * lg.d_log_prob[:, None]
            d_ls = lg.d_log_prob @ (zs * zs - 1.0)
            if lg.d_entropy:
                d_ls = d_ls + lg.d_entropy * x.shape[0]
            grads[-1] = d_ls.astype(log_std.dtype)
        d_v = lg.d_values.astype(head.dtype, copy=False)

        # back through the heads and the trunk
        grads[n_trunk], grads[n_trunk + 1] = d_head.T @ h_pi, np.add.reduce(d_head, axis=0)
        grads[n_trunk + 2] = (d_v @ h_vf)[None, :]
        grads[n_trunk + 3] = np.array([d_v.sum()], head.dtype)
        d_pi = d_head @ w_pi
        d_vf = np.multiply.outer(d_v, w_vf[0])
        if pol.shared:
            dh = d_pi + d_vf
            for k in range(len(outs) - 1, -1, -1):
                dz = dh * _act_grad(outs[k], pol.activation)
                h_in = outs[k - 1] if k > 0 else x
                grads[2 * k], grads[2 * k + 1] = dz.T @ h_in, np.add.reduce(dz, axis=0)
                if k > 0:
                    dh = dz @ w[2 * k]
        else:
            dh = np.empty((2, *d_pi.shape), np.result_type(d_pi, d_vf))  # (2, B, h_last)
            dh[0], dh[1] = d_pi, d_vf  # np.stack without its dispatch
            for k in range(len(outs) - 1, 0, -1):
                dz = dh * _act_grad(outs[k], pol.activation)
                grads[2 * k] = np.matmul(outs[k - 1].transpose(0, 2, 1), dz)
                grads[2 * k + 1] = np.add.reduce(dz, axis=1, keepdims=True)
                dh = np.matmul(dz, w[2 * k].transpose(0, 2, 1))
            dz = (dh * _act_grad(outs[0], pol.activation)).transpose(1, 0, 2).reshape(
                x.shape[0], -1)
            grads[0], grads[1] = dz.T @ x, np.add.reduce(dz, axis=0)
        for view, i in zip(out, self._order, strict=True):
            view[...] = grads[i]
        return lg.stats


def _activate(h: np.ndarray, name: str) -> np.ndarray:
    if name == "tanh":
        return np.tanh(h, out=h)
    return np.maximum(h, 0.0, out=h)
