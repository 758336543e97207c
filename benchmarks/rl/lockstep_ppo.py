"""PPO on Acrobot-v1 in autolearn and Stable-Baselines3 in lock step, to find where they differ.

Both libraries start from the same weights (SB3's initial policy copied into ours), the
same env seeds (sub-env ``i`` seeded ``seed + i``) and the zoo's settings (16 envs,
n_steps 256, gae_lambda 0.94, gamma 0.99, 4 epochs of minibatches of 64, obs + reward
normalisation). Every iteration SB3 runs first; its sampled actions and its minibatch
permutations are then replayed on our side (our sampler and ``torch.randperm`` are
patched for this script only; SB3 flattens a rollout env-major, we step-major, so its
indices are mapped). Printed per iteration: the largest difference in the normalised
observations, actions, rewards (with the truncation bootstrap), values, log-probs, GAE
advantages and returns, the normalisers' statistics, the losses, and the parameters after
the update. Anything beyond float32 rounding is a difference in the algorithms.

Run from the repository root::

    .venv/bin/python -m benchmarks.rl.lockstep_ppo --seed 0 --iters 8

Diagnostic only (not part of ``python -m benchmarks run rl``). Note that the two
libraries log ``approx_kl`` differently (SB3: mean over the last epoch's minibatches;
autolearn: over all epochs), so that column is not expected to agree.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import torch

from benchmarks.rl._lockstep import (
    acrobot_pair,
    max_diff,
    param_gap,
    record_our_rollouts,
    record_sb3_log,
    replayed_actions,
    sb3_recorder,
)

N_ENVS, N_STEPS = 16, 256
HP: dict[str, Any] = {"n_steps": N_STEPS, "gae_lambda": 0.94, "gamma": 0.99, "n_epochs": 4,
                      "ent_coef": 0.0}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--iters", type=int, default=8)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)


    import autolearn.rl.ppo as ppo_module
    from autolearn.rl import NormalizeObservation

    seed = args.seed
    venv, model, env, agent = acrobot_pair("PPO", N_ENVS, HP, seed, recompute_advantages=False)

    # record SB3's draws, replay them on our side
    sb3_actions: list[np.ndarray] = []
    sb3_perms: list[np.ndarray] = []
    replay_actions = replayed_actions()
    replay_perms: list[np.ndarray] = []
    np_permutation, torch_randperm = np.random.permutation, torch.randperm

    def recording_permutation(n: Any, *a: Any, **k: Any) -> Any:
        out = np_permutation(n, *a, **k)
        if isinstance(n, int) and n == N_ENVS * N_STEPS:
            sb3_perms.append(out.copy())
        return out

    def replaying_randperm(n: int, *a: Any, **k: Any) -> torch.Tensor:
        if n == N_ENVS * N_STEPS and replay_perms:
            p = replay_perms.pop(0).astype(np.int64)  # SB3 index env * T + t -> t * N + env
            return torch.from_numpy((p % N_STEPS) * N_ENVS + p // N_STEPS)
        return torch_randperm(n, *a, **k)

    np.random.permutation = recording_permutation  # type: ignore[assignment]
    torch.randperm = replaying_randperm  # type: ignore[assignment]

    sb3_roll: dict[str, Any] = {}
    sb3_log = record_sb3_log()
    our_roll = record_our_rollouts(ppo_module)
    gae = ppo_module.gae

    def recording_gae(*a: Any, **k: Any) -> Any:
        adv, ret = gae(*a, **k)
        our_roll.update(advantages=np.array(adv), returns=np.array(ret))
        return adv, ret

    ppo_module.gae = recording_gae

    recorder = sb3_recorder(venv, sb3_actions, sb3_roll)
    obs_norm = env.env
    assert isinstance(obs_norm, NormalizeObservation)
    for it in range(args.iters):
        sb3_actions.clear()
        sb3_perms.clear()
        model.learn(N_ENVS * N_STEPS, callback=recorder, reset_num_timesteps=it == 0)
        replay_actions[:] = [a.copy() for a in sb3_actions]
        replay_perms[:] = [p.copy() for p in sb3_perms]
        agent.learn(N_ENVS * N_STEPS)
        if replay_actions or replay_perms:
            raise RuntimeError("the two libraries drew a different number of actions/batches")
        print(f"iteration {it} (env steps {agent.num_timesteps:,})")
        for k in ("obs", "actions", "rewards", "values", "log_probs", "advantages", "returns"):
            print(f"  {k:11s} max |ours - SB3| {max_diff(our_roll[k], sb3_roll[k]):.2e}")
        print(f"  obs stats   max |ours - SB3| mean "
              f"{max_diff(obs_norm.rms.mean, sb3_roll['obs_mean']):.2e} var "
              f"{max_diff(obs_norm.rms.var, sb3_roll['obs_var']):.2e}; return var "
              f"{abs(env.rms.var - sb3_roll['ret_var']):.2e}")
        worst = param_gap(agent, model)
        print(f"  parameters after the update: max |ours - SB3| {worst:.2e}")
        h = agent.history[-1]
        for who, row in (("ours", (h["policy_loss"], h["value_loss"], h["clip_fraction"],
                                   h["explained_variance"])),
                         (" SB3", tuple(sb3_log[f"train/{k}"] for k in (
                             "policy_gradient_loss", "value_loss", "clip_fraction",
                             "explained_variance")))):
            print(f"  losses {who}: policy {row[0]:.6f} value {row[1]:.6f} "
                  f"clip_fraction {row[2]:.4f} explained_var {row[3]:.4f}")

if __name__ == "__main__":
    main()
