"""Pruners decide whether a running trial should stop early."""

from autolearn.pruners._base import BasePruner, NopPruner
from autolearn.pruners._loops import fit_partial, report_and_prune, run_epochs
from autolearn.pruners._percentile import MedianPruner, PercentilePruner
from autolearn.pruners._successive_halving import HyperbandPruner, SuccessiveHalvingPruner
from autolearn.pruners._threshold import PatientPruner, ThresholdPruner

__all__ = [
    "BasePruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "PatientPruner",
    "PercentilePruner",
    "SuccessiveHalvingPruner",
    "ThresholdPruner",
    "fit_partial",
    "report_and_prune",
    "run_epochs",
]
