"""Shared RL plumbing: envs, rollouts, returns, policies, distributions, schedules, batches.

Every name here is a plain function or a small class; algorithms import them and never
subclass a common agent base.
"""

from autolearn.rl.common.buffers import PolicyBatch, RolloutBatch, flatten, minibatches
from autolearn.rl.common.callbacks import (
    CheckpointCallback,
    EvalCallback,
    EveryNTimesteps,
    StopOnMaxEpisodes,
    StopOnNoImprovement,
    StopOnRewardThreshold,
    evaluate,
    evaluate_episodes,
)
from autolearn.rl.common.distributions import DiagGaussian, MaskedCategorical, MultiCategorical
from autolearn.rl.common.env import (
    EncodeObservation,
    NormalizeObservation,
    NormalizeReward,
    RunningMeanStd,
    SequenceEnv,
    SequenceGymEnv,
    SharedNormalizer,
    SharedRunningMeanStd,
    SpaceSpec,
    encode_observations,
    make_vec_env,
)
from autolearn.rl.common.loggers import MissingDependencyError, ProgressBar, TensorBoardLogger
from autolearn.rl.common.policies import ActorCritic, AutoregressivePolicy, SequenceSample
from autolearn.rl.common.returns import bootstrap_truncated, discounted_returns, gae, nstep_returns
from autolearn.rl.common.schedules import Constant, Linear

__all__ = [
    "ActorCritic",
    "AutoregressivePolicy",
    "CheckpointCallback",
    "Constant",
    "DiagGaussian",
    "EncodeObservation",
    "EvalCallback",
    "EveryNTimesteps",
    "Linear",
    "MaskedCategorical",
    "MultiCategorical",
    "MissingDependencyError",
    "NormalizeObservation",
    "NormalizeReward",
    "PolicyBatch",
    "ProgressBar",
    "RolloutBatch",
    "RunningMeanStd",
    "SequenceEnv",
    "SequenceGymEnv",
    "SequenceSample",
    "SharedNormalizer",
    "SharedRunningMeanStd",
    "SpaceSpec",
    "StopOnMaxEpisodes",
    "StopOnNoImprovement",
    "StopOnRewardThreshold",
    "TensorBoardLogger",
    "bootstrap_truncated",
    "discounted_returns",
    "encode_observations",
    "evaluate",
    "evaluate_episodes",
    "flatten",
    "gae",
    "make_vec_env",
    "minibatches",
    "nstep_returns",
]
