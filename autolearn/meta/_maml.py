"""MAML, first-order MAML, Meta-SGD and Reptile over explicit parameter dicts.

The network is never modified: its parameters are read once into a dict ``theta`` and
every forward pass is ``torch.func.functional_call(model, (params, buffers), x)``. The
inner loop adapts a copy per task (tasks batched with ``torch.func.vmap``)::

    phi_i = theta - alpha * grad L_support_i(theta)            (inner_steps times)

and the outer step follows the algorithm:

- ``maml``: minimise sum_i L_query_i(phi_i) through the inner loop (second order:
  ``torch.autograd.grad(..., create_graph=True)``).
- ``fomaml``: the same with the inner gradients treated as constants (the Hessian terms
  dropped), i.e. the meta-gradient is grad L_query_i evaluated at phi_i.
- ``metasgd``: MAML with ``alpha`` a learned tensor per parameter (Li et al. 2017).
- ``reptile``: phi_i = ``inner_steps`` SGD steps on the task's support + query data, then
  ``theta <- theta - eps * (theta - mean_i phi_i)``: the outer optimizer receives
  ``theta - mean phi`` as its gradient (so plain SGD with lr ``eps`` is the paper's rule).

Example:
    >>> from autolearn.meta import MetaConfig, MetaLearner, SinusoidTasks, build_model
    >>> net = build_model({"kind": "mlp", "sizes": [1, 40, 40, 1]}, seed=0)
    >>> learner = MetaLearner(net, MetaConfig(meta_batch_size=4), seed=0)
    >>> learner = learner.fit(SinusoidTasks(shots=10), n_steps=5)
    >>> scores = learner.evaluate(SinusoidTasks(shots=10), n_tasks=8, inner_steps=2)
    >>> len(scores["loss"])  # query loss after 0, 1, 2 inner steps
    3

References:
    Finn, Abbeel, Levine. Model-Agnostic Meta-Learning for Fast Adaptation of Deep
    Networks. ICML 2017.
    Nichol, Achiam, Schulman. On First-Order Meta-Learning Algorithms. arXiv:1803.02999.
    Li, Zhou, Chen, Li. Meta-SGD: Learning to Learn Quickly for Few-Shot Learning.
    arXiv:1707.09835, 2017.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, vmap

from autolearn._files import atomic_write
from autolearn._finite import clipped_norm, refuse_non_finite_gradient
from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import ConfigError
from autolearn.meta._tasks import Task, TaskSampler, stack_tasks

__all__ = [
    "ALGORITHMS",
    "MetaConfig",
    "MetaLearner",
    "adaptation_curve",
    "evaluate_init",
    "inner_loop",
    "meta_loss",
    "task_losses",
]

_log = logging.getLogger(__name__)

ALGORITHMS = ("maml", "fomaml", "metasgd", "reptile")
LossFn = Callable[[Tensor, Tensor], Tensor]
Params = dict[str, Tensor]
LOSSES: dict[str, LossFn] = {"mse": F.mse_loss, "cross_entropy": F.cross_entropy}


def _check(name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigError(f"`{name}` must {rule}, but got {name}={value!r}")


def _is_int(v: Any, low: int = 1) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= low


@dataclass(frozen=True)
class MetaConfig:
    """Meta-learning hyperparameters (defaults: MAML's sinusoid settings).

    Attributes:
        algorithm: ``"maml"``, ``"fomaml"``, ``"metasgd"`` or ``"reptile"``.
        inner_steps: SGD steps on a task's data during meta-training.
        inner_lr: inner-loop step size alpha (Meta-SGD: the initial value of every entry).
        eval_inner_steps: steps used by :meth:`MetaLearner.evaluate` (may exceed
            ``inner_steps``; MAML's paper trains with 1 and evaluates up to 10).
        meta_batch_size: tasks per outer step.
        outer_optimizer: ``"adam"`` or ``"sgd"``.
        outer_lr: the outer step size (Reptile's epsilon when ``outer_optimizer="sgd"``).
        anneal_outer_lr: decay the outer step size linearly to 0 over a ``fit`` call.
        max_grad_norm: clip the meta-gradient's global norm (None: no clipping).
        vectorize: batch the tasks with ``torch.func.vmap`` (False: a Python loop, for
            modules vmap cannot handle).
    """

    algorithm: str = "maml"
    inner_steps: int = 1
    inner_lr: float = 0.01
    eval_inner_steps: int = 10
    meta_batch_size: int = 25
    outer_optimizer: str = "adam"
    outer_lr: float = 1e-3
    anneal_outer_lr: bool = False
    max_grad_norm: float | None = None
    vectorize: bool = True

    def __post_init__(self) -> None:
        _check("algorithm", self.algorithm, self.algorithm in ALGORITHMS,
               f"be one of {', '.join(ALGORITHMS)}")
        for name in ("inner_steps", "eval_inner_steps", "meta_batch_size"):
            _check(name, getattr(self, name), _is_int(getattr(self, name)), "be an int >= 1")
        for name in ("inner_lr", "outer_lr"):
            v = getattr(self, name)
            _check(name, v, isinstance(v, int | float) and not isinstance(v, bool)
                   and math.isfinite(v) and v > 0, "be a finite number > 0")
        _check("outer_optimizer", self.outer_optimizer,
               self.outer_optimizer in ("adam", "sgd"), "be 'adam' or 'sgd'")
        _check("max_grad_norm", self.max_grad_norm,
               self.max_grad_norm is None or self.max_grad_norm > 0, "be None or > 0")
        for name in ("anneal_outer_lr", "vectorize"):
            _check(name, getattr(self, name), isinstance(getattr(self, name), bool),
                   "be a bool")

    @property
    def first_order(self) -> bool:
        """Whether the inner gradients are treated as constants (fomaml, reptile)."""
        return self.algorithm in ("fomaml", "reptile")


# ----------------------------------------------------------------------------------------
# Pure functions over parameter dicts. Batched params carry a leading task dimension B.


def task_losses(model: nn.Module, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor],
                x: Tensor, y: Tensor, *, loss_fn: LossFn, vectorize: bool = True) -> Tensor:
    """Per-task losses ``(B,)`` of batched ``params`` (each ``(B, *shape)``) on ``x (B, n,
    ...)``, ``y (B, n, ...)``; ``buffers`` are shared by all tasks."""

    def one(p: Mapping[str, Tensor], xx: Tensor, yy: Tensor) -> Tensor:
        return loss_fn(functional_call(model, (dict(p), dict(buffers)), (xx,)), yy)

    if vectorize:
        return vmap(one, randomness="different")(dict(params), x, y)
    return torch.stack([one({k: v[i] for k, v in params.items()}, x[i], y[i])
                        for i in range(x.shape[0])])


def _expand(params: Mapping[str, Tensor], n: int) -> Params:
    return {k: v.unsqueeze(0).expand(n, *v.shape) for k, v in params.items()}


def inner_loop(model: nn.Module, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor],
               x: Tensor, y: Tensor, *, loss_fn: LossFn, steps: int,
               lrs: float | Mapping[str, Tensor], first_order: bool,
               vectorize: bool = True) -> tuple[Params, Tensor]:
    """Adapt ``params`` (unbatched theta) to each of the ``B`` tasks in ``x, y``.

    Runs ``steps`` of ``phi <- phi - lr * grad L(phi)`` (``lrs``: one float or a tensor
    per parameter, Meta-SGD). With ``first_order=False`` the graph of every inner
    gradient is kept, so a loss of the returned ``phi`` back-propagates second-order
    terms into ``params`` (and into ``lrs``). Returns ``(phi, losses)`` where ``phi``
    holds ``(B, *shape)`` tensors and ``losses`` is the ``(B,)`` loss before the first step.
    """
    phi = _expand(params, x.shape[0])
    if first_order and not any(v.requires_grad for v in phi.values()):
        phi = {k: v.detach().clone().requires_grad_(True) for k, v in phi.items()}
    first = None
    for _ in range(steps):
        losses = task_losses(model, phi, buffers, x, y, loss_fn=loss_fn, vectorize=vectorize)
        if first is None:
            first = losses.detach()
        grads = torch.autograd.grad(losses.sum(), list(phi.values()),
                                    create_graph=not first_order, allow_unused=True)
        new = {}
        for (k, p), g in zip(phi.items(), grads, strict=True):
            if g is None:
                new[k] = p
                continue
            if first_order:
                g = g.detach()
            lr = lrs if isinstance(lrs, float | int) else lrs[k]
            new[k] = p - lr * g
        phi = new
    if first is None:
        with torch.no_grad():
            first = task_losses(model, phi, buffers, x, y, loss_fn=loss_fn, vectorize=vectorize)
    return phi, first


def meta_loss(model: nn.Module, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor],
              batch: Sequence[Tensor], *, loss_fn: LossFn, steps: int,
              lrs: float | Mapping[str, Tensor], first_order: bool, vectorize: bool = True
              ) -> tuple[Tensor, Params]:
    """MAML's objective: mean over tasks of the query loss after adapting on the support.

    ``batch`` is ``(support_x, support_y, query_x, query_y)`` stacked over tasks (see
    :func:`autolearn.meta.stack_tasks`). Returns ``(loss, phi)``; ``loss.backward()``
    gives the second-order meta-gradient, or the first-order one when ``first_order``.
    """
    sx, sy, qx, qy = batch
    phi, _ = inner_loop(model, params, buffers, sx, sy, loss_fn=loss_fn, steps=steps,
                        lrs=lrs, first_order=first_order, vectorize=vectorize)
    loss = task_losses(model, phi, buffers, qx, qy, loss_fn=loss_fn, vectorize=vectorize)
    return loss.mean(), phi


def _accuracy(model: nn.Module, params: Params, buffers: Mapping[str, Tensor], x: Tensor,
              y: Tensor, vectorize: bool) -> Tensor:
    def one(p: Mapping[str, Tensor], xx: Tensor, yy: Tensor) -> Tensor:
        out = functional_call(model, (dict(p), dict(buffers)), (xx,))
        return (out.argmax(-1) == yy).float().mean()

    if vectorize:
        return vmap(one)(dict(params), x, y)
    return torch.stack([one({k: v[i] for k, v in params.items()}, x[i], y[i])
                        for i in range(x.shape[0])])


def adaptation_curve(model: nn.Module, params: Mapping[str, Tensor],
                     buffers: Mapping[str, Tensor], batch: Sequence[Tensor], *,
                     loss_fn: LossFn, steps: int, lrs: float | Mapping[str, Tensor],
                     optimizer: str = "sgd", batched: bool = False, vectorize: bool = True,
                     accuracy: bool = False) -> dict[str, Tensor]:
    """Fine-tune on each task's support set and score the query set after every step.

    Used to evaluate meta-learned initialisations and the baselines alike. ``params``
    are one initialisation (or, with ``batched=True``, one per task: ``(B, *shape)``);
    ``optimizer`` is ``"sgd"`` (step ``lrs``) or ``"adam"`` (step ``lrs``, default betas).
    Returns ``{"loss": (B, steps + 1)}`` (query loss after 0..steps steps) and, with
    ``accuracy``, ``{"accuracy": (B, steps + 1)}``. No graph is kept.
    """
    sx, sy, qx, qy = batch
    n = sx.shape[0]
    phi = ({k: v.detach().clone() for k, v in params.items()} if batched
           else {k: v.detach().clone() for k, v in _expand(params, n).items()})
    m = {k: torch.zeros_like(v) for k, v in phi.items()}
    s = {k: torch.zeros_like(v) for k, v in phi.items()}
    losses, accs = [], []

    def score() -> None:
        with torch.no_grad():
            losses.append(task_losses(model, phi, buffers, qx, qy, loss_fn=loss_fn,
                                      vectorize=vectorize))
            if accuracy:
                accs.append(_accuracy(model, phi, buffers, qx, qy, vectorize))

    score()
    for t in range(1, steps + 1):
        with torch.enable_grad():
            leaves = {k: v.requires_grad_(True) for k, v in phi.items()}
            loss = task_losses(model, leaves, buffers, sx, sy, loss_fn=loss_fn,
                               vectorize=vectorize).sum()
            grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
        with torch.no_grad():
            new = {}
            for (k, p), g in zip(leaves.items(), grads, strict=True):
                g = torch.zeros_like(p) if g is None else g
                lr = lrs if isinstance(lrs, float | int) else lrs[k]
                if optimizer == "adam":
                    m[k].mul_(0.9).add_(g, alpha=0.1)
                    s[k].mul_(0.999).addcmul_(g, g, value=0.001)
                    g = (m[k] / (1 - 0.9**t)) / ((s[k] / (1 - 0.999**t)).sqrt() + 1e-8)
                new[k] = (p - lr * g).detach()
            phi = new
        score()
    out = {"loss": torch.stack(losses, 1)}
    if accuracy:
        out["accuracy"] = torch.stack(accs, 1)
    return out


# ----------------------------------------------------------------------------------------
# The learner: holds theta (and Meta-SGD's alpha), the outer optimizer and the history.

Callback = Callable[["MetaLearner", dict[str, Any]], "bool | None"]


class MetaLearner:
    """Meta-learns an initialisation of ``model`` (MAML / FOMAML / Meta-SGD / Reptile).

    Args:
        model: any ``nn.Module``; it is never modified in place (its parameters are
            copied into :attr:`params`; use :meth:`adapted_model` or :meth:`init_model`
            to get modules back). Buffers are passed through unchanged.
        config: hyperparameters, see :class:`MetaConfig`.
        loss: ``"mse"``, ``"cross_entropy"``, a callable ``loss(pred, target) -> scalar``
            for one task, or None for the sampler's ``loss`` (read at ``fit``).
        seed: fixes the task draws of ``fit`` and ``evaluate`` (an int gives identical
            histories on a rerun, single-threaded torch).
        device: where the parameters and tasks live.
        model_spec: the :func:`autolearn.meta.build_model` spec of ``model``, if it was
            built from one (saved so :meth:`load` can rebuild it).
    """

    def __init__(self, model: nn.Module, config: MetaConfig | None = None, *,
                 loss: str | LossFn | None = None, seed: SeedLike = None,
                 device: str | torch.device = "cpu",
                 model_spec: dict[str, Any] | None = None) -> None:
        self.config = config if config is not None else MetaConfig()
        _check("model", type(model).__name__, isinstance(model, nn.Module), "be an nn.Module")
        if isinstance(loss, str):
            _check("loss", loss, loss in LOSSES, f"be one of {sorted(LOSSES)} or a callable")
        self.device = torch.device(device)
        self.model = copy.deepcopy(model).to(self.device)
        self.model_spec = model_spec
        self.loss = loss
        self.params: Params = {k: v.detach().clone().requires_grad_(True)
                               for k, v in self.model.named_parameters()}
        self.buffers: Params = {k: v.detach().clone() for k, v in self.model.named_buffers()}
        self.inner_lrs: Params | None = None
        if self.config.algorithm == "metasgd":
            self.inner_lrs = {k: torch.full_like(v, self.config.inner_lr).requires_grad_(True)
                              for k, v in self.params.items()}
        self.rng = as_generator(seed)
        cfg = self.config
        groups = list(self.params.values()) + list((self.inner_lrs or {}).values())
        opt_cls = torch.optim.Adam if cfg.outer_optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt_cls(groups, lr=cfg.outer_lr)
        self.history: list[dict[str, Any]] = []
        self.meta_steps = 0
        self.task_spec: dict[str, Any] | None = None

    # -- helpers -------------------------------------------------------------------------

    def _loss_fn(self, sampler: TaskSampler | None = None) -> LossFn:
        loss = self.loss
        if loss is None:
            loss = getattr(sampler, "loss", None) or "mse"
            self.loss = loss
        return LOSSES[loss] if isinstance(loss, str) else loss

    def _lrs(self) -> float | Params:
        return self.inner_lrs if self.inner_lrs is not None else float(self.config.inner_lr)

    def _batch(self, tasks: Sequence[Task]) -> list[Tensor]:
        return [t.to(self.device) for t in stack_tasks(tasks)]

    # -- training ------------------------------------------------------------------------

    def meta_step(self, tasks: Sequence[Task], *, loss_fn: LossFn | None = None
                  ) -> dict[str, float]:
        """One outer update on ``tasks``; returns the step's diagnostics.

        A non-finite meta-gradient (NaN or inf in a task's data, or training diverging)
        raises :class:`~autolearn.exceptions.NonFiniteError` and is not applied: the
        meta-parameters and the optimiser state stay those of the last finite step."""
        cfg = self.config
        loss_fn = loss_fn or self._loss_fn()
        batch = self._batch(tasks)
        self.optimizer.zero_grad(set_to_none=True)
        if cfg.algorithm == "reptile":
            sx, sy, qx, qy = batch
            x, y = torch.cat([sx, qx], 1), torch.cat([sy, qy], 1)
            theta = {k: v.detach() for k, v in self.params.items()}
            phi, before = inner_loop(self.model, theta, self.buffers, x, y, loss_fn=loss_fn,
                                     steps=cfg.inner_steps, lrs=float(cfg.inner_lr),
                                     first_order=True, vectorize=cfg.vectorize)
            with torch.no_grad():
                after = task_losses(self.model, phi, self.buffers, x, y, loss_fn=loss_fn,
                                    vectorize=cfg.vectorize)
                for k, p in self.params.items():
                    p.grad = p.detach() - phi[k].mean(0)
            row = {"loss_before": float(before.mean()), "loss_after": float(after.mean())}
        else:
            sx, sy, qx, qy = batch
            phi, before = inner_loop(self.model, self.params, self.buffers, sx, sy,
                                     loss_fn=loss_fn, steps=cfg.inner_steps, lrs=self._lrs(),
                                     first_order=cfg.first_order, vectorize=cfg.vectorize)
            loss = task_losses(self.model, phi, self.buffers, qx, qy, loss_fn=loss_fn,
                               vectorize=cfg.vectorize).mean()
            loss.backward()
            row = {"loss_before": float(before.mean()), "loss_after": float(loss.detach())}
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        refuse_non_finite_gradient(
            clipped_norm(params, cfg.max_grad_norm), "MetaLearner",
            f"{self.meta_steps} meta-steps", "A task's data holds NaN or inf, or training "
            "diverged: lower `outer_lr` / `inner_lr`, or set `max_grad_norm`")
        self.optimizer.step()
        self.meta_steps += 1
        return row

    def fit(self, tasks: TaskSampler, n_steps: int, *,
            callback: Callback | Sequence[Callback] | None = None, progress: bool = False,
            log_every: int = 1) -> MetaLearner:
        """Run ``n_steps`` outer updates on batches of ``meta_batch_size`` tasks.

        Every ``log_every`` steps a row ``{"step", "loss_before", "loss_after", "lr",
        "seconds"}`` is appended to :attr:`history` and passed to each callback
        ``callback(learner, row)``; a callback returning ``False`` stops training.
        ``loss_before`` is the mean support loss before adaptation, ``loss_after`` the
        mean query loss after it (Reptile: both on the support + query data it trains
        on). ``progress`` shows a
        rich progress bar on stderr.
        """
        _check("n_steps", n_steps, _is_int(n_steps), "be an int >= 1")
        _check("log_every", log_every, _is_int(log_every), "be an int >= 1")
        _check("tasks", type(tasks).__name__, hasattr(tasks, "sample"),
               "have a sample(n_tasks, rng) method")
        callbacks = [] if callback is None else (
            [callback] if callable(callback) else list(callback))
        loss_fn = self._loss_fn(tasks)
        if self.task_spec is None and hasattr(tasks, "spec"):
            self.task_spec = tasks.spec()
        cfg = self.config
        bar = _Bar(n_steps, enabled=progress)
        start = time.perf_counter()
        try:
            for i in range(n_steps):
                lr = cfg.outer_lr * (1 - i / n_steps) if cfg.anneal_outer_lr else cfg.outer_lr
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                row = self.meta_step(tasks.sample(cfg.meta_batch_size, self.rng),
                                     loss_fn=loss_fn)
                bar.update(row["loss_after"])
                if (i + 1) % log_every and i + 1 != n_steps:
                    continue
                row = {"step": self.meta_steps, **row, "lr": lr,
                       "seconds": time.perf_counter() - start}
                self.history.append(row)
                if any(cb(self, row) is False for cb in callbacks):
                    _log.info("callback stopped meta-training at step %d", self.meta_steps)
                    break
        finally:
            bar.close()
        return self

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self, tasks: TaskSampler, *, n_tasks: int = 100, inner_steps: int | None = None,
                 inner_lr: float | None = None, seed: SeedLike = None) -> dict[str, Any]:
        """Fine-tune the learned init on ``n_tasks`` new tasks; query scores per step.

        Returns ``{"loss": [...], "loss_sd": [...], "accuracy": [...] (classification),
        "per_task_loss": (n_tasks, steps + 1) array}``, lists indexed by the number of
        inner steps taken (0 .. ``inner_steps``, default ``config.eval_inner_steps``).
        ``seed`` (default: the learner's generator) fixes which tasks are drawn.
        """
        steps = self.config.eval_inner_steps if inner_steps is None else inner_steps
        _check("inner_steps", steps, _is_int(steps, 0), "be an int >= 0")
        _check("n_tasks", n_tasks, _is_int(n_tasks), "be an int >= 1")
        rng = self.rng if seed is None else as_generator(seed)
        lrs = float(inner_lr) if inner_lr is not None else self._lrs()
        return evaluate_init(self.model, self.params, self.buffers, tasks, n_tasks=n_tasks,
                             steps=steps, lrs=lrs, loss_fn=self._loss_fn(tasks), rng=rng,
                             batch_size=self.config.meta_batch_size,
                             vectorize=self.config.vectorize, device=self.device)

    def init_model(self) -> nn.Module:
        """A copy of the network holding the meta-learned initialisation."""
        net = copy.deepcopy(self.model)
        with torch.no_grad():
            for k, p in net.named_parameters():
                p.copy_(self.params[k])
        return net

    def adapted_model(self, support_x: Tensor, support_y: Tensor, *,
                      steps: int | None = None) -> nn.Module:
        """A copy of the network fine-tuned on one support set (``eval_inner_steps``)."""
        steps = self.config.eval_inner_steps if steps is None else steps
        lrs = self._lrs()
        phi, _ = inner_loop(self.model, {k: v.detach() for k, v in self.params.items()},
                            self.buffers, support_x.unsqueeze(0).to(self.device),
                            support_y.unsqueeze(0).to(self.device), loss_fn=self._loss_fn(),
                            steps=steps, lrs={k: v.detach() for k, v in lrs.items()}
                            if isinstance(lrs, dict) else lrs, first_order=True,
                            vectorize=self.config.vectorize)
        net = copy.deepcopy(self.model)
        with torch.no_grad():
            for k, p in net.named_parameters():
                p.copy_(phi[k][0])
        return net

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the meta-learned init, Meta-SGD's step sizes, config and history."""
        payload = {
            "format": 1,
            "config": json.dumps(asdict(self.config)),
            "params": {k: v.detach().cpu() for k, v in self.params.items()},
            "buffers": {k: v.cpu() for k, v in self.buffers.items()},
            "inner_lrs": None if self.inner_lrs is None
            else {k: v.detach().cpu() for k, v in self.inner_lrs.items()},
            "model_spec": json.dumps(self.model_spec),
            "task_spec": json.dumps(self.task_spec),
            "loss": self.loss if isinstance(self.loss, str) else None,
            "history": json.dumps(self.history),
            "meta_steps": self.meta_steps,
        }
        atomic_write(path, partial(torch.save, payload))

    @classmethod
    def load(cls, path: str | os.PathLike[str], model: nn.Module | None = None, *,
             seed: SeedLike = None, device: str | torch.device = "cpu") -> MetaLearner:
        """Rebuild a learner saved by :meth:`save`.

        ``model`` is needed only when the learner was not built from a
        :func:`autolearn.meta.build_model` spec. The outer optimizer's state is not saved:
        further ``fit`` calls restart it.
        """
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            spec = json.loads(payload["model_spec"])
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
            raise ConfigError(f"{os.fspath(path)!r} is not a learner saved by "
                              f"MetaLearner.save ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        if model is None:
            if spec is None:
                raise ConfigError("`model` must be given to load a learner whose network "
                                  "was not built from a spec, but got model=None")
            from autolearn.meta._models import build_model

            model = build_model(spec, seed=0)
        config = MetaConfig(**json.loads(payload["config"]))
        learner = cls(model, config, loss=payload["loss"], seed=seed, device=device,
                      model_spec=spec)
        with torch.no_grad():
            for k, v in payload["params"].items():
                learner.params[k].copy_(v)
            for k, v in payload["buffers"].items():
                learner.buffers[k].copy_(v)
            if payload["inner_lrs"] is not None and learner.inner_lrs is not None:
                for k, v in payload["inner_lrs"].items():
                    learner.inner_lrs[k].copy_(v)
        learner.task_spec = json.loads(payload["task_spec"])
        learner.history = json.loads(payload["history"])
        learner.meta_steps = int(payload["meta_steps"])
        return learner


def evaluate_init(model: nn.Module, params: Mapping[str, Tensor], buffers: Mapping[str, Tensor],
                  tasks: TaskSampler, *, n_tasks: int, steps: int,
                  lrs: float | Mapping[str, Tensor], loss_fn: LossFn, rng: np.random.Generator,
                  batch_size: int = 25, optimizer: str = "sgd", vectorize: bool = True,
                  device: torch.device | str = "cpu",
                  init_fn: Callable[[int], Params] | None = None) -> dict[str, Any]:
    """Score an initialisation by fine-tuning on ``n_tasks`` tasks (see :func:`adaptation_curve`).

    ``init_fn(n)``, if given, returns ``n`` per-task initialisations (``(n, *shape)``
    tensors) used instead of ``params`` (the from-scratch baseline).
    """
    classify = getattr(tasks, "loss", "mse") == "cross_entropy"
    if isinstance(lrs, Mapping):
        lrs = {k: v.detach() for k, v in lrs.items()}
    losses, accs = [], []
    done = 0
    while done < n_tasks:
        n = min(batch_size, n_tasks - done)
        batch = [t.to(device) for t in stack_tasks(tasks.sample(n, rng))]
        init = init_fn(n) if init_fn is not None else params
        out = adaptation_curve(model, init, buffers, batch, loss_fn=loss_fn, steps=steps,
                               lrs=lrs, optimizer=optimizer, batched=init_fn is not None,
                               vectorize=vectorize, accuracy=classify)
        losses.append(out["loss"])
        if classify:
            accs.append(out["accuracy"])
        done += n
    per_task = torch.cat(losses).cpu().numpy()
    result: dict[str, Any] = {"loss": per_task.mean(0).tolist(),
                              "loss_sd": per_task.std(0).tolist(), "per_task_loss": per_task}
    if classify:
        acc = torch.cat(accs).cpu().numpy()
        result["accuracy"] = acc.mean(0).tolist()
        result["per_task_accuracy"] = acc
    return result


class _Bar:
    """A rich progress bar on stderr (only when enabled)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._rich: Any = None
        if enabled:
            import sys

            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("[bold]meta-steps"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[loss]}"),
                console=Console(file=sys.stderr), transient=False)
            self._task = self._rich.add_task("meta", total=total, loss="")
            self._rich.start()

    def update(self, loss: float) -> None:
        if self._rich is not None:
            self._rich.update(self._task, advance=1, loss=f"query loss {loss:.4g}")

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
