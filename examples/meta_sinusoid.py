"""Few-shot sinusoid regression: MAML vs a network pretrained on all tasks.

Meta-trains the MAML paper's 1-40-40-1 ReLU MLP on sinusoids y = A sin(x - phase) with
K = 10 support points, then fine-tunes the learned initialisation on new sinusoids and
compares it with the same network pretrained jointly on all tasks (fine-tuned the same
way). With the paper's 10,000 meta-steps (--steps 10000, ~3-5 CPU minutes) MAML reaches a
query MSE of ~0.45 after one gradient step and ~0.13 after ten; the pretrained network
stays near 2.5.

    python examples/meta_sinusoid.py --steps 2000 --algo maml
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from autolearn.meta import (
    MetaConfig,
    MetaLearner,
    SinusoidTasks,
    build_model,
    evaluate_init,
    pretrain,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="meta-training steps")
    parser.add_argument("--algo", default="maml", choices=["maml", "fomaml", "metasgd"])
    parser.add_argument("--eval-tasks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=None, help="save the learner to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)

    spec = {"kind": "mlp", "sizes": [1, 40, 40, 1]}
    net = build_model(spec, seed=args.seed)
    learner = MetaLearner(net, MetaConfig(algorithm=args.algo, inner_lr=0.01,
                                          meta_batch_size=25, eval_inner_steps=10),
                          seed=args.seed, model_spec=spec)
    learner.fit(SinusoidTasks(shots=10), n_steps=args.steps)
    if args.save:
        learner.save(args.save)

    new_tasks = SinusoidTasks(shots=10, n_query=100)
    maml = learner.evaluate(new_tasks, n_tasks=args.eval_tasks, seed=123)
    base = pretrain(net, SinusoidTasks(shots=10), n_steps=args.steps, seed=args.seed)
    pre = evaluate_init(net, base, {}, new_tasks, n_tasks=args.eval_tasks, steps=10,
                        lrs=0.01, loss_fn=torch.nn.functional.mse_loss,
                        rng=np.random.default_rng(123))
    print(f"query MSE on {args.eval_tasks} new sinusoids (K=10), after 0 / 1 / 10 steps:")
    for name, res in ((args.algo, maml), ("pretrained", pre)):
        loss = res["loss"]
        print(f"  {name:10s} {loss[0]:.3f} / {loss[1]:.3f} / {loss[10]:.3f}")


if __name__ == "__main__":
    main()
