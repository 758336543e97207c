"""Few-shot task samplers: sinusoid regression and N-way K-shot classification.

A *task* is a small supervised problem split into a support set (the data the learner
adapts on) and a query set (the data the adapted learner is scored on). A sampler draws
a list of tasks from a numpy ``Generator``; every draw is reproducible from that
generator alone (no global RNG is touched).

Example:
    >>> import numpy as np
    >>> tasks = SinusoidTasks(shots=10).sample(4, np.random.default_rng(0))
    >>> tasks[0].support_x.shape, tasks[0].query_y.shape
    (torch.Size([10, 1]), torch.Size([10, 1]))
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from autolearn._mnist1d import mnist1d_transform
from autolearn.exceptions import ConfigError

__all__ = [
    "CallableTasks",
    "FewShotTasks",
    "SinusoidTasks",
    "Task",
    "TaskSampler",
    "digits_tasks",
    "mint_mnist1d",
    "mnist1d_tasks",
    "stack_tasks",
]


class Task(NamedTuple):
    """One few-shot problem. Shapes: ``support_x (n_s, ...)``, ``support_y (n_s, ...)``,
    ``query_x (n_q, ...)``, ``query_y (n_q, ...)``. Classification targets are ``int64``
    labels in ``0..ways-1`` (local to the task); ``classes`` holds the global class ids
    behind those labels (empty for regression)."""

    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    classes: tuple[int, ...] = ()


class TaskSampler(abc.ABC):
    """Draws few-shot tasks. Subclasses implement :meth:`sample`.

    ``loss`` names the task loss the meta-learners use by default (``"mse"`` or
    ``"cross_entropy"``); ``n_outputs`` is the model output size a task needs.
    ``sample`` must use only ``rng`` for randomness and return tasks of equal shapes (so
    they can be stacked into one batch).
    """

    loss: str = "mse"
    n_outputs: int = 1

    @abc.abstractmethod
    def sample(self, n_tasks: int, rng: np.random.Generator) -> list[Task]:
        """Return ``n_tasks`` independent tasks drawn with ``rng``."""

    def spec(self) -> dict[str, Any]:
        """A JSON-able description (used to rebuild the sampler from a saved run)."""
        return {}


def _check(name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigError(f"`{name}` must {rule}, but got {name}={value!r}")


def _is_int(value: Any, low: int = 1) -> bool:
    return bool(isinstance(value, int | np.integer) and not isinstance(value, bool)
                and value >= low)


class SinusoidTasks(TaskSampler):
    """Sinusoid regression of Finn et al. (2017): ``y = A sin(x - phase)``.

    ``A ~ U[0.1, 5]``, ``phase ~ U[0, pi]``, ``x ~ U[-5, 5]``; ``shots`` support points
    and ``n_query`` (default ``shots``) query points per task, tensors ``(n, 1)`` float32.
    """

    loss = "mse"
    n_outputs = 1

    def __init__(self, shots: int = 10, *, n_query: int | None = None,
                 amplitude: tuple[float, float] = (0.1, 5.0),
                 phase: tuple[float, float] = (0.0, math.pi),
                 x_range: tuple[float, float] = (-5.0, 5.0)) -> None:
        _check("shots", shots, _is_int(shots), "be an int >= 1")
        n_query = shots if n_query is None else n_query
        _check("n_query", n_query, _is_int(n_query), "be an int >= 1")
        for name, (lo, hi) in (("amplitude", amplitude), ("phase", phase),
                               ("x_range", x_range)):
            _check(name, (lo, hi), lo <= hi, "be a (low, high) pair with low <= high")
        self.shots, self.n_query = int(shots), int(n_query)
        self.amplitude, self.phase, self.x_range = amplitude, phase, x_range

    def sample(self, n_tasks: int, rng: np.random.Generator) -> list[Task]:
        amp = rng.uniform(*self.amplitude, size=(n_tasks, 1, 1))
        phase = rng.uniform(*self.phase, size=(n_tasks, 1, 1))
        x = rng.uniform(*self.x_range, size=(n_tasks, self.shots + self.n_query, 1))
        y = amp * np.sin(x - phase)
        xt = torch.as_tensor(x, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        k = self.shots
        return [Task(xt[i, :k], yt[i, :k], xt[i, k:], yt[i, k:]) for i in range(n_tasks)]

    def spec(self) -> dict[str, Any]:
        return {"name": "sinusoid", "shots": self.shots, "n_query": self.n_query}


class FewShotTasks(TaskSampler):
    """N-way K-shot classification built from any labelled dataset.

    Each task picks ``ways`` distinct classes among ``classes`` (default: every label in
    ``y``), relabels them ``0..ways-1`` in random order, and draws ``shots`` support and
    ``n_query`` query examples per class without replacement, so support and query never
    share an example.

    Args:
        X: ``(n, ...)`` inputs.
        y: ``(n,)`` integer labels.
        ways, shots: N and K.
        n_query: query examples per class (default 15).
        classes: the class ids this sampler may use (e.g. the training split).
    """

    loss = "cross_entropy"

    def __init__(self, X: Any, y: Any, *, ways: int = 5, shots: int = 1, n_query: int = 15,
                 classes: Sequence[int] | None = None, name: str = "custom") -> None:
        _check("ways", ways, _is_int(ways, 2), "be an int >= 2")
        _check("shots", shots, _is_int(shots), "be an int >= 1")
        _check("n_query", n_query, _is_int(n_query), "be an int >= 1")
        X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        y_np = np.asarray(y).astype(np.int64)
        _check("y", y_np.shape, y_np.ndim == 1 and len(y_np) == len(X),
               "be a 1-D label array as long as X")
        pool = sorted(set(y_np.tolist())) if classes is None else sorted(set(classes))
        self._index = {c: np.flatnonzero(y_np == c) for c in pool}
        small = [c for c, idx in self._index.items() if len(idx) < shots + n_query]
        _check("classes", small, not small,
               f"each have at least shots + n_query = {shots + n_query} examples")
        _check("ways", ways, ways <= len(pool), f"be <= the number of classes ({len(pool)})")
        width = max(len(i) for i in self._index.values())
        self._table = np.full((len(pool), width), -1, dtype=np.int64)
        for j, c in enumerate(pool):
            self._table[j, :len(self._index[c])] = self._index[c]
        self.X, self.ways, self.shots, self.n_query = X, int(ways), int(shots), int(n_query)
        self.classes = tuple(int(c) for c in pool)
        self.n_outputs = self.ways
        self.name = name

    def sample(self, n_tasks: int, rng: np.random.Generator) -> list[Task]:
        k, q, w = self.shots, self.n_query, self.ways
        # random keys + argsort draw classes and examples without replacement, vectorised
        chosen = rng.random((n_tasks, len(self.classes))).argsort(1)[:, :w]
        keys = rng.random((n_tasks, w, self._table.shape[1]))
        keys[self._table[chosen] < 0] = 2.0  # padding of smaller classes sorts last
        pick = keys.argsort(2)[:, :, :k + q]
        idx = np.take_along_axis(self._table[chosen], pick, 2)  # (n_tasks, ways, k + q)
        x = self.X[torch.from_numpy(idx)]
        labels = torch.arange(w)
        s_y, q_y = labels.repeat_interleave(k), labels.repeat_interleave(q)
        return [Task(x[i, :, :k].flatten(0, 1), s_y, x[i, :, k:].flatten(0, 1), q_y,
                     tuple(self.classes[c] for c in chosen[i])) for i in range(n_tasks)]

    def dataset(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Every example of this sampler's classes with labels ``0..n_classes-1`` (in the
        order of :attr:`classes`): the data a pretraining baseline trains on."""
        idx = [self._index[c] for c in self.classes]
        labels = np.concatenate([np.full(len(i), j) for j, i in enumerate(idx)])
        return self.X[np.concatenate(idx)], torch.as_tensor(labels, dtype=torch.int64)

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "ways": self.ways, "shots": self.shots,
                "n_query": self.n_query}


