"""Bayesian optimisation: one loop composed of surrogate + acquisition + maximiser."""

from autolearn.samplers.bo._base import Acquisition, CubeSpace, Maximizer, Posterior, Surrogate
from autolearn.samplers.bo._loop import (
    BOSampler,
    encode_complete_params,
    intersection_search_space,
    observations,
)
from autolearn.samplers.bo.restart import TrustRegionRestarts

__all__ = [
    "Acquisition",
    "BOSampler",
    "CubeSpace",
    "Maximizer",
    "Posterior",
    "Surrogate",
    "TrustRegionRestarts",
    "encode_complete_params",
    "intersection_search_space",
    "observations",
]
