"""Neural architecture search: architecture spaces, child training, and the front door.

A NAS run is a :class:`~autolearn.Study` whose search space is an architecture space,
whose sampler is a controller (or evolution, random search, TPE) and whose objective
trains a child network (:class:`ChildObjective`). Names load lazily (torch on first use).

Example:
    >>> from autolearn import nas                                       # doctest: +SKIP
    >>> study = nas.search("macro", "mnist1d", budget=16, sampler="random")  # doctest: +SKIP
    >>> best = nas.export_best(study, "best.json")                      # doctest: +SKIP
    >>> model, result = nas.retrain(best, "mnist1d")                    # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "NASNET_OPS",
    "NB201_OPS",
    "SPACES",
    "ArchitectureSpace",
    "MLPSpace",
    "MacroSpace",
    "NASNetSpace",
    "NB201Space",
    "available_ops",
    "make_space",
    "register_op",
    "space_from_config",
    "INCUMBENT_RULES",
    "REPEATS",
    "ArchitectureEstimate",
    "ChildObjective",
    "ChildResult",
    "Dataset",
    "ResumeMismatchError",
    "TrainConfig",
    "architecture_estimates",
    "best_architecture",
    "build_child",
    "confirm_top",
    "count_parameters",
    "export_best",
    "load_data",
    "make_sampler",
    "retrain",
    "search",
    "shrunk_means",
    "train_child",
]

_LAZY = {
    "SPACES": "autolearn.nas._spaces",
    "ArchitectureSpace": "autolearn.nas._spaces",
    "MLPSpace": "autolearn.nas._spaces",
    "MacroSpace": "autolearn.nas._spaces",
    "NASNetSpace": "autolearn.nas._spaces",
    "NB201Space": "autolearn.nas._spaces",
    "make_space": "autolearn.nas._spaces",
    "space_from_config": "autolearn.nas._spaces",
    "NASNET_OPS": "autolearn.nas._ops",
    "NB201_OPS": "autolearn.nas._ops",
    "available_ops": "autolearn.nas._ops",
    "register_op": "autolearn.nas._ops",
    "Dataset": "autolearn.nas._data",
    "load_data": "autolearn.nas._data",
    "REPEATS": "autolearn.nas._child",
    "ChildObjective": "autolearn.nas._child",
    "ChildResult": "autolearn.nas._child",
    "TrainConfig": "autolearn.nas._child",
    "build_child": "autolearn.nas._child",
    "count_parameters": "autolearn.nas._child",
    "train_child": "autolearn.nas._child",
    "INCUMBENT_RULES": "autolearn.nas._incumbent",
    "ArchitectureEstimate": "autolearn.nas._incumbent",
    "architecture_estimates": "autolearn.nas._incumbent",
    "best_architecture": "autolearn.nas._incumbent",
    "confirm_top": "autolearn.nas._incumbent",
    "shrunk_means": "autolearn.nas._incumbent",
    "ResumeMismatchError": "autolearn.nas._search",
    "export_best": "autolearn.nas._search",
    "make_sampler": "autolearn.nas._search",
    "retrain": "autolearn.nas._search",
    "search": "autolearn.nas._search",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
