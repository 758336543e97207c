"""Meta-learning benchmark: MAML, first-order MAML and Reptile against pretrain-then-fine-tune
and from-scratch baselines (``python -m benchmarks run meta_learning``)."""

from benchmarks.meta_learning._bench import DESCRIPTION, add_arguments, run

__all__ = ["DESCRIPTION", "add_arguments", "run"]
