"""Train asynchronous n-step Q-learning (Mnih et al. 2016) on CartPole-v1 and evaluate it.

    python examples/rl_async_q_cartpole.py                  # up to 100k steps, stops at 475
    python examples/rl_async_q_cartpole.py --timesteps 400  # smoke test
    python examples/rl_async_q_cartpole.py --method one_step

Two actor-learners (processes) update one shared Q-network; the evaluation callback runs
in learner 0 between its own updates.
"""

from __future__ import annotations

import argparse

import torch

from autolearn.rl import AsyncQ, AsyncQConfig, EvalCallback, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--method", choices=("n_step", "one_step"), default="n_step")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=2_000)
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny networks: one thread per learner is fastest

    config = AsyncQConfig(method=args.method, n_workers=args.workers, n_envs=4)
    agent = AsyncQ("CartPole-v1", config, seed=args.seed)
    evals = EvalCallback("CartPole-v1", eval_every=args.eval_every, n_episodes=10,
                         seed=args.seed + 1000, stop_at=475.0)
    agent.learn(args.timesteps, callback=evals)
    mean, std = evaluate(agent, "CartPole-v1", n_episodes=10, seed=args.seed + 2000)
    print(f"trained {agent.num_timesteps} env steps with {args.workers} learners "
          f"({args.method} Q-learning), last epsilon of learner 0: {agent.exploration_rate:.2f}")
    print(f"evaluation return {mean:.1f} +/- {std:.1f} over 10 episodes")


if __name__ == "__main__":
    main()
