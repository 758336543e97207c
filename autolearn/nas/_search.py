"""The NAS front door: search, resume, export the best architecture, retrain it larger.

A search is an ordinary study (direction maximize, objective :class:`ChildObjective`).
Its system attribute ``nas:config`` holds the space (name and constructor config), the
data, the size and the training settings, so that ``export_best`` needs only the study,
and so that resuming a study (same storage and ``study_name``) with different settings
fails with :class:`ResumeMismatchError` instead of mixing incomparable children.
"""

from __future__ import annotations

import json
import logging
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autolearn._resume import settings_diffs
from autolearn.exceptions import ConfigError
from autolearn.nas._child import (
    ChildObjective,
    ChildResult,
    TrainConfig,
    build_child,
    resolve_repeats,
    train_child,
)
from autolearn.nas._data import Dataset, load_data

if TYPE_CHECKING:
    from torch import nn

    from autolearn.nas._spaces import ArchitectureSpace
    from autolearn.pruners import BasePruner
    from autolearn.samplers import BaseSampler
    from autolearn.storages import BaseStorage
    from autolearn.study import Study

__all__ = ["EXPORT_FORMAT", "SAMPLERS", "ResumeMismatchError", "export_best", "make_sampler",
           "retrain", "search"]

_logger = logging.getLogger("autolearn.nas")

#: Study system attribute holding what a search was run with.
CONFIG_ATTR = "nas:config"
#: ``format`` field of exported architectures.
EXPORT_FORMAT = "autolearn.nas/1"
#: Sampler names accepted by :func:`make_sampler`.
SAMPLERS = ("reinforce", "ppo", "evolution", "random", "tpe")

#: Training settings of :func:`search` when ``train`` is not given: three epochs of Adam
#: at 3e-3, batches of 64. With :data:`SEARCH_DATA` and :data:`SEARCH_SIZE` a NASNet child
#: on mnist1d takes about 5-7 s of one idle core (64 children: 6-8 minutes), a macro child
#: 1-3 s.
SEARCH_TRAIN = TrainConfig(epochs=3, lr=3e-3, batch_size=64)
#: Data arguments of :func:`search` for built-in datasets when ``data_kwargs`` is not given:
#: a small proxy (retrain on more).
SEARCH_DATA: dict[str, dict[str, Any]] = {"mnist1d": {"n_train": 1000, "n_val": 500}}
#: Size overrides of :func:`search` per space when ``size`` is not given: NASNet children
#: of 8 initial filters ("1 @ 8"); retrain them larger with ``size={"filters": 16}`` or more.
SEARCH_SIZE: dict[str, dict[str, Any]] = {"nasnet": {"filters": 8}}


class ResumeMismatchError(ConfigError):
    """A search was resumed with a space, data, size or training settings other than the
    ones its study was started with."""


def make_sampler(name: str, space: ArchitectureSpace | None = None, *, seed: int | None = None,
                 **kwargs: Any) -> BaseSampler:
    """A sampler for an architecture space, by name.

    Args:
        name: ``"reinforce"`` or ``"ppo"`` (:class:`~autolearn.samplers.ControllerSampler`
            with the space's ``action_mask``), ``"evolution"``
            (:class:`~autolearn.samplers.RegularizedEvolutionSampler`), ``"random"`` or
            ``"tpe"``.
        space: The architecture space (its action mask feeds the controllers).
        seed: Seed of the sampler.
        **kwargs: Further constructor arguments of the sampler.

    Example:
        >>> type(make_sampler("random", seed=0)).__name__
        'RandomSampler'
    """
    from autolearn import samplers

    if name in ("reinforce", "ppo"):
        if space is not None and "action_mask" not in kwargs:
            kwargs["action_mask"] = space.action_mask
        return samplers.ControllerSampler(algorithm=name, seed=seed, **kwargs)
    if name == "evolution":
        return samplers.RegularizedEvolutionSampler(seed=seed, **kwargs)
    if name == "random":
        return samplers.RandomSampler(seed=seed, **kwargs)
    if name == "tpe":
        return samplers.TPESampler(seed=seed, **kwargs)  # type: ignore[no-any-return]
    raise ConfigError(f"`sampler` must be one of {', '.join(SAMPLERS)} or a BaseSampler, but "
                      f"got sampler={name!r}")


