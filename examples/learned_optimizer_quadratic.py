"""Meta-train an LSTM optimizer on random quadratics and compare it with tuned Adam.

    python examples/learned_optimizer_quadratic.py                 # ~2-3 CPU minutes
    python examples/learned_optimizer_quadratic.py --n-tasks 4     # a smoke run

Then use the result on any model:
``LearnedOptimizer(model.parameters(), weights="quadratic_lstm.pt")``.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from autolearn.learned_optim import (
    LearnedOptimizer,
    MetaTrainConfig,
    QuadraticProblem,
    meta_train,
    optimize,
    run_baseline,
    save_weights,
    tune_baseline,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-tasks", type=int, default=150)
    parser.add_argument("--eval-tasks", type=int, default=5)
    parser.add_argument("--out", default="quadratic_lstm.pt")
    args = parser.parse_args()
    torch.set_num_threads(1)

    problem = QuadraticProblem(dim=10, n_functions=32)
    config = MetaTrainConfig(n_tasks=args.n_tasks, horizon=100, unroll=20, learning_rate=3e-3,
                             loss_transform="log", eval_every=max(1, args.n_tasks // 5),
                             n_eval_tasks=2)
    result = meta_train(problem, config=config, seed=0)
    save_weights(result.net, args.out, metadata={"problem": "quadratic", "n_functions": 32})
    print(f"meta-trained on {result.tasks_done} tasks in {result.cpu_seconds:.0f} CPU s "
          f"-> {args.out}")

    # Held-out tasks (seeds 10_000+) vs Adam tuned on other tasks (seeds 0..2).
    adam = tune_baseline(problem, "adam", n_steps=100, tuning_seeds=[0, 1, 2],
                         grid=[0.01, 0.03, 0.1, 0.3, 1.0])
    tasks = [problem.sample_task(10_000 + i) for i in range(args.eval_tasks)]
    learned = [t.evaluate(optimize(result.net, t, 100)[0])["loss"] for t in tasks]
    tuned = [run_baseline(t, lambda p: torch.optim.Adam(p, lr=adam.learning_rate), 100)[0]["loss"]
             for t in tasks]
    print(f"final loss after 100 steps: learned {statistics.mean(learned):.4f}, "
          f"Adam (lr {adam.learning_rate:g}) {statistics.mean(tuned):.4f}")

    # The same network as a torch optimizer on an ordinary parameter.
    task = tasks[0]
    theta = torch.nn.Parameter(task.theta0.clone())
    opt = LearnedOptimizer([theta], weights=result.net)
    for t in range(100):
        opt.zero_grad()
        task.loss(theta, t).backward()
        opt.step()
    print(f"as a torch.optim.Optimizer on task 0: {float(task.loss(theta, 100).detach()):.4f}")


if __name__ == "__main__":
    main()
