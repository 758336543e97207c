"""Pruning benchmark: autolearn's pruners vs Optuna's on tabulated learning curves.

``python -m benchmarks run pruners``; the tables in ``data/`` come from
``python -m benchmarks.pruners.build_tables``.
"""

from benchmarks.pruners._bench import DESCRIPTION, add_arguments, run

__all__ = ["DESCRIPTION", "add_arguments", "run"]
