"""Optimisee problems: families of tasks on which an LSTM optimizer is meta-trained.

A :class:`Problem` samples :class:`Task` s; a task is one optimisee written functionally —
a starting parameter vector ``theta0`` of shape ``(n,)`` and a pure ``loss(theta, step)``
(the minibatch loss at optimisation step ``step``) — so an unroll of the optimizer stays
differentiable with respect to the optimizer's weights. Registry: :data:`PROBLEMS`.
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from autolearn._rng import SeedLike, as_generator
from autolearn.exceptions import ConfigError

__all__ = [
    "PROBLEMS",
    "FunctionProblem",
    "MLPProblem",
    "Problem",
    "QuadraticProblem",
    "Task",
    "make_problem",
]


def _torch_generator(rng: np.random.Generator) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng.integers(2**62)))


class Task(abc.ABC):
    """One optimisee: ``theta0`` (shape ``(n,)``) and a differentiable loss per step.

    ``loss(theta, step)`` must be a pure function of ``theta`` for a fixed ``step`` (the
    same minibatch each time it is asked for the same step), so that a meta-gradient and
    its finite-difference check see one function.
    """

    theta0: Tensor

    @abc.abstractmethod
    def loss(self, theta: Tensor, step: int) -> Tensor:
        """The (minibatch) training loss at step ``step``; a scalar tensor."""

    def evaluate(self, theta: Tensor) -> dict[str, float]:
        """Metrics of the final parameters; ``"loss"`` is what checkpoints are chosen on."""
        with torch.no_grad():
            return {"loss": float(self.loss(theta, 0))}


class Problem(abc.ABC):
    """A family of tasks; ``sample_task(seed)`` draws one (reproducible for an int seed)."""

    name: str = "problem"

    @abc.abstractmethod
    def sample_task(self, seed: SeedLike = None) -> Task:
        """A new task of this family."""


# --------------------------------------------------------------------------- quadratics


class _QuadraticTask(Task):
    def __init__(self, W: Tensor, y: Tensor, theta0: Tensor) -> None:
        self.W, self.y, self.theta0 = W, y, theta0

    def loss(self, theta: Tensor, step: int) -> Tensor:
        b, d = self.y.shape
        r = torch.bmm(self.W, theta.view(b, d, 1)).squeeze(-1) - self.y
        return (r * r).sum(-1).mean()


class QuadraticProblem(Problem):
    """Batches of random quadratics ``f(theta) = ||W theta - y||^2`` (the paper's §3.1).

    One task is ``n_functions`` independent ``dim``-dimensional functions optimised
    together (their parameters concatenated, loss = mean over the functions), with
    ``W, y ~ U[0, 1]`` and ``theta0 ~ N(0, init_std^2)``.

    Example:
        >>> task = QuadraticProblem(dim=10, n_functions=4).sample_task(0)
        >>> task.theta0.shape
        torch.Size([40])
    """

    name = "quadratic"

    def __init__(self, *, dim: int = 10, n_functions: int = 128, init_std: float = 0.01,
                 dtype: torch.dtype = torch.float32) -> None:
        _check_positive_int("dim", dim)
        _check_positive_int("n_functions", n_functions)
        if not (isinstance(init_std, int | float) and init_std >= 0):
            raise ConfigError(f"`init_std` must be a number >= 0, but got {init_std!r}")
        self.dim, self.n_functions, self.init_std, self.dtype = dim, n_functions, init_std, dtype

    def sample_task(self, seed: SeedLike = None) -> Task:
        g = _torch_generator(as_generator(seed))
        b, d = self.n_functions, self.dim
        W = torch.rand(b, d, d, generator=g, dtype=self.dtype)
        y = torch.rand(b, d, generator=g, dtype=self.dtype)
        theta0 = torch.randn(b * d, generator=g, dtype=self.dtype) * self.init_std
        return _QuadraticTask(W, y, theta0)


# --------------------------------------------------------------------------- MLPs


@functools.cache
def _dataset(name: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(x_train, y_train, x_test, y_test)``, generated or bundled locally, never downloaded."""
    if name == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        perm = np.random.default_rng(0).permutation(len(y))
        x, y = x[perm] / 16.0, y[perm]
        n_train = 1347  # scikit-learn's default 75 / 25 split of the 1,797 images
        parts = (x[:n_train], y[:n_train], x[n_train:], y[n_train:])
    elif name == "mnist1d":
        from mnist1d.data import get_dataset_args, make_dataset

        d = make_dataset(get_dataset_args())  # 4,000 + 1,000 sequences, made locally
        parts = (d["x"], d["y"], d["x_test"], d["y_test"])
    else:
        raise ConfigError(f"`dataset` must be 'digits' or 'mnist1d', but got {name!r}")
    x_tr, y_tr, x_te, y_te = parts
    return (torch.as_tensor(x_tr, dtype=torch.float32), torch.as_tensor(y_tr, dtype=torch.long),
            torch.as_tensor(x_te, dtype=torch.float32), torch.as_tensor(y_te, dtype=torch.long))


_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "sigmoid": nn.Sigmoid, "relu": nn.ReLU, "tanh": nn.Tanh,
}


