"""RL benchmark: autolearn's A2C, A3C, PPO and DQN against Stable-Baselines3.

``python -m benchmarks run rl`` (see ``_bench.py`` for the protocol, ``_zoo.py`` for the
RL Zoo settings and their translation).
"""

from benchmarks.rl._bench import DESCRIPTION, add_arguments, run

__all__ = ["DESCRIPTION", "add_arguments", "run"]
