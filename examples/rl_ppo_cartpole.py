"""Train PPO on CartPole-v1 with the RL Zoo's settings and evaluate it.

    python examples/rl_ppo_cartpole.py                  # up to 100k steps, stops at 475
    python examples/rl_ppo_cartpole.py --timesteps 512  # smoke test

Prints the env steps used, the final 10-episode deterministic evaluation and the training
throughput (env steps per CPU-second, evaluation excluded).
"""

from __future__ import annotations

import argparse
import time

import torch

from autolearn.rl import PPO, EvalCallback, Linear, PPOConfig, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=2_048)
    parser.add_argument("--log", default=None, help="CSV file for per-iteration diagnostics")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest

    config = PPOConfig(n_envs=8, n_steps=32, batch_size=256, n_epochs=20, gamma=0.98,
                       gae_lambda=0.8, learning_rate=Linear(1e-3), clip_range=Linear(0.2),
                       ent_coef=0.0)
    agent = PPO("CartPole-v1", config, seed=args.seed, log_path=args.log)
    evals = EvalCallback("CartPole-v1", eval_every=args.eval_every, n_episodes=10,
                         seed=args.seed + 1000, stop_at=475.0)
    start = time.process_time()
    agent.learn(args.timesteps, callback=evals)
    cpu = time.process_time() - start
    mean, std = evaluate(agent, "CartPole-v1", n_episodes=10, seed=args.seed + 2000)
    last = agent.history[-1]
    print(f"trained {agent.num_timesteps} env steps in {cpu:.1f} CPU-s (with evaluations)")
    print(f"approx_kl {last['approx_kl']:.4f}  clip_fraction {last['clip_fraction']:.3f}  "
          f"explained_variance {last['explained_variance']:.3f}")
    print(f"evaluation return {mean:.1f} +/- {std:.1f} over 10 episodes")


if __name__ == "__main__":
    main()
