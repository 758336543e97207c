"""Samplers: every searcher in autolearn implements :class:`BaseSampler`."""

from autolearn.samplers._base import BaseSampler
from autolearn.samplers._grid import GridSampler
from autolearn.samplers._random import RandomSampler

__all__ = ["BaseSampler", "GridSampler", "RandomSampler"]
