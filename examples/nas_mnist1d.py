"""NASNet cell search on mnist1d, then the best cell stacked larger and retrained.

A PPO controller (as in NASNet, Zoph et al. 2018) — or any sampler given by name —
searches normal and reduction cells on a small proxy: "1 @ 8" networks (one cell per
stage, 8 initial filters) trained ``--epochs`` epochs on 1,000 generated sequences. The
best cells are then stacked as "2 @ 16" and retrained on 4,000 sequences.

    python examples/nas_mnist1d.py --budget 32
    autolearn nas search --space nasnet --data mnist1d --budget 64 --storage sqlite:///nas.db
"""

from __future__ import annotations

import argparse

import torch

from autolearn.nas import TrainConfig, export_best, make_space, retrain, search


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=32, help="children to train")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per child")
    parser.add_argument("--sampler", default="ppo",
                        help="reinforce, ppo, evolution, random or tpe")
    parser.add_argument("--n-train", type=int, default=1000, help="proxy training size")
    parser.add_argument("--retrain-epochs", type=int, default=10)
    parser.add_argument("--retrain-n-train", type=int, default=4000)
    parser.add_argument("--storage", default=None, help="storage URL (resume: same URL)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # small children: one thread is fastest

    # Five ops keep the proxy children fast; make_space("nasnet") has the paper's 13.
    space = make_space("nasnet", ops=["identity", "sep_conv_3x3", "sep_conv_5x5",
                                      "avg_pool_3x3", "max_pool_3x3"])
    study = search(space, "mnist1d", budget=args.budget, sampler=args.sampler,
                   storage=args.storage, study_name="nas-mnist1d-cells", seed=args.seed,
                   size={"cells": 1, "filters": 8},
                   data_kwargs={"n_train": args.n_train, "n_val": 500},
                   train=TrainConfig(epochs=args.epochs, lr=3e-3, batch_size=32))
    best = export_best(study)
    print(f"{len(study.trials)} children; best proxy validation accuracy {best['value']:.4f}")
    print(best["description"])
    _, result = retrain(best, "mnist1d", size={"cells": 2, "filters": 16},
                        data_kwargs={"n_train": args.retrain_n_train, "n_val": 1000},
                        train=TrainConfig(epochs=args.retrain_epochs, lr=3e-3, batch_size=64))
    print(f"retrained as 2 @ 16 on {args.retrain_n_train} sequences for "
          f"{args.retrain_epochs} epochs: "
          f"validation accuracy {result.val_accuracy:.4f} ({result.n_params} parameters)")


if __name__ == "__main__":
    main()