class _MLPTask(Task):
    def __init__(self, problem: MLPProblem, rng: np.random.Generator) -> None:
        self.problem = problem
        self.rng = rng
        g = _torch_generator(rng)
        chunks = []
        for i, (_, shape) in enumerate(problem.shapes):
            # A bias takes the fan-in of the weight matrix before it.
            fan_in = shape[1] if len(shape) == 2 else problem.shapes[i - 1][1][1]
            bound = 1.0 / math.sqrt(fan_in)  # torch.nn.Linear's default initialisation
            chunks.append((torch.rand(math.prod(shape), generator=g) * 2 - 1) * bound)
        self.theta0 = torch.cat(chunks)
        self._batches: list[np.ndarray] = []

    def _batch(self, step: int) -> np.ndarray:
        n = len(self.problem.data[1])
        while len(self._batches) <= step:
            self._batches.append(self.rng.choice(n, self.problem.batch_size, replace=False))
        return self._batches[step]

    def loss(self, theta: Tensor, step: int) -> Tensor:
        x, y = self.problem.data[0], self.problem.data[1]
        idx = torch.as_tensor(self._batch(step))
        return self.problem.loss_on(theta, x[idx], y[idx])

    def evaluate(self, theta: Tensor) -> dict[str, float]:
        x, y, x_te, y_te = self.problem.data
        with torch.no_grad():
            train_loss = float(self.problem.loss_on(theta, x, y))
            acc = float((self.problem.logits(theta, x_te).argmax(-1) == y_te).float().mean())
        return {"loss": train_loss, "test_accuracy": acc}


