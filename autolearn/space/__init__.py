"""Search spaces: distributions, tree-structured spaces, unit-cube transforms."""

from autolearn.space._distributions import (
    BaseDistribution,
    CategoricalChoice,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    check_compatible,
    distribution_from_json,
    distribution_to_json,
)
from autolearn.space._transform import UnitCubeTransform
from autolearn.space._tree import Conditional, SearchSpace, enumerate_values, sample_distribution

__all__ = [
    "BaseDistribution",
    "CategoricalChoice",
    "CategoricalDistribution",
    "Conditional",
    "FloatDistribution",
    "IntDistribution",
    "SearchSpace",
    "UnitCubeTransform",
    "check_compatible",
    "distribution_from_json",
    "distribution_to_json",
    "enumerate_values",
    "sample_distribution",
]
