"""The RL Zoo's tuned hyperparameters and their translation to autolearn's configs.

Each :class:`Setting` holds the Zoo's entry (``hyperparams/{a2c,ppo,dqn}.yml`` of
DLR-RM/rl-baselines3-zoo, read, not copied) as Stable-Baselines3 keyword arguments and the
autolearn config built from the same numbers. Where the two libraries name or count a
thing differently the translation is spelled out here, and both sides are printed in the
report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["PEERS", "SETTINGS", "THRESHOLDS", "Setting", "ours_config", "throughput_settings"]

#: Solved thresholds of the 10-episode deterministic evaluation.
THRESHOLDS = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0, "Pendulum-v1": -200.0}


@dataclass(frozen=True)
class Setting:
    """One (algorithm, environment) of the benchmark.

    ``zoo``: SB3 constructor kwargs (``policy_kwargs`` included); ``"lin_X"`` strings are the
    Zoo's linear schedules from X to 0. ``ours``: autolearn config kwargs (the same numbers;
    ``Linear(X)`` for ``lin_X``). ``budget``: env steps of one run (the ``total_timesteps``
    of ``learn``, so schedules and the exploration fraction scale with it on both sides).
    """

    algo: str
    env: str
    n_envs: int
    zoo: dict[str, Any]
    ours: dict[str, Any]
    budget: int
    zoo_n_timesteps: int
    eval_every: int = 2_000
    normalize: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return f"{self.algo}/{self.env}"


_A2C_CP = Setting(
    "a2c", "CartPole-v1", 8, zoo={"ent_coef": 0.0}, ours={"ent_coef": 0.0},
    budget=100_000, zoo_n_timesteps=500_000,
    notes=("zoo: n_envs 8, ent_coef 0, otherwise SB3 defaults (n_steps 5, RMSprop 7e-4, "
           "separate 64x64 tanh nets) = autolearn A2CConfig defaults",))
_A2C_AC = Setting(
    "a2c", "Acrobot-v1", 16, zoo={"ent_coef": 0.0}, ours={"ent_coef": 0.0},
    budget=100_000, zoo_n_timesteps=500_000, normalize=True,
    notes=("zoo: normalize (VecNormalize obs + reward) -> autolearn NormalizeObservation + "
           "NormalizeReward(gamma 0.99), both clip 10",))
_RECOMPUTE = ("autolearn's PPO recomputes the advantages before every epoch "
              "(recompute_advantages, its default since session 11, chosen by "
              "benchmarks/rl/ppo_pilot.py on pilot seeds); SB3's computes them once per rollout")
_PPO_CP = Setting(
    "ppo", "CartPole-v1", 8,
    zoo={"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
         "ent_coef": 0.0, "learning_rate": "lin_0.001", "clip_range": "lin_0.2"},
    ours={"n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
          "ent_coef": 0.0, "learning_rate": "lin_0.001", "clip_range": "lin_0.2"},
    budget=100_000, zoo_n_timesteps=100_000,
    notes=("budget = the zoo's n_timesteps, so the linear schedules are the zoo's",
           _RECOMPUTE))
_PPO_AC = Setting(
    "ppo", "Acrobot-v1", 16,
    zoo={"n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0},
    ours={"n_steps": 256, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4, "ent_coef": 0.0},
    budget=100_000, zoo_n_timesteps=1_000_000, normalize=True, eval_every=4_096,
    notes=("batch_size 64 (SB3 default) on both sides; eval every 4,096 steps (one rollout)",
           _RECOMPUTE))
_PPO_PD = Setting(
    "ppo", "Pendulum-v1", 4,
    zoo={"n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0,
         "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4},
    ours={"n_steps": 1024, "gae_lambda": 0.95, "gamma": 0.9, "n_epochs": 10, "ent_coef": 0.0,
          "learning_rate": 1e-3, "clip_range": 0.2, "use_sde": True, "sde_sample_freq": 4},
    budget=100_000, zoo_n_timesteps=100_000, eval_every=8_192,
    notes=("gSDE on both sides as in the zoo: use_sde, sde_sample_freq 4 (same names in "
           "autolearn's PPOConfig); SB3's gSDE defaults log_std_init 0, full_std True, "
           "use_expln False = autolearn's", _RECOMPUTE))
_DQN_CP = Setting(
    "dqn", "CartPole-v1", 1,
    zoo={"learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100_000,
         "learning_starts": 1000, "gamma": 0.99, "target_update_interval": 10,
         "train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16,
         "exploration_final_eps": 0.04, "policy_kwargs": {"net_arch": [256, 256]}},
    ours={"learning_rate": 2.3e-3, "batch_size": 64, "buffer_size": 100_000,
          "learning_starts": 1000, "gamma": 0.99, "target_update_interval": 10,
          "train_freq": 256, "gradient_steps": 128, "exploration_fraction": 0.16,
          "exploration_final_eps": 0.04, "hidden": (256, 256), "double_q": False},
    budget=50_000, zoo_n_timesteps=50_000,
    notes=("budget = the zoo's n_timesteps (the exploration fraction is relative to it); "
           "autolearn with double_q=False, SB3's DQN being the Nature DQN",))
_DQN_AC = Setting(
    "dqn", "Acrobot-v1", 1,
    zoo={"learning_rate": 6.3e-4, "batch_size": 128, "buffer_size": 50_000,
         "learning_starts": 0, "gamma": 0.99, "target_update_interval": 250,
         "train_freq": 4, "gradient_steps": -1, "exploration_fraction": 0.12,
         "exploration_final_eps": 0.1, "policy_kwargs": {"net_arch": [256, 256]}},
    ours={"learning_rate": 6.3e-4, "batch_size": 128, "buffer_size": 50_000,
          "learning_starts": 0, "gamma": 0.99, "target_update_interval": 250,
          "train_freq": 4, "gradient_steps": 4, "exploration_fraction": 0.12,
          "exploration_final_eps": 0.1, "hidden": (256, 256), "double_q": False},
    budget=100_000, zoo_n_timesteps=100_000,
    notes=("gradient_steps -1 (SB3: as many as env steps per phase) = 4 with train_freq 4 and "
           "one env",))
# A3C has no zoo entry: the A2C CartPole/Acrobot numbers split over 2 Hogwild workers
# (2 cores) x 4 / 8 envs with t_max 5, so one "update round" sees the same 40 / 80 steps.
_A3C_CP = Setting(
    "a3c", "CartPole-v1", 4, zoo={}, ours={"n_workers": 2, "ent_coef": 0.0},
    budget=100_000, zoo_n_timesteps=500_000,
    notes=("A3C (autolearn only): A2C's zoo numbers, 2 workers x 4 envs, shared RMSprop",))
# A3C Acrobot: autolearn's own setting, tuned on pilot seeds 100-119 (never reported) by
# benchmarks/rl/a3c_pilot.py (session 10, R12): 2 workers x 4 envs, n_steps 5, lr 7e-4.
_A3C_AC = Setting(
    "a3c", "Acrobot-v1", 4, zoo={},
    ours={"n_workers": 2, "n_steps": 5, "learning_rate": 7e-4, "ent_coef": 0.0,
          "normalize_obs": True, "normalize_reward": True},
    budget=100_000, zoo_n_timesteps=500_000,
    notes=("A3C with its own Acrobot setting, tuned on pilot seeds 100-119 (never reported) "
           "by benchmarks/rl/a3c_pilot.py: envs per worker {4, 8, 16} x n_steps {5, 8, 16} x "
           "lr {7e-4, 1.4e-3}, 2 workers; chosen 2 x 4 envs, n_steps 5, lr 7e-4 (pilot "
           "medians 9,000 steps / 1.17 CPU-s; the zoo-derived 2 x 8 envs 13,020 / 1.16; SB3 "
           "A2C 13,000 / 1.81). The zoo's A2C Acrobot normalisation (obs + reward, clip 10, "
           "gamma 0.99): A3C's own normalize_obs / normalize_reward, one set of statistics in "
           "shared memory updated by both workers; evaluation through A3C.predict, which "
           "normalises with those statistics",))

# Asynchronous n-step Q-learning (no zoo entry): its defaults, 2 learners x 4 envs.
_AQ_CP = Setting(
    "async_q", "CartPole-v1", 4, zoo={}, ours={"n_workers": 2, "method": "n_step"},
    budget=100_000, zoo_n_timesteps=50_000,
    notes=("asynchronous n-step Q-learning (autolearn only), AsyncQConfig defaults (RMSprop "
           "3e-3, target every 500 steps, t_max 5, squared loss), 2 learners x 4 envs; "
           "compared with DQN",))

#: Which SB3 algorithm an autolearn-only algorithm is compared with.
PEERS = {"a3c": "a2c", "async_q": "dqn"}

SETTINGS: dict[str, Setting] = {s.key: s for s in (
    _A2C_CP, _PPO_CP, _DQN_CP, _A3C_CP, _AQ_CP, _A2C_AC, _PPO_AC, _DQN_AC, _A3C_AC, _PPO_PD)}


def throughput_settings(algo: str, n_envs: int) -> Setting:
    """CartPole zoo settings at ``n_envs`` envs (PPO at 1 env: n_steps 256, same rollout)."""
    base = SETTINGS[f"{algo}/CartPole-v1"]
    zoo, ours = dict(base.zoo), dict(base.ours)
    if algo == "ppo" and n_envs == 1:
        zoo["n_steps"] = ours["n_steps"] = 256
    return Setting(algo, "CartPole-v1", n_envs, zoo=zoo, ours=ours, budget=base.budget,
                   zoo_n_timesteps=base.zoo_n_timesteps)


def ours_config(setting: Setting) -> Any:
    """The autolearn config of ``setting`` (imports autolearn.rl)."""
    from autolearn import rl

    cls = {"a2c": rl.A2CConfig, "a3c": rl.A3CConfig, "ppo": rl.PPOConfig,
           "dqn": rl.DQNConfig, "async_q": rl.AsyncQConfig}[setting.algo]
    kwargs = {k: rl.Linear(float(v[4:])) if isinstance(v, str) and v.startswith("lin_") else v
              for k, v in setting.ours.items()}
    return cls(n_envs=setting.n_envs, **kwargs)
