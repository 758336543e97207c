"""Training and scoring child networks: the objective of a NAS study.

:func:`train_child` trains one network on a :class:`~autolearn.nas.Dataset` and reports
its validation accuracy after every epoch to the trial, so any pruner can stop a poor
child early. :class:`ChildObjective` is the ``Study.optimize`` objective: it asks the
space for an architecture and builds and trains it; an architecture the study has seen
before is either served from the study (the study is the cache, so it survives a
resume) or trained again with a fresh training seed (``repeats="retrain"``: each
training is a new, unbiased draw of a noisy score, and
:func:`~autolearn.nas.best_architecture` averages them).

A child whose loss becomes NaN or infinite stops at once and scores NaN; the study then
stores it as FAIL (reason "the objective returned NaN"), with the user attribute
``nas:diverged``. Samplers see a failed trial: the controllers give it their
``failure_reward``; random search, TPE and evolution ignore it.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from autolearn.exceptions import ConfigError, TrialPruned

if TYPE_CHECKING:
    import torch
    from torch import nn

    from autolearn.nas._data import Dataset
    from autolearn.nas._spaces import ArchitectureSpace

__all__ = ["REPEATS", "ChildObjective", "ChildResult", "TrainConfig", "build_child",
           "count_parameters", "train_child"]

#: User attributes a :class:`ChildObjective` records on each trial.
N_PARAMS_ATTR = "nas:n_params"
SECONDS_ATTR = "nas:train_seconds"
CACHED_ATTR = "nas:cached_from"
DIVERGED_ATTR = "nas:diverged"
TRAIN_SEED_ATTR = "nas:train_seed"
TRAINING_ATTR = "nas:training"
N_TRAININGS_ATTR = "nas:n_trainings"
MEAN_ATTR = "nas:mean_accuracy"

#: How :class:`ChildObjective` treats an architecture the study has already trained.
REPEATS = ("cache", "retrain", "same_seed")

OPTIMIZERS = ("adam", "adamw", "sgd")


def _check(name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ConfigError(f"`{name}` must {rule}, but got {name}={value!r}")


def _is_int(value: Any, low: int) -> bool:
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and int(value) >= low)


def _is_num(value: Any) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


@dataclass(frozen=True)
class TrainConfig:
    """How a child network is trained.

    Attributes:
        epochs: Passes over the training part; validation accuracy is reported after
            each (trial step = epochs trained so far, 1..epochs).
        batch_size: Examples per gradient step.
        lr: Learning rate.
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"`` (with Nesterov ``momentum``).
        momentum: SGD momentum.
        weight_decay: L2 penalty (decoupled for adamw).
        lr_schedule: ``"constant"`` or ``"cosine"`` (annealed to 0 over all steps).
        grad_clip: Clip the gradient norm at this value; None: no clipping.
        seed: Seeds the initial weights (through :func:`build_child`), the batch order
            and dropout; the same seed and data give the same result on one machine.
        device: Torch device for training, e.g. ``"cpu"`` or ``"cuda"``.
        eval_batch_size: Examples per forward pass when scoring the validation part.

    Example:
        >>> TrainConfig(epochs=3, lr=3e-3).epochs
        3
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    grad_clip: float | None = 5.0
    seed: int = 0
    device: str = "cpu"
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            _check(name, getattr(self, name), _is_int(getattr(self, name), 1), "be an int >= 1")
        _check("lr", self.lr, _is_num(self.lr) and self.lr > 0, "be a finite number > 0")
        _check("optimizer", self.optimizer, self.optimizer in OPTIMIZERS,
               f"be one of {', '.join(OPTIMIZERS)}")
        _check("momentum", self.momentum, _is_num(self.momentum) and 0 <= self.momentum < 1,
               "lie in [0, 1)")
        _check("weight_decay", self.weight_decay,
               _is_num(self.weight_decay) and self.weight_decay >= 0, "be a number >= 0")
        _check("lr_schedule", self.lr_schedule, self.lr_schedule in ("constant", "cosine"),
               "be 'constant' or 'cosine'")
        _check("grad_clip", self.grad_clip,
               self.grad_clip is None or (_is_num(self.grad_clip) and self.grad_clip > 0),
               "be None or a number > 0")
        _check("seed", self.seed, _is_int(self.seed, 0), "be an int >= 0")
        _check("device", self.device, isinstance(self.device, str) and bool(self.device),
               "be a torch device string such as 'cpu'")

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-able dict (``TrainConfig(**d)`` rebuilds it)."""
        return asdict(self)


@dataclass
class ChildResult:
    """What training one child produced.

    Attributes:
        val_accuracy: Validation accuracy after the last epoch trained (NaN if diverged).
        history: Validation accuracy after each epoch.
        n_params: Trainable parameters.
        train_seconds: Wall time of training and scoring.
        diverged: Whether the loss became NaN or infinite (training stopped there).
    """

    val_accuracy: float
    history: list[float] = field(default_factory=list)
    n_params: int = 0
    train_seconds: float = 0.0
    diverged: bool = False


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def build_child(space: ArchitectureSpace, decisions: Mapping[str, Any], data: Dataset, *,
                seed: int = 0, size: Mapping[str, Any] | None = None) -> nn.Module:
    """``space.build(...)`` for ``data``'s shapes with initial weights drawn from ``seed``.

    The global torch RNG is forked, so the caller's random state is left as it was.
    ``size`` overrides entries of ``space.default_size()``.
    """
    import torch

    full = {**space.default_size(), **dict(size or {})}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return space.build(decisions, tuple(data.input_shape), data.num_classes, **full)


def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int,
              device: torch.device) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch_size):
            logits = model(X[i:i + batch_size].to(device))
            correct += int((logits.argmax(dim=1) == y[i:i + batch_size].to(device)).sum())
    return correct / len(y)


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               nesterov=config.momentum > 0, weight_decay=config.weight_decay)
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=config.lr, weight_decay=config.weight_decay)


def train_child(model: nn.Module, data: Dataset, config: TrainConfig | None = None, *,
                trial: Any = None) -> ChildResult:
    """Train ``model`` on ``data.X_train`` with cross-entropy and score it on the
    validation part after every epoch.

    Args:
        model: Maps ``(B, *data.input_shape)`` to ``(B, data.num_classes)`` logits.
        data: The dataset.
        config: Training settings (default ``TrainConfig()``).
        trial: If given, ``trial.report(accuracy, epoch)`` after each epoch (epoch =
            1, 2, ...), then :class:`~autolearn.TrialPruned` is raised when
            ``trial.should_prune()`` says so.

    Returns:
        The final validation accuracy, its history, parameter count, time, and whether
        the loss diverged (NaN or infinite loss: training stops, ``val_accuracy`` is NaN).

    Torch's thread settings are left alone; the global RNG is forked and restored.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from autolearn.nas import TrainConfig, load_data, train_child
        >>> data = load_data("iris")
        >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
        >>> g = torch.Generator().manual_seed(0)  # initial weights from a seed of their own
        >>> for p in model.parameters():
        ...     _ = p.data.uniform_(-0.5, 0.5, generator=g)
        >>> result = train_child(model, data, TrainConfig(epochs=20, lr=1e-2))
        >>> result.val_accuracy > 0.8
        True
    """
    import torch
    import torch.nn.functional as F

    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"`config` must be a TrainConfig, but got {config!r}")
    device = torch.device(config.device)
    start = time.perf_counter()
    n_params = count_parameters(model)
    model.to(device)
    X, y = data.X_train.to(device), data.y_train.to(device)
    n = len(y)
    steps_per_epoch = math.ceil(n / config.batch_size)
    optimizer = _optimizer(model, config)
    scheduler = None
    if config.lr_schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=config.epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(config.seed)
    history: list[float] = []
    diverged = False
    with torch.random.fork_rng(devices=[]):  # dropout and friends draw from the global RNG
        torch.manual_seed(config.seed)
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.randperm(n, generator=generator).to(device)
            for i in range(0, n, config.batch_size):
                idx = order[i:i + config.batch_size]
                loss = F.cross_entropy(model(X[idx]), y[idx])
                if not torch.isfinite(loss):
                    diverged = True
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
            if diverged:
                break
            accuracy = _evaluate(model, data.X_val, data.y_val, config.eval_batch_size, device)
            history.append(accuracy)
            if trial is not None:
                trial.report(accuracy, epoch)
                if trial.should_prune():
                    raise TrialPruned(f"pruned after epoch {epoch} (validation accuracy "
                                      f"{accuracy:.4f})")
    return ChildResult(val_accuracy=float("nan") if diverged else history[-1],
                       history=history, n_params=n_params,
                       train_seconds=time.perf_counter() - start, diverged=diverged)


def _same_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return dict(a) == dict(b)


class ChildObjective:
    """The objective of a NAS study: architecture -> trained child -> validation accuracy.

    Each call asks ``space`` for an architecture (``space.suggest(trial)``). What happens
    when the study has already seen that architecture is set by ``repeats``:

    - ``"cache"`` (default): a finished trial of the same study with identical
      parameters gives its result: a COMPLETE one its value (user attribute
      ``nas:cached_from`` = its number), a diverged one NaN again. Cheap, but one noisy
      training then stands for the architecture on every repeat, so a lucky training is
      rewarded again and again.
    - ``"retrain"``: the repeat is trained again with a fresh training seed: the k-th
      training of an architecture in the study (k = 0, 1, ...) builds and trains with
      ``train.seed + k``. The trial's value is this training's accuracy, an unbiased
      reward for a controller; ``nas:training`` (k), ``nas:train_seed`` and, once it
      completes, ``nas:n_trainings`` and ``nas:mean_accuracy`` (mean over this
      architecture's completed trainings so far, this one included) are recorded. k is
      the number of earlier-numbered trials of the study with the same architecture
      that were trained (not served from a cache), so it is derived from the stored
      trials and a resumed study continues the count. With parallel workers, trials
      whose parameters are not stored yet are not counted, so two concurrent repeats
      can share a seed.
    - ``"same_seed"``: every repeat is trained again with ``train.seed`` (the same result
      up to floating-point nondeterminism; only useful to time training).

    A child is built with :func:`build_child` (weights seeded with its training seed, so
    an architecture trained with one seed starts from the same weights) and trained with
    :func:`train_child`, reporting every epoch to the trial. Pick the architecture to
    keep with :func:`~autolearn.nas.best_architecture`, which averages repeated trainings.

    User attributes recorded: ``nas:n_params``, ``nas:train_seconds`` (also for pruned
    children), ``nas:train_seed`` for every trained child, ``nas:diverged`` for NaN/inf
    losses. Returns the final validation accuracy, NaN for a diverged child (the study
    stores it as FAIL).

    Args:
        space: The architecture space.
        data: Training and validation data.
        train: Training settings (default ``TrainConfig()``).
        size: Overrides of ``space.default_size()`` (e.g. ``{"cells": 2}``).
        repeats: ``"cache"``, ``"retrain"`` or ``"same_seed"`` (see above).
        cache: Older spelling: ``True`` is ``repeats="cache"``, ``False`` is
            ``repeats="same_seed"``; give ``repeats`` instead.

    Raises:
        ConfigError: ``repeats`` is not one of the names, or ``cache`` contradicts it.

    Example:
        >>> import autolearn
        >>> from autolearn.nas import ChildObjective, TrainConfig, load_data, make_space
        >>> objective = ChildObjective(make_space("mlp"), load_data("iris"),  # doctest: +SKIP
        ...                            TrainConfig(epochs=5), repeats="retrain")
        >>> study = autolearn.create_study(direction="maximize")             # doctest: +SKIP
        >>> study.optimize(objective, n_trials=4)                             # doctest: +SKIP
    """

    def __init__(self, space: ArchitectureSpace, data: Dataset, train: TrainConfig | None = None,
                 *, size: Mapping[str, Any] | None = None, repeats: str | None = None,
                 cache: bool | None = None) -> None:
        self.space = space
        self.data = data
        self.train = TrainConfig() if train is None else train
        if not isinstance(self.train, TrainConfig):
            raise ConfigError(f"`train` must be a TrainConfig, but got {train!r}")
        self.size = dict(size or {})
        self.repeats = resolve_repeats(repeats, cache)

    @property
    def cache(self) -> bool:
        """Whether repeats are served from the study (``repeats == "cache"``)."""
        return self.repeats == "cache"

    @staticmethod
    def _same_architecture(trial: Any, states: Any = None) -> list[Any]:
        """Other trials of ``trial``'s study (in ``states``) with the same parameters."""
        study = getattr(trial, "study", None)
        if study is None:
            return []
        params = trial.params
        return [t for t in study.get_trials(states=states)
                if t.number != trial.number and t.params and _same_params(t.params, params)]

    def _lookup(self, trial: Any) -> Any:
        """A finished trial of ``trial``'s study with the same parameters, or None."""
        from autolearn import TrialState

        for t in self._same_architecture(trial, (TrialState.COMPLETE, TrialState.FAIL)):
            if t.state == TrialState.COMPLETE and CACHED_ATTR not in t.user_attrs:
                return t
            if t.state == TrialState.FAIL and t.user_attrs.get(DIVERGED_ATTR):
                return t
        return None

    def _earlier_trainings(self, trial: Any) -> list[Any]:
        """Earlier-numbered trials of the study that trained the same architecture."""
        return [t for t in self._same_architecture(trial)
                if t.number < trial.number and CACHED_ATTR not in t.user_attrs]

    def __call__(self, trial: Any) -> float:
        from autolearn import TrialState

        decisions = self.space.suggest(trial)
        if self.repeats == "cache":
            hit = self._lookup(trial)
            if hit is not None:
                trial.set_user_attr(CACHED_ATTR, hit.number)
                if N_PARAMS_ATTR in hit.user_attrs:
                    trial.set_user_attr(N_PARAMS_ATTR, hit.user_attrs[N_PARAMS_ATTR])
                if hit.values is None:
                    trial.set_user_attr(DIVERGED_ATTR, True)
                    return float("nan")
                return float(hit.values[0])
        train = self.train
        earlier: list[float] = []
        if self.repeats == "retrain":
            previous = self._earlier_trainings(trial)
            k = len(previous)
            earlier = [float(t.values[0]) for t in previous
                       if t.state == TrialState.COMPLETE and t.values is not None]
            train = replace(train, seed=train.seed + k)
            trial.set_user_attr(TRAINING_ATTR, k)
        trial.set_user_attr(TRAIN_SEED_ATTR, train.seed)
        model = build_child(self.space, decisions, self.data, seed=train.seed, size=self.size)
        trial.set_user_attr(N_PARAMS_ATTR, count_parameters(model))
        start = time.perf_counter()
        try:
            result = train_child(model, self.data, train, trial=trial)
        finally:
            trial.set_user_attr(SECONDS_ATTR, round(time.perf_counter() - start, 4))
        if result.diverged:
            trial.set_user_attr(DIVERGED_ATTR, True)
        elif self.repeats == "retrain":
            values = [*earlier, result.val_accuracy]
            trial.set_user_attr(N_TRAININGS_ATTR, len(values))
            trial.set_user_attr(MEAN_ATTR, math.fsum(values) / len(values))
        return result.val_accuracy


def resolve_repeats(repeats: str | None, cache: bool | None = None) -> str:
    """The ``repeats`` mode from ``repeats`` and the older ``cache`` flag (validated)."""
    if repeats is not None and (not isinstance(repeats, str) or repeats not in REPEATS):
        raise ConfigError(f"`repeats` must be one of {', '.join(map(repr, REPEATS))}, but got "
                          f"repeats={repeats!r}")
    if cache is None:
        return "cache" if repeats is None else repeats
    if not isinstance(cache, bool):
        raise ConfigError(f"`cache` must be a bool, but got cache={cache!r}")
    implied = "cache" if cache else "same_seed"
    if repeats is not None and repeats != implied:
        raise ConfigError(f"`cache={cache}` means repeats={implied!r} but repeats={repeats!r} "
                          "was given; pass only `repeats`")
    return implied