def _resolve_space(space: str | ArchitectureSpace,
                   space_kwargs: Mapping[str, Any] | None) -> ArchitectureSpace:
    from autolearn.nas._spaces import ArchitectureSpace, make_space

    if isinstance(space, ArchitectureSpace):
        if space_kwargs:
            raise ConfigError("`space_kwargs` only applies when `space` is a name")
        return space
    if not isinstance(space, str):
        raise ConfigError(f"`space` must be a space name or an ArchitectureSpace, but got "
                          f"{space!r}")
    return make_space(space, **dict(space_kwargs or {}))


def _resolve_data(data: str | Dataset, data_kwargs: Mapping[str, Any] | None, *,
                  search_defaults: bool = True) -> Dataset:
    if isinstance(data, Dataset):
        if data_kwargs:
            raise ConfigError("`data_kwargs` only applies when `data` is a dataset name")
        return data
    if not isinstance(data, str):
        raise ConfigError(f"`data` must be a dataset name or a Dataset, but got {data!r}")
    defaults = SEARCH_DATA.get(data, {}) if search_defaults else {}
    kwargs = dict(defaults) if data_kwargs is None else dict(data_kwargs)
    return load_data(data, **kwargs)


def _jsonable(value: Any) -> Any:
    """``value`` as it reads back from a storage (tuples become lists)."""
    return json.loads(json.dumps(value))


def _train_record(train: TrainConfig) -> dict[str, Any]:
    """The training settings that make children comparable (not where they ran)."""
    record = train.to_dict()
    for key in ("device", "eval_batch_size"):
        record.pop(key)
    return record


def _check_resume(stored: Mapping[str, Any], given: Mapping[str, Any], study_name: str) -> None:
    diffs = settings_diffs({k: stored.get(k) for k in given}, given)
    if diffs:
        raise ResumeMismatchError(
            f"study {study_name!r} was started with other settings ({'; '.join(diffs)}); "
            "resume it with the stored ones or start a new study (another `study_name`)")


