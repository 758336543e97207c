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
