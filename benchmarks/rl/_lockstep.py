"""Pieces shared by the lock-step comparisons with Stable-Baselines3
(:mod:`benchmarks.rl.lockstep_ppo`, :mod:`benchmarks.rl.lockstep_a2c`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def max_diff(a: Any, b: Any) -> float:
    """The largest absolute element-wise difference, in float64."""
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def sb3_params(model: Any) -> list[torch.Tensor]:
    """An SB3 ``MlpPolicy``'s parameters (separate 2-layer policy and value networks) in
    autolearn's flat-optimiser order: twin trunk, then the heads."""
    p = {k: v.detach().clone() for k, v in model.policy.state_dict().items()}
    pi, vf = "mlp_extractor.policy_net.", "mlp_extractor.value_net."
    return [torch.cat([p[pi + "0.weight"], p[vf + "0.weight"]]),
            torch.cat([p[pi + "0.bias"], p[vf + "0.bias"]]),
            torch.stack([p[pi + "2.weight"].T, p[vf + "2.weight"].T]),
            torch.stack([p[pi + "2.bias"], p[vf + "2.bias"]])[:, None, :],
            p["action_net.weight"], p["action_net.bias"], p["value_net.weight"],
            p["value_net.bias"]]


def copy_sb3_weights(agent: Any, model: Any) -> None:
    """Start ``agent`` (autolearn A2C / PPO) from ``model``'s (SB3) initial weights."""
    with torch.no_grad():
        for mine, theirs in zip(agent.optimizer.trainable_params(), sb3_params(model),
                                strict=True):
            mine.copy_(theirs)


def param_gap(agent: Any, model: Any) -> float:
    """The largest difference between the two libraries' parameters."""
    return max(max_diff(m.detach(), t) for m, t in
               zip(agent.optimizer.trainable_params(), sb3_params(model), strict=True))


def record_sb3_log() -> dict[str, Any]:
    """Patch SB3's ``Logger.record`` (for this process) so every value it logs also lands
    in the returned dict, latest value per key."""
    from stable_baselines3.common.logger import Logger

    log: dict[str, Any] = {}
    record = Logger.record

    def recording_record(self: Any, key: str, value: Any, exclude: Any = None) -> None:
        log[key] = value
        record(self, key, value, exclude)

    Logger.record = recording_record  # type: ignore[method-assign]
    return log


def acrobot_pair(sb3_algo: str, n_envs: int, hp: dict[str, Any], seed: int,
                 **ours: Any) -> tuple[Any, Any, Any, Any]:
    """``(venv, model, env, agent)``: SB3's ``sb3_algo`` ("A2C" / "PPO") and autolearn's on
    Acrobot-v1 with the zoo's obs + reward normalisation, ``hp`` on both sides (``ours``:
    extra autolearn config fields), the same env seeds and autolearn starting from SB3's
    initial weights."""
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    import autolearn.rl as rl

    venv = VecNormalize(sb3_make_vec_env("Acrobot-v1", n_envs=n_envs, seed=seed), gamma=0.99)
    model = getattr(sb3, sb3_algo)("MlpPolicy", venv, seed=seed, device="cpu", verbose=0, **hp)
    env = rl.NormalizeReward(rl.NormalizeObservation(rl.make_vec_env("Acrobot-v1", n_envs)),
                             gamma=0.99)
    config = getattr(rl, f"{sb3_algo}Config")(n_envs=n_envs, **hp, **ours)
    agent = getattr(rl, sb3_algo)(env, config, seed=seed)
    agent._env_seed = seed  # as SB3's make_vec_env: sub-env i gets seed + i
    copy_sb3_weights(agent, model)
    return venv, model, env, agent


def sb3_recorder(venv: Any, actions: list[np.ndarray], roll: dict[str, Any]) -> Any:
    """An SB3 callback that appends each step's sampled actions to ``actions`` and, at the
    end of each rollout, puts the rollout buffer's arrays (observations, actions, rewards,
    values, log-probs, advantages, returns) and ``venv``'s normaliser statistics in
    ``roll``."""
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

    class Recorder(BaseCallback):  # type: ignore[misc]
        def _on_step(self) -> bool:
            actions.append(np.asarray(self.locals["actions"]).reshape(-1).copy())
            return True

        def _on_rollout_end(self) -> None:
            assert isinstance(self.model, OnPolicyAlgorithm)
            b = self.model.rollout_buffer
            roll.update(obs=b.observations.copy(), actions=b.actions[..., 0].copy(),
                        rewards=b.rewards.copy(), values=b.values.copy(),
                        log_probs=b.log_probs.copy(), advantages=b.advantages.copy(),
                        returns=b.returns.copy(), obs_mean=venv.obs_rms.mean.copy(),
                        obs_var=venv.obs_rms.var.copy(), ret_var=float(venv.ret_rms.var))

    return Recorder()


def replayed_actions() -> list[np.ndarray]:
    """A queue whose arrays autolearn's categorical sampler returns, in order, instead of
    sampling (patched for this process): fill it with SB3's actions before each update."""
    import autolearn.rl.common.policies as policies

    queue: list[np.ndarray] = []
    policies.categorical_sample = lambda log_probs, rng: queue.pop(0).astype(np.int64)
    return queue


def record_our_rollouts(module: Any) -> dict[str, Any]:
    """Patch ``module.collect_rollout`` (an agent module, e.g. ``autolearn.rl.ppo``) so each
    rollout's observations, actions, rewards, values and log-probs land in the returned
    dict."""
    roll: dict[str, Any] = {}
    collect = module.collect_rollout

    def recording_collect(*a: Any, **k: Any) -> Any:
        r = collect(*a, **k)
        roll.update(obs=r.obs.numpy().copy(), actions=r.actions.numpy().copy(),
                    rewards=r.rewards.numpy().copy(), values=r.values.numpy().copy(),
                    log_probs=r.log_probs.numpy().copy())
        return r

    module.collect_rollout = recording_collect
    return roll