class CallableTasks(TaskSampler):
    """Wraps a user function ``fn(n_tasks, rng) -> list[Task]`` as a sampler."""

    def __init__(self, fn: Callable[[int, np.random.Generator], list[Task]], *,
                 loss: str = "mse", n_outputs: int = 1) -> None:
        _check("fn", fn, callable(fn), "be callable as fn(n_tasks, rng)")
        self.fn, self.loss, self.n_outputs = fn, loss, n_outputs

    def sample(self, n_tasks: int, rng: np.random.Generator) -> list[Task]:
        return list(self.fn(n_tasks, rng))


def stack_tasks(tasks: Sequence[Task]) -> tuple[torch.Tensor, ...]:
    """Stack tasks of equal shapes into ``(B, n_s, ...)``, ``(B, n_s, ...)``,
    ``(B, n_q, ...)``, ``(B, n_q, ...)`` tensors."""
    shapes = {(t.support_x.shape, t.query_x.shape) for t in tasks}
    if len(shapes) != 1:
        raise ConfigError(f"`tasks` must all have the same shapes to form a batch, "
                          f"but got {sorted(map(str, shapes))}")
    fields = ("support_x", "support_y", "query_x", "query_y")
    return tuple(torch.stack([getattr(t, f) for t in tasks]) for f in fields)