class MLPProblem(Problem):
    """A small MLP classifier trained with minibatches; tasks differ in init and batches.

    The paper's MNIST setting is one hidden layer of 20 sigmoid units, batch 128.
    ``dataset`` is ``"digits"`` (scikit-learn's bundled 8x8 digits, 1,347 train / 450
    test images) or ``"mnist1d"`` (generated locally, 4,000 / 1,000). The network runs
    through :func:`torch.func.functional_call` on a parameter dict cut from ``theta``.
    ``evaluate`` gives the full training-set cross-entropy and the test accuracy.

    Example:
        >>> problem = MLPProblem(dataset="digits", hidden=(20,), activation="sigmoid")
        >>> problem.n_params
        1510
    """

    def __init__(self, *, dataset: str = "digits", hidden: Sequence[int] = (20,),
                 activation: str = "sigmoid", batch_size: int = 128) -> None:
        if dataset not in ("digits", "mnist1d"):
            raise ConfigError(f"`dataset` must be 'digits' or 'mnist1d', but got {dataset!r}")
        if activation not in _ACTIVATIONS:
            raise ConfigError(
                f"`activation` must be one of {sorted(_ACTIVATIONS)}, but got {activation!r}")
        hidden = tuple(hidden)
        for h in hidden:
            _check_positive_int("hidden", h)
        _check_positive_int("batch_size", batch_size)
        self.dataset, self.hidden, self.activation = dataset, hidden, activation
        self.batch_size = batch_size
        self.name = f"mlp-{dataset}-{'x'.join(map(str, hidden))}-{activation}"
        n_in = {"digits": 64, "mnist1d": 40}[dataset]
        layers: list[nn.Module] = []
        sizes = (n_in, *hidden, 10)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(hidden):
                layers.append(_ACTIVATIONS[activation]())
        self.module = nn.Sequential(*layers).requires_grad_(False)
        self.shapes = [(k, tuple(p.shape)) for k, p in self.module.named_parameters()]
        self.n_params = sum(math.prod(s) for _, s in self.shapes)

    @property
    def data(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return _dataset(self.dataset)

    def params(self, theta: Tensor) -> dict[str, Tensor]:
        """The module's parameter dict as views of the flat vector ``theta``."""
        out, i = {}, 0
        for k, shape in self.shapes:
            n = math.prod(shape)
            out[k] = theta[i:i + n].view(shape)
            i += n
        return out

    def logits(self, theta: Tensor, x: Tensor) -> Tensor:
        return torch.func.functional_call(self.module, self.params(theta), (x,))

    def loss_on(self, theta: Tensor, x: Tensor, y: Tensor) -> Tensor:
        return nn.functional.cross_entropy(self.logits(theta, x), y)

    def sample_task(self, seed: SeedLike = None) -> Task:
        return _MLPTask(self, as_generator(seed))


# --------------------------------------------------------------------------- user problems


class _FunctionTask(Task):
    def __init__(self, problem: FunctionProblem, rng: np.random.Generator) -> None:
        self.problem, self.rng = problem, rng
        self.theta0 = torch.as_tensor(problem.init(rng)).flatten()
        self._batches: list[Any] = []

    def loss(self, theta: Tensor, step: int) -> Tensor:
        while len(self._batches) <= step:
            self._batches.append(self.problem.sample_batch(self.rng))
        return self.problem.loss_fn(theta, self._batches[step])

    def evaluate(self, theta: Tensor) -> dict[str, float]:
        with torch.no_grad():
            if self.problem.eval_fn is not None:
                return dict(self.problem.eval_fn(theta))
            return {"loss": float(self.loss(theta, len(self._batches)))}


class FunctionProblem(Problem):
    """A user problem: a pure ``loss_fn(theta, batch)`` plus samplers of starts and batches.

    Args:
        loss_fn: ``(theta of shape (n,), batch) -> scalar tensor``, differentiable in
            ``theta``; it must not mutate its inputs.
        init: ``numpy Generator -> initial theta`` (a tensor or array of any shape; it is
            flattened). A different draw per task makes the family.
        sample_batch: ``numpy Generator -> batch`` (anything ``loss_fn`` accepts), one per
            step. Return the same object each time for a deterministic problem.
        eval_fn: Optional ``theta -> {"loss": float, ...}`` for the final metrics; by
            default the loss on a fresh batch.
        name: A label for logs and checkpoints.

    Example:
        >>> import torch
        >>> def loss_fn(theta, batch):
        ...     x, y = batch
        ...     return ((x @ theta - y) ** 2).mean()
        >>> def sample_batch(rng):
        ...     x = torch.as_tensor(rng.normal(size=(32, 5)), dtype=torch.float32)
        ...     return x, x.sum(-1)
        >>> problem = FunctionProblem(loss_fn, init=lambda rng: torch.zeros(5),
        ...                           sample_batch=sample_batch, name="linreg")
        >>> task = problem.sample_task(0)
        >>> float(task.loss(task.theta0, 0)) > 0
        True
    """

    def __init__(self, loss_fn: Callable[[Tensor, Any], Tensor], *,
                 init: Callable[[np.random.Generator], Any],
                 sample_batch: Callable[[np.random.Generator], Any],
                 eval_fn: Callable[[Tensor], dict[str, float]] | None = None,
                 name: str = "function") -> None:
        for field, fn in (("loss_fn", loss_fn), ("init", init), ("sample_batch", sample_batch)):
            if not callable(fn):
                raise ConfigError(f"`{field}` must be callable, but got {fn!r}")
        if eval_fn is not None and not callable(eval_fn):
            raise ConfigError(f"`eval_fn` must be callable or None, but got {eval_fn!r}")
        self.loss_fn, self.init, self.sample_batch = loss_fn, init, sample_batch
        self.eval_fn, self.name = eval_fn, name

    def sample_task(self, seed: SeedLike = None) -> Task:
        return _FunctionTask(self, as_generator(seed))


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"`{name}` must be a positive int, but got {value!r}")


#: Named problems for the meta-training script and benchmark: name -> factory.
PROBLEMS: dict[str, Callable[..., Problem]] = {
    "quadratic": QuadraticProblem,
    "mlp": MLPProblem,
}


def make_problem(name: str, **kwargs: Any) -> Problem:
    """A registered problem by name (``"quadratic"``, ``"mlp"``) with its keyword options."""
    if name not in PROBLEMS:
        raise ConfigError(f"`problem` must be one of {sorted(PROBLEMS)}, but got {name!r}")
    return PROBLEMS[name](**kwargs)
