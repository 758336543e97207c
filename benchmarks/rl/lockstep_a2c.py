"""A2C on Acrobot-v1 in autolearn and Stable-Baselines3 in lock step, to find where they differ.

The A2C companion of :mod:`benchmarks.rl.lockstep_ppo`: both libraries start from the same
weights (SB3's initial policy copied into ours), the same env seeds (sub-env ``i`` seeded
``seed + i``) and the RL Zoo's A2C Acrobot settings (16 envs, n_steps 5, gamma 0.99,
n-step returns (gae_lambda 1), RMSprop 7e-4 / alpha 0.99 / eps 1e-5, gradient norm
clipped at 0.5, ent_coef 0, obs + reward normalisation). Every update SB3 runs first; its
sampled actions are then replayed on our side (our categorical sampler is patched for this
script only). Printed every ``--every`` updates: the largest difference in the normalised
observations, actions, rewards (with the truncation bootstrap), values, log-probs,
returns, the normalisers' statistics, the losses and the parameters after the update.
Anything beyond float32 rounding (which compounds over updates) is a difference in the
algorithms.

Run from the repository root::

    .venv/bin/python -m benchmarks.rl.lockstep_a2c --seed 0 --updates 200 --every 20

Diagnostic only (not part of ``python -m benchmarks run rl``).
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

N_ENVS, N_STEPS = 16, 5
HP: dict[str, Any] = {"n_steps": N_STEPS, "ent_coef": 0.0}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--every", type=int, default=20, help="print every N updates")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)


    import autolearn.rl.a2c as a2c_module
    from autolearn.rl import NormalizeObservation

    seed = args.seed
    venv, model, env, agent = acrobot_pair("A2C", N_ENVS, HP, seed)

    sb3_actions: list[np.ndarray] = []
    replay_actions = replayed_actions()
    sb3_roll: dict[str, Any] = {}
    sb3_log = record_sb3_log()
    our_roll = record_our_rollouts(a2c_module)
    nstep = a2c_module.nstep_returns

    def recording_nstep(*a: Any, **k: Any) -> Any:
        ret = nstep(*a, **k)
        our_roll.update(returns=np.array(ret))
        return ret

    a2c_module.nstep_returns = recording_nstep  # type: ignore[assignment]

    recorder = sb3_recorder(venv, sb3_actions, sb3_roll)
    obs_norm = env.env
    assert isinstance(obs_norm, NormalizeObservation)
    worst_params = 0.0
    for it in range(args.updates):
        sb3_actions.clear()
        model.learn(N_ENVS * N_STEPS, callback=recorder, reset_num_timesteps=it == 0)
        replay_actions[:] = [a.copy() for a in sb3_actions]
        agent.learn(N_ENVS * N_STEPS)
        if replay_actions:
            raise RuntimeError("the two libraries drew a different number of actions")
        worst = param_gap(agent, model)
        worst_params = max(worst_params, worst)
        if (it + 1) % args.every and it + 1 != args.updates:
            continue
        print(f"update {it + 1} (env steps {agent.num_timesteps:,})")
        for k in ("obs", "actions", "rewards", "values", "log_probs", "returns"):
            print(f"  {k:11s} max |ours - SB3| {max_diff(our_roll[k], sb3_roll[k]):.2e}")
        print(f"  obs stats   max |ours - SB3| mean "
              f"{max_diff(obs_norm.rms.mean, sb3_roll['obs_mean']):.2e} var "
              f"{max_diff(obs_norm.rms.var, sb3_roll['obs_var']):.2e}; return var "
              f"{abs(env.rms.var - sb3_roll['ret_var']):.2e}")
        print(f"  parameters after the update: max |ours - SB3| {worst:.2e} "
              f"(largest so far {worst_params:.2e})")
        h = agent.history[-1]
        for who, row in (("ours", (h["policy_loss"], h["value_loss"], h["entropy"],
                                   h["explained_variance"])),
                         (" SB3", (sb3_log["train/policy_loss"], sb3_log["train/value_loss"],
                                   -sb3_log["train/entropy_loss"],
                                   sb3_log["train/explained_variance"]))):
            print(f"  losses {who}: policy {row[0]:.6f} value {row[1]:.6f} "
                  f"entropy {row[2]:.6f} explained_var {row[3]:.4f}")


if __name__ == "__main__":
    main()