# ----------------------------------------------------------------------------------------
# Bundled datasets: scikit-learn digits and mnist1d with minted classes.

#: Digit classes per split: 5-way tasks need 5 classes, so validation and test share the
#: held-out classes 5-9 but not a single image (their images are split in half).
DIGITS_SPLITS = {"train": (0, 1, 2, 3, 4), "val": (5, 6, 7, 8, 9), "test": (5, 6, 7, 8, 9)}


def digits_tasks(split: str = "train", *, ways: int = 5, shots: int = 1,
                 n_query: int = 15) -> FewShotTasks:
    """N-way K-shot tasks on scikit-learn's bundled 8x8 digits (inputs ``(64,)`` in [0, 1]).

    Classes 0-4 are the training classes; 5-9 are held out, their images split in two
    halves: ``"val"`` (for tuning) and ``"test"`` (for the final score).
    """
    from sklearn.datasets import load_digits

    _check("split", split, split in DIGITS_SPLITS, f"be one of {sorted(DIGITS_SPLITS)}")
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    keep = np.zeros(len(y), dtype=bool)
    for c in DIGITS_SPLITS[split]:
        idx = np.flatnonzero(y == c)
        if split == "train":
            keep[idx] = True
        else:
            half = len(idx) // 2
            keep[idx[:half] if split == "val" else idx[half:]] = True
    task = FewShotTasks(X[keep], y[keep], ways=ways, shots=shots, n_query=n_query,
                        name="digits")
    return task


#: Seeds of the template pools for mnist1d-minted classes (disjoint template sets).
MNIST1D_SPLIT_SEEDS = {"train": 101, "val": 202, "test": 303}


def _random_templates(n: int, rng: np.random.Generator, length: int = 12) -> np.ndarray:
    """``n`` random smooth templates shaped like mnist1d's digit templates.

    mnist1d's ten templates are 12 values in [3, 7] starting and ending at 5, whitened,
    shifted to start at 0 and divided by 6; these draw the interior from U[3, 7] and
    smooth it once with a [1, 2, 1] / 4 kernel.
    """
    inner = rng.uniform(3.0, 7.0, size=(n, length - 2))
    x = np.concatenate([np.full((n, 1), 5.0), inner, np.full((n, 1), 5.0)], axis=1)
    x[:, 1:-1] = 0.25 * x[:, :-2] + 0.5 * x[:, 1:-1] + 0.25 * x[:, 2:]
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    return (x - x[:, :1]) / 6.0


def mint_mnist1d(n_classes: int, n_per_class: int, *, seed: int | np.random.Generator = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Mint ``n_classes`` new mnist1d-style classes from random templates.

    Returns ``X (n_classes * n_per_class, 40)`` float32, standardised with mnist1d's
    dataset constants (mean 0, sd 1 over the pool), and ``y`` in ``0..n_classes-1``.
    Different seeds give different templates, hence an unlimited supply of classes.
    """
    rng = np.random.default_rng(seed)
    templates = _random_templates(n_classes, rng)
    X = mnist1d_transform(np.repeat(templates, n_per_class, axis=0), rng)
    X = (X - X.mean()) / X.std()
    return X.astype(np.float32), np.repeat(np.arange(n_classes), n_per_class)


def mnist1d_tasks(split: str = "train", *, ways: int = 5, shots: int = 1,
                  n_query: int = 15, n_classes: int | None = None,
                  n_per_class: int = 40) -> FewShotTasks:
    """N-way K-shot tasks on mnist1d classes minted from random templates.

    Each split draws its own templates (seeds in :data:`MNIST1D_SPLIT_SEEDS`), so held-out
    classes never appear in training; class ids are offset per split (train 0..,
    val 100000.., test 200000..) so they are disjoint as numbers too. Default pool sizes:
    512 training classes, 128 validation and 128 test classes, 40 examples each.
    """
    _check("split", split, split in MNIST1D_SPLIT_SEEDS,
           f"be one of {sorted(MNIST1D_SPLIT_SEEDS)}")
    n_classes = (512 if split == "train" else 128) if n_classes is None else n_classes
    _check("n_classes", n_classes, _is_int(n_classes, 2), "be an int >= 2")
    X, y = mint_mnist1d(n_classes, n_per_class, seed=MNIST1D_SPLIT_SEEDS[split])
    offset = {"train": 0, "val": 100_000, "test": 200_000}[split]
    return FewShotTasks(X, y + offset, ways=ways, shots=shots, n_query=n_query,
                        name="mnist1d")
