"""Train an agent from the tuned default file plus your own overrides, as the CLI does.

    python examples/rl_train_from_config.py                       # PPO CartPole-v1, 100k
    python examples/rl_train_from_config.py --algo dqn --steps 50000
    python examples/rl_train_from_config.py --set n_epochs=10 --tensorboard runs/tb
    python examples/rl_train_from_config.py --steps 512           # smoke test

The same run from the shell: ``autolearn rl train --algo ppo --env CartPole-v1``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from autolearn.rl import EvalCallback, ProgressBar, TensorBoardLogger, evaluate
from autolearn.rl.configs import build_agent, make_eval_env, resolve

THRESHOLD = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0, "Pendulum-v1": -250.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=None, help="default: the file's budget")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tensorboard", default=None, help="log directory (needs tensorboard)")
    parser.add_argument("--out", default="runs/example")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest

    # tuned defaults for (algo, env) < --set overrides; values parsed by field type
    spec = resolve(args.algo, args.env, overrides=args.set, n_timesteps=args.steps)
    print(f"{spec.algo} on {spec.env}: {spec.config}")
    agent = build_agent(spec, seed=args.seed)  # wraps the env in normalisers if asked
    callbacks = [EvalCallback(make_eval_env(spec, 10, train_env=agent.env),
                              eval_every=max(spec.n_timesteps // 10, 1),
                              stop_at=THRESHOLD.get(spec.env))]
    if args.tensorboard:
        callbacks.append(TensorBoardLogger(args.tensorboard))  # after the evaluation
    with ProgressBar(total=spec.n_timesteps) as bar:
        agent.learn(spec.n_timesteps, callback=[*callbacks, bar])
    if args.tensorboard:
        callbacks[-1].close()
    mean, std = evaluate(agent, make_eval_env(spec, 10, train_env=agent.env), 10)
    print(f"evaluation after {agent.num_timesteps} steps: {mean:.1f} +/- {std:.1f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    agent.save(out / f"{spec.algo}.pt")


if __name__ == "__main__":
    main()
