"""Pruners decide whether a running trial should stop early."""

from autolearn.pruners._base import BasePruner, NopPruner

__all__ = ["BasePruner", "NopPruner"]
