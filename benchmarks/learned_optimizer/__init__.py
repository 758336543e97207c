"""Learned LSTM optimizer vs tuned SGD / momentum / NAG / RMSprop / Adam.

``python -m benchmarks run learned_optimizer``; the meta-trained weights of seeds 1 and 2
live in ``weights/`` (seed 0 is the set shipped with autolearn), built by
``scripts/train_learned_optimizers.py``.
"""

from benchmarks.learned_optimizer._bench import DESCRIPTION, add_arguments, run

__all__ = ["DESCRIPTION", "add_arguments", "run"]
