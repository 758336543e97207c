"""Reinforcement learning: REINFORCE, A2C and PPO over gymnasium or decision-sequence envs.

Importing this package imports torch and gymnasium (optional dependencies: install
``autolearn[torch]``); ``import autolearn`` alone never does. Nothing here depends on the
hyperparameter-optimisation side of autolearn.

Example:
    >>> from autolearn.rl import PPO, PPOConfig, evaluate
    >>> agent = PPO("CartPole-v1", PPOConfig(n_envs=8, n_steps=32), seed=0).learn(1_000)
    >>> mean, std = evaluate(agent, "CartPole-v1", n_episodes=2)
"""

from autolearn._imports import optional_import

optional_import("torch")
optional_import("gymnasium")

from autolearn.rl.a2c import A2C, A2CConfig  # noqa: E402
from autolearn.rl.a3c import A3C, A3CConfig  # noqa: E402
from autolearn.rl.async_q import AsyncQ, AsyncQConfig  # noqa: E402
from autolearn.rl.common import (  # noqa: E402
    ActorCritic,
    AutoregressivePolicy,
    CheckpointCallback,
    Constant,
    EncodeObservation,
    EvalCallback,
    EveryNTimesteps,
    Linear,
    NormalizeObservation,
    NormalizeReward,
    ProgressBar,
    SequenceEnv,
    SequenceGymEnv,
    StopOnMaxEpisodes,
    StopOnNoImprovement,
    StopOnRewardThreshold,
    TensorBoardLogger,
    evaluate,
    evaluate_episodes,
    make_vec_env,
)
from autolearn.rl.dqn import DQN, DQNConfig  # noqa: E402
from autolearn.rl.ppo import PPO, PPOConfig  # noqa: E402
from autolearn.rl.reinforce import REINFORCE, MovingAverageBaseline, REINFORCEConfig  # noqa: E402

__all__ = [
    "A2C",
    "A2CConfig",
    "ActorCritic",
    "AutoregressivePolicy",
    "CheckpointCallback",
    "Constant",
    "EncodeObservation",
    "EvalCallback",
    "EveryNTimesteps",
    "Linear",
    "MovingAverageBaseline",
    "NormalizeObservation",
    "NormalizeReward",
    "PPO",
    "ProgressBar",
    "PPOConfig",
    "REINFORCE",
    "REINFORCEConfig",
    "SequenceEnv",
    "SequenceGymEnv",
    "StopOnMaxEpisodes",
    "StopOnNoImprovement",
    "StopOnRewardThreshold",
    "TensorBoardLogger",
    "evaluate",
    "evaluate_episodes",
    "make_vec_env",
    "DQN",
    "DQNConfig",
    "A3C",
    "A3CConfig",
    "AsyncQ",
    "AsyncQConfig",
]