def search(
    space: str | ArchitectureSpace = "nasnet",
    data: str | Dataset = "mnist1d",
    *,
    budget: int = 64,
    sampler: str | BaseSampler = "reinforce",
    storage: str | BaseStorage | None = None,
    study_name: str | None = None,
    train: TrainConfig | None = None,
    size: Mapping[str, Any] | None = None,
    pruner: BasePruner | None = None,
    seed: int | None = 0,
    space_kwargs: Mapping[str, Any] | None = None,
    data_kwargs: Mapping[str, Any] | None = None,
    sampler_kwargs: Mapping[str, Any] | None = None,
    repeats: str | None = None,
    cache: bool | None = None,
    confirm_top: int = 0,
    confirm_trainings: int = 2,
    show_progress_bar: bool = False,
) -> Study:
    """Search an architecture space: ``budget`` children, each trained and scored.

    Args:
        space: A space name (``"macro"``, ``"mlp"``, ``"nasnet"``, ``"nb201"``) or an
            :class:`~autolearn.nas.ArchitectureSpace`.
        data: A dataset name (see :func:`~autolearn.nas.load_data`) or a
            :class:`~autolearn.nas.Dataset`.
        budget: Children of the study in total. A resumed study (same ``storage`` and
            ``study_name``) runs only ``budget`` minus its finished (complete, pruned,
            failed) trials.
        sampler: A name for :func:`make_sampler` or a sampler object.
        storage: Storage URL or object (None: in memory, no resume).
        study_name: Study name (default ``nas-SPACE-DATA``); an existing study is resumed.
        train: Child training (default :data:`SEARCH_TRAIN`: 3 epochs, Adam 3e-3,
            batches of 64).
        size: Overrides of the space's ``default_size()`` for the children (default
            :data:`SEARCH_SIZE`: NASNet with 8 initial filters).
        pruner: Stops poor children early (they report validation accuracy every epoch).
        seed: Seed of a sampler given by name (the children's weights and batch order
            follow ``train.seed``).
        space_kwargs: Constructor arguments of a space given by name.
        data_kwargs: :func:`~autolearn.nas.load_data` arguments of a dataset given by name
            (default :data:`SEARCH_DATA`: mnist1d with 1,000 training and 500 validation
            sequences).
        sampler_kwargs: Constructor arguments of a sampler given by name.
        repeats: What a repeated architecture costs and gives (see
            :class:`~autolearn.nas.ChildObjective`): ``"cache"`` (default) reuses the
            study's earlier result, ``"retrain"`` trains it again with the next training
            seed (``train.seed + k`` for its k-th training) so that noisy scores are
            averaged instead of repeated, ``"same_seed"`` trains it again identically.
            Pick the architecture with :func:`~autolearn.nas.best_architecture` or
            :func:`export_best` (both average repeats).
        cache: Older spelling of ``repeats`` (True: ``"cache"``, False: ``"same_seed"``).
        confirm_top: If > 0, the last ``confirm_top * confirm_trainings`` trainings of the
            budget re-train the ``confirm_top`` best architectures ``confirm_trainings``
            times each (:func:`~autolearn.nas.confirm_top`; needs ``repeats="retrain"``);
            the sampler proposes the rest. Return the pick with
            ``best_architecture(study, rule="mean", min_trainings=1 + confirm_trainings)``
            or ``confirm_top`` again (it queues nothing more on a finished study).
        confirm_trainings: Re-trainings per confirmed architecture.
        show_progress_bar: Show progress on stderr.

    Returns:
        The study; ``study.best_trial.params`` are the best architecture's decisions.

    Raises:
        ResumeMismatchError: The study exists with another space, data, size or training.
        ConfigError: A bad argument, e.g. an unknown ``repeats``.

    Example:
        >>> from autolearn.nas import search, TrainConfig
        >>> study = search("mlp", "iris", budget=3, sampler="random",
        ...                train=TrainConfig(epochs=2))
        >>> len(study.trials)
        3
    """
    import autolearn

    if isinstance(budget, bool) or not isinstance(budget, numbers.Integral) or budget < 1:
        raise ConfigError(f"`budget` must be a positive int, but got budget={budget!r}")
    repeats = resolve_repeats(repeats, cache)
    for name, value, low in (("confirm_top", confirm_top, 0),
                             ("confirm_trainings", confirm_trainings, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ConfigError(f"`{name}` must be an int >= {low}, but got {name}={value!r}")
    confirm_budget = int(confirm_top) * int(confirm_trainings)
    if confirm_top and repeats != "retrain":
        raise ConfigError(f"`confirm_top` re-trains candidates with fresh seeds, which needs "
                          f"repeats='retrain', but got repeats={repeats!r}")
    if confirm_budget >= budget:
        raise ConfigError(f"`confirm_top * confirm_trainings < budget` must hold so the sampler "
                          f"proposes at least one child, but got {confirm_top} * "
                          f"{confirm_trainings} >= budget={budget}")
    arch_space = _resolve_space(space, space_kwargs)
    dataset = _resolve_data(data, data_kwargs)
    train = SEARCH_TRAIN if train is None else train
    if not isinstance(train, TrainConfig):
        raise ConfigError(f"`train` must be a TrainConfig, but got {train!r}")
    size = SEARCH_SIZE.get(arch_space.name, {}) if size is None else size
    full_size = arch_space._size(dict(size))  # unknown keys: a ConfigError
    # one child built before the study exists: a space that cannot build for this data (a
    # convolutional space on tabular data) or a bad size value fails here, not in every
    # child of a study that would then keep these settings
    build_child(arch_space, arch_space.search_space().sample(seed=0), dataset, size=full_size)
    if isinstance(sampler, str):
        sampler_name = sampler
        sampler_obj = make_sampler(sampler, arch_space, seed=seed, **dict(sampler_kwargs or {}))
    else:
        if sampler_kwargs:
            raise ConfigError("`sampler_kwargs` only applies when `sampler` is a name")
        sampler_name, sampler_obj = type(sampler).__name__, sampler
    config = _jsonable({"space": arch_space.name, "space_config": arch_space.config(),
                        "data": dataset.config(), "size": full_size,
                        "train": _train_record(train)})
    name = study_name or f"nas-{arch_space.name}-{dataset.name}"
    study = autolearn.create_study(storage, study_name=name, direction="maximize",
                                   sampler=sampler_obj, pruner=pruner, load_if_exists=True)
    stored = study.system_attrs.get(CONFIG_ATTR)
    if stored is None:
        if study.trials:
            raise ResumeMismatchError(f"study {name!r} has trials but was not started by "
                                      "autolearn.nas.search; choose another `study_name`")
        study.set_system_attr(CONFIG_ATTR, config)
    else:
        _check_resume(stored, config, name)
    previous = study.system_attrs.get("nas:sampler")
    if previous is not None and previous != sampler_name:
        _logger.warning("study %r was searched with sampler %r; continuing with %r", name,
                        previous, sampler_name)
    study.set_system_attr("nas:sampler", sampler_name)
    from autolearn.nas._incumbent import CONFIRM_ATTR
    from autolearn.nas._incumbent import confirm_top as confirm

    done = sum(t.state.is_finished() for t in study.trials
               if not t.user_attrs.get(CONFIRM_ATTR))
    remaining = max(0, int(budget) - confirm_budget - done)
    if done:
        _logger.info("study %r: %d children finished, running %d more", name, done, remaining)
    objective = ChildObjective(arch_space, dataset, train, size=full_size, repeats=repeats)
    if remaining:
        study.optimize(objective, n_trials=remaining, show_progress_bar=show_progress_bar)
    if confirm_top:
        confirm(study, objective, top=int(confirm_top), trainings=int(confirm_trainings))
    return study


def export_best(study: Study, path: str | Path | None = None, *,
                rule: str = "best_trial", min_trainings: int = 1) -> dict[str, Any]:
    """The best architecture of a :func:`search` study as a JSON-able dict (written to
    ``path`` if given).

    The architecture is chosen by :func:`~autolearn.nas.best_architecture` with ``rule``
    (``"best_trial"``, the default and the study's ``best_trial``; ``"mean"``;
    ``"shrunk"``). In a study where every architecture was trained once
    (``repeats="cache"``) the three agree; with ``repeats="retrain"`` ``"shrunk"``
    prefers an architecture that scored well over several trainings to one that scored a
    little higher once.
    Only architectures with at least ``min_trainings`` completed trainings compete: after
    ``search(..., confirm_top=k, confirm_trainings=c)``, ``rule="mean"`` with
    ``min_trainings=1 + c`` exports the confirmed pick.

    Keys: ``format`` (``"autolearn.nas/1"``), ``space``, ``space_config``, ``decisions``,
    ``value`` (validation accuracy: the mean over the architecture's trainings),
    ``estimate`` (the rule's score), ``rule``, ``n_trainings``, ``size``, ``train``,
    ``data``, ``study_name``, ``trial`` (number of the architecture's best training),
    ``n_params`` and ``description``.

    Raises:
        ConfigError: The study was not made by :func:`search`, ``rule`` is unknown or
            ``min_trainings`` is not an int >= 1.
        ValueError: No architecture has ``min_trainings`` completed trainings.
    """
    from autolearn.nas._incumbent import best_architecture
    from autolearn.nas._spaces import space_from_config

    config = study.system_attrs.get(CONFIG_ATTR)
    if config is None:
        raise ConfigError(f"study {study.study_name!r} was not made by autolearn.nas.search "
                          "(no `nas:config` attribute); nothing to export")
    best = best_architecture(study, rule=rule, min_trainings=min_trainings)
    trial = next(t for t in study.trials if t.number == best.best_trial)
    arch_space = space_from_config(config["space"], config["space_config"])
    out = {"format": EXPORT_FORMAT, "space": config["space"],
           "space_config": config["space_config"], "decisions": dict(best.decisions),
           "value": best.mean, "estimate": best.estimate, "rule": rule,
           "n_trainings": best.n_trainings, "size": config["size"], "train": config["train"],
           "data": config["data"], "study_name": study.study_name, "trial": trial.number,
           "n_params": trial.user_attrs.get("nas:n_params"),
           "description": arch_space.describe(best.decisions)}
    if path is not None:
        Path(path).write_text(json.dumps(out, indent=2) + "\n")
    return out


def _load_arch(arch: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    if isinstance(arch, str | Path):
        arch = json.loads(Path(arch).read_text())
    if not isinstance(arch, Mapping) or arch.get("format") != EXPORT_FORMAT:
        raise ConfigError(f"`arch` must be an export_best() result or its JSON file "
                          f"(format {EXPORT_FORMAT!r}), but got {str(arch)[:80]!r}")
    return dict(arch)


def retrain(
    arch: Mapping[str, Any] | str | Path,
    data: str | Dataset | None = None,
    *,
    size: Mapping[str, Any] | None = None,
    train: TrainConfig | None = None,
    data_kwargs: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, ChildResult]:
    """Rebuild an exported architecture, possibly larger, and train it from scratch.

    Args:
        arch: An :func:`export_best` dict or the path of its JSON file.
        data: Dataset name or :class:`~autolearn.nas.Dataset` (default: the search's data,
            loaded with the same arguments). A name is loaded with ``data_kwargs`` or
            :func:`~autolearn.nas.load_data`'s own defaults (mnist1d: 4,000 training
            sequences, four times the search's default).
        size: Overrides of the searched size, e.g. ``{"cells": 3, "filters": 32}`` for a
            NASNet network of 3 cells per stage and 32 initial filters.
        train: Training settings (default: the search's).
        data_kwargs: :func:`~autolearn.nas.load_data` arguments when ``data`` is a name.

    Returns:
        The trained model and its :class:`~autolearn.nas.ChildResult`.

    Example:
        >>> from autolearn.nas import export_best, retrain, search, TrainConfig
        >>> study = search("mlp", "iris", budget=2, sampler="random",   # doctest: +SKIP
        ...                train=TrainConfig(epochs=2))
        >>> model, result = retrain(export_best(study), size={"width": 2.0})  # doctest: +SKIP
    """
    from autolearn.nas._spaces import space_from_config

    spec = _load_arch(arch)
    arch_space = space_from_config(spec["space"], spec["space_config"])
    if data is None:
        stored = dict((spec.get("data") or {}).get("spec") or {})
        if not stored:
            raise ConfigError("the search ran on user arrays; pass `data` (a Dataset)")
        name = stored.pop("name")
        dataset = load_data(name, **{**stored, **dict(data_kwargs or {})})
    else:
        dataset = _resolve_data(data, data_kwargs, search_defaults=False)
    train = TrainConfig(**spec["train"]) if train is None else train
    full_size = {**dict(spec.get("size") or {}), **dict(size or {})}
    model = build_child(arch_space, spec["decisions"], dataset, seed=train.seed, size=full_size)
    return model, train_child(model, dataset, train)
