"""Early stopping with Hyperband: an MLP on scikit-learn's digits, trained epoch by epoch.

Each trial reports its validation accuracy after every epoch; the pruner stops the
trials that fall behind, so most of the compute goes to the promising ones.

    python examples/pruning_torch.py --n-trials 40 --epochs 27
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import autolearn
from autolearn import TrialState


def load_data(seed: int = 0) -> tuple[torch.Tensor, ...]:
    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.3, random_state=seed,
                                              stratify=y)
    as_f = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)  # noqa: E731
    as_l = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.long)  # noqa: E731
    return as_f(X_tr), as_l(y_tr), as_f(X_va), as_l(y_va)


def make_objective(n_epochs: int):  # type: ignore[no-untyped-def]
    X_tr, y_tr, X_va, y_va = load_data()

    def objective(trial: autolearn.Trial) -> float:
        width = trial.suggest_int("width", 8, 256, log=True)
        depth = trial.suggest_int("depth", 1, 3)
        lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
        batch = trial.suggest_categorical("batch_size", [16, 64, 256])
        gen = torch.Generator().manual_seed(trial.number)
        layers: list[torch.nn.Module] = []
        d_in = 64
        for _ in range(depth):
            layers += [torch.nn.Linear(d_in, width), torch.nn.ReLU()]
            d_in = width
        model = torch.nn.Sequential(*layers, torch.nn.Linear(d_in, 10))
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()

        def epoch(i: int) -> float:
            model.train()
            order = torch.randperm(len(X_tr), generator=gen)
            for start in range(0, len(order), batch):
                idx = order[start:start + batch]
                opt.zero_grad()
                loss_fn(model(X_tr[idx]), y_tr[idx]).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                return float((model(X_va).argmax(1) == y_va).float().mean())

        return autolearn.pruners.run_epochs(trial, n_epochs, epoch)

    return objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument("--storage", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    study = autolearn.create_study(
        args.storage, direction="maximize", seed=args.seed,
        pruner=autolearn.pruners.HyperbandPruner(min_resource=1, max_resource=args.epochs),
    )
    study.optimize(make_objective(args.epochs), n_trials=args.n_trials, show_progress_bar=True)
    pruned = study.get_trials(states=(TrialState.PRUNED,))
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    print(f"{len(study.trials)} trials, {len(pruned)} pruned, {epochs} epochs trained "
          f"(of {len(study.trials) * args.epochs} without pruning)")
    print(f"best validation accuracy {study.best_value:.4f} with {study.best_params}")


if __name__ == "__main__":
    main()
