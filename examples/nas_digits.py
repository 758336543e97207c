"""Neural architecture search on scikit-learn's 8x8 digits, end to end.

A REINFORCE controller (Zoph & Le 2017) searches a small 2-D macro space (3 conv layers:
kernel size, filters, pooling, skip connections) for ``--budget`` children trained
``--epochs`` epochs each; a median pruner stops poor children after their first epochs.
The best architecture is exported to JSON and retrained twice as wide for longer.

    python examples/nas_digits.py --budget 32 --epochs 4
    python examples/nas_digits.py --budget 48 --storage sqlite:///nas_digits.db  # resumable
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from autolearn import TrialState
from autolearn.nas import TrainConfig, export_best, make_space, retrain, search
from autolearn.pruners import MedianPruner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=32, help="children to train")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per child")
    parser.add_argument("--sampler", default="reinforce",
                        help="reinforce, ppo, evolution, random or tpe")
    parser.add_argument("--storage", default=None, help="storage URL (resume: same URL)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # small children: one thread is fastest

    space = make_space("macro", num_layers=3, kernel_sizes=[1, 3, 5], filters=[8, 16, 32],
                       reductions=["none", "maxpool"])
    study = search(space, "digits", budget=args.budget, sampler=args.sampler,
                   storage=args.storage, study_name="nas-digits", seed=args.seed,
                   train=TrainConfig(epochs=args.epochs, lr=3e-3, batch_size=32),
                   pruner=MedianPruner(n_startup_trials=4, n_warmup_steps=1))
    states = [t.state for t in study.trials]
    print(f"{len(states)} children: {states.count(TrialState.COMPLETE)} complete, "
          f"{states.count(TrialState.PRUNED)} pruned, {states.count(TrialState.FAIL)} failed")
    path = Path(tempfile.mkdtemp()) / "best_digits.json"
    best = export_best(study, path)
    print(f"best validation accuracy {best['value']:.4f} ({best['n_params']} parameters): "
          f"{best['description']}")
    print(f"exported to {path}")
    _, result = retrain(path, size={"width": 2.0},
                        train=TrainConfig(epochs=2 * args.epochs, lr=3e-3, batch_size=32))
    print(f"retrained 2x wider for {2 * args.epochs} epochs: validation accuracy "
          f"{result.val_accuracy:.4f} ({result.n_params} parameters)")


if __name__ == "__main__":
    main()
