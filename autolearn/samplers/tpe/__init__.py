"""Tree-structured Parzen estimator: the pure estimator (:mod:`.parzen`) and the sampler."""

from autolearn.samplers.tpe.sampler import TPESampler

__all__ = ["TPESampler"]
