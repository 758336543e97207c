"""Samplers: every searcher in autolearn implements :class:`BaseSampler`.

The model-based samplers load numpy/scipy machinery on first use, so that
``import autolearn`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autolearn.samplers._auto import AutoSampler
from autolearn.samplers._base import BaseSampler, IndependentSampler
from autolearn.samplers._grid import GridSampler
from autolearn.samplers._random import RandomSampler

if TYPE_CHECKING:
    from autolearn.samplers._bohb import BOHBSampler, bohb
    from autolearn.samplers._controller import ControllerSampler
    from autolearn.samplers._evolution import RegularizedEvolutionSampler
    from autolearn.samplers._gp import GPSampler
    from autolearn.samplers._smac import SMACSampler
    from autolearn.samplers.tpe import TPESampler

__all__ = [
    "AutoSampler",
    "BOHBSampler",
    "BaseSampler",
    "IndependentSampler",
    "ControllerSampler",
    "GPSampler",
    "GridSampler",
    "RandomSampler",
    "RegularizedEvolutionSampler",
    "SMACSampler",
    "TPESampler",
    "bohb",
]

_LAZY = {
    "BOHBSampler": "autolearn.samplers._bohb",
    "bohb": "autolearn.samplers._bohb",
    "ControllerSampler": "autolearn.samplers._controller",
    "RegularizedEvolutionSampler": "autolearn.samplers._evolution",
    "GPSampler": "autolearn.samplers._gp",
    "SMACSampler": "autolearn.samplers._smac",
    "TPESampler": "autolearn.samplers.tpe",
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
