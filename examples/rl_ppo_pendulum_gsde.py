"""Train PPO with gSDE (state-dependent exploration) on Pendulum-v1, the RL Zoo's setting.

    python examples/rl_ppo_pendulum_gsde.py                   # 100k steps (a few minutes)
    python examples/rl_ppo_pendulum_gsde.py --timesteps 2048  # smoke test

gSDE (Raffin, Kober & Stulp, CoRL 2021) explores with noise ``z(s) @ W``: the policy's
last hidden features times a random matrix redrawn every ``sde_sample_freq`` steps, so
consecutive actions are perturbed smoothly instead of independently. Prints the learned
noise scale and a 10-episode deterministic evaluation (solved: >= -200).
"""

from __future__ import annotations

import argparse
import time

import torch

from autolearn.rl import PPO, PPOConfig, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest

    # RL Zoo hyperparams/ppo.yml, Pendulum-v1
    config = PPOConfig(n_envs=4, n_steps=1024, gamma=0.9, gae_lambda=0.95, n_epochs=10,
                       learning_rate=1e-3, clip_range=0.2, ent_coef=0.0,
                       use_sde=True, sde_sample_freq=4)
    agent = PPO("Pendulum-v1", config, seed=args.seed)
    start = time.process_time()
    agent.learn(args.timesteps)
    cpu = time.process_time() - start
    mean, std = evaluate(agent, "Pendulum-v1", n_episodes=10, seed=args.seed + 1000)
    noise_std = float(agent.policy.log_std.exp().mean())
    print(f"trained {agent.num_timesteps} env steps in {cpu:.1f} CPU-s")
    print(f"mean gSDE noise std per feature {noise_std:.3f}")
    print(f"evaluation return {mean:.1f} +/- {std:.1f} over 10 episodes")


if __name__ == "__main__":
    main()
