"""5-way few-shot classification on mnist1d classes never seen in training.

New classes are minted from random templates with mnist1d's own transform (offline,
unlimited); training and test classes come from disjoint template sets. MAML meta-trains
a small Conv1d; a network pretrained on all training classes (then given a fresh 5-way
head) and training from scratch are fine-tuned the same way for comparison.

    python examples/meta_fewshot_mnist1d.py --shots 1 --steps 1000     # ~5-10 CPU minutes
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F

from autolearn.meta import (
    MetaConfig,
    MetaLearner,
    build_model,
    default_model_spec,
    evaluate_init,
    mnist1d_tasks,
    pretrain,
    scratch_init_fn,
    transfer_init,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=1)
    parser.add_argument("--steps", type=int, default=1000, help="meta-training steps")
    parser.add_argument("--n-classes", type=int, default=None,
                        help="classes minted per split (default 512 train, 128 test)")
    parser.add_argument("--eval-tasks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    kw = {"ways": 5, "shots": args.shots, "n_classes": args.n_classes}
    train = mnist1d_tasks("train", n_query=5, **kw)
    test = mnist1d_tasks("test", n_query=15, **kw)
    spec = default_model_spec("mnist1d", 5)
    net = build_model(spec, seed=args.seed)

    cfg = MetaConfig(algorithm="maml", inner_steps=2, inner_lr=0.1, meta_batch_size=8,
                     eval_inner_steps=10)
    learner = MetaLearner(net, cfg, seed=args.seed, model_spec=spec)
    learner.fit(train, n_steps=args.steps)
    results = {"maml": learner.evaluate(test, n_tasks=args.eval_tasks, seed=1)}

    wide = build_model(default_model_spec("mnist1d", len(train.classes)), seed=args.seed)
    init = transfer_init(pretrain(wide, train, n_steps=2 * args.steps, seed=args.seed), net)
    common = {"n_tasks": args.eval_tasks, "steps": 10, "loss_fn": F.cross_entropy}
    results["pretrained"] = evaluate_init(net, init, {}, test, lrs=0.1,
                                          rng=np.random.default_rng(1), **common)
    results["scratch"] = evaluate_init(net, {}, {}, test, lrs=0.1,
                                       rng=np.random.default_rng(1),
                                       init_fn=scratch_init_fn(net, seed=args.seed), **common)
    print(f"5-way {args.shots}-shot accuracy on held-out classes ({args.eval_tasks} tasks), "
          "after 0 / 1 / 10 steps:")
    for name, res in results.items():
        acc = res["accuracy"]
        print(f"  {name:10s} {acc[0]:.1%} / {acc[1]:.1%} / {acc[10]:.1%}")


if __name__ == "__main__":
    main()
