"""Build the learning-curve tables of the pruning benchmark (``data/*.npz``).

``python -m benchmarks.pruners.build_tables [--problems mlp_mnist1d,mlp_digits,sgd_digits]
[--workers 2] [--limit N]``

Every configuration is trained once, deterministically (its own seed: the row number),
on one CPU thread per worker process, and its validation accuracy is recorded after every
epoch. Data are generated or bundled locally, nothing is downloaded:

- ``mlp_mnist1d``: mnist1d generated with ``make_dataset(get_dataset_args())`` (4,000
  training + 1,000 test sequences of length 40; the test part is not used). The training
  part is split once (seed 0) into 3,000 train / 1,000 validation.
- ``mlp_digits``: scikit-learn ``load_digits`` (1,797 8x8 images, pixels / 16), split once
  (seed 0, stratified) into 1,197 train / 600 validation.
- ``sgd_digits``: ``SGDClassifier.partial_fit`` on the same digits split, features
  standardised on the train part; one epoch = one ``partial_fit`` pass.

The MLPs are ReLU networks trained with Adam (PyTorch) for 27 epochs; the SGD models for
20 epochs.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from typing import Any

import numpy as np

from benchmarks.pruners._tables import CurveTable

MLP_SPACE: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("width", (16, 32, 64, 128, 256)),
    ("depth", (1, 2)),
    ("lr", (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)),
    ("batch_size", (64, 256)),
    ("weight_decay", (0.0, 1e-3)),
)
SGD_SPACE: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("loss", ("hinge", "log_loss", "modified_huber", "squared_hinge")),
    ("penalty", ("l2", "l1")),
    ("alpha", (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)),
    ("learning_rate", ("optimal", "constant", "invscaling", "adaptive")),
    ("eta0", (0.01, 0.1)),
)
MLP_EPOCHS = 27
SGD_EPOCHS = 20


def _split(n: int, n_val: int, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    if y is None:
        perm = rng.permutation(n)
        return perm[n_val:], perm[:n_val]
    val: list[int] = []
    for c in np.unique(y):  # stratified: each class in proportion
        idx = rng.permutation(np.flatnonzero(y == c))
        val += idx[: round(len(idx) * n_val / n)].tolist()
    val_idx = np.array(sorted(val))
    return np.setdiff1d(np.arange(n), val_idx), val_idx


def _mnist1d() -> tuple[np.ndarray, ...]:
    from mnist1d.data import get_dataset_args, make_dataset

    # make_dataset seeds NumPy's global generator; keep the caller's state as it was.
    state = np.random.get_state()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(state)
    x, y = np.asarray(data["x"], dtype=np.float32), np.asarray(data["y"], dtype=np.int64)
    tr, va = _split(len(x), 1000)
    return x[tr], y[tr], x[va], y[va]


def _digits(*, standardise: bool) -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data / 16.0).astype(np.float32), d.target.astype(np.int64)
    tr, va = _split(len(x), 600, y)
    xtr, xva = x[tr], x[va]
    if standardise:
        mu, sd = xtr.mean(0), xtr.std(0) + 1e-6
        xtr, xva = (xtr - mu) / sd, (xva - mu) / sd
    return xtr, y[tr], xva, y[va]


_DATA: dict[str, tuple[np.ndarray, ...]] = {}


def _data(problem: str) -> tuple[np.ndarray, ...]:
    if problem not in _DATA:
        _DATA[problem] = (_mnist1d() if problem == "mlp_mnist1d"
                          else _digits(standardise=problem == "sgd_digits"))
    return _DATA[problem]


def train_mlp(problem: str, rows: list[int], cfgs: list[dict[str, Any]],
              n_epochs: int) -> list[list[float]]:
    """Adam on ReLU MLPs; validation accuracy after each epoch, one list per config.

    The configurations must share width, depth and batch size; they are trained side by
    side as one batched network (``G`` copies of the weights, ``(G, in, out)``), which gives
    each the same result as training it alone. Configuration ``row`` draws its initial
    weights (PyTorch's default ``nn.Linear`` init) and its shuffling from a generator seeded
    with ``row``. Adam with L2 weight decay as in ``torch.optim.Adam``.
    """
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    shape = {(c["width"], c["depth"], c["batch_size"]) for c in cfgs}
    if len(shape) != 1:
        raise ValueError(f"configs must share width, depth and batch size, got {shape}")
    xtr, ytr, xva, yva = (torch.from_numpy(a) for a in _data(problem))
    G, n_classes = len(rows), int(ytr.max()) + 1
    gens = [torch.Generator().manual_seed(r) for r in rows]
    sizes = [xtr.shape[1]] + [cfgs[0]["width"]] * cfgs[0]["depth"] + [n_classes]
    params: list[torch.Tensor] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        W, bias = torch.empty(G, a, b), torch.empty(G, 1, b)
        for i, g in enumerate(gens):
            w = torch.empty(b, a)
            torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
            W[i] = w.T
            bias[i, 0].uniform_(-1 / math.sqrt(a), 1 / math.sqrt(a), generator=g)
        params += [W.requires_grad_(), bias.requires_grad_()]
    lr = torch.tensor([c["lr"] for c in cfgs]).view(G, 1, 1)
    wd = torch.tensor([c["weight_decay"] for c in cfgs]).view(G, 1, 1)
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    beta1, beta2, eps, t = 0.9, 0.999, 1e-8, 0

    def forward(h: torch.Tensor) -> torch.Tensor:
        for k in range(0, len(params), 2):
            h = torch.matmul(h, params[k]) + params[k + 1]
            if k < len(params) - 2:
                h = F.relu(h)
        return h

    bs = cfgs[0]["batch_size"]
    out: list[list[float]] = [[] for _ in rows]
    for _ in range(n_epochs):
        perms = torch.stack([torch.randperm(len(xtr), generator=g) for g in gens])
        for s in range(0, len(xtr), bs):
            idx = perms[:, s:s + bs]                      # (G, B)
            logits = forward(xtr[idx])                    # (G, B, C)
            loss = F.cross_entropy(logits.reshape(-1, n_classes), ytr[idx].reshape(-1),
                                   reduction="sum") / idx.shape[1]
            grads = torch.autograd.grad(loss, params)
            t += 1
            with torch.no_grad():
                for p, gr, mp, vp in zip(params, grads, m, v, strict=True):
                    gr = gr + wd * p
                    mp.mul_(beta1).add_(gr, alpha=1 - beta1)
                    vp.mul_(beta2).addcmul_(gr, gr, value=1 - beta2)
                    denom = (vp.sqrt() / math.sqrt(1 - beta2**t)).add_(eps)
                    p.sub_(lr / (1 - beta1**t) * mp / denom)
        with torch.no_grad():
            logits = forward(xva)                         # (G, N_val, C)
            acc = (logits.argmax(-1) == yva).float().mean(-1)
            finite = torch.isfinite(logits).flatten(1).all(1)
        for i in range(G):  # a diverged net guesses
            out[i].append(float(acc[i]) if finite[i] else 1.0 / n_classes)
    return out


def train_sgd(problem: str, rows: list[int], cfgs: list[dict[str, Any]],
              n_epochs: int) -> list[list[float]]:
    """``SGDClassifier.partial_fit``, one pass per epoch; configuration ``row`` is seeded
    with ``row``."""
    return [_train_sgd_one(problem, r, c, n_epochs) for r, c in zip(rows, cfgs, strict=True)]


def _train_sgd_one(problem: str, row: int, cfg: dict[str, Any], n_epochs: int) -> list[float]:
    import warnings

    from sklearn.linear_model import SGDClassifier

    xtr, ytr, xva, yva = _data(problem)
    est = SGDClassifier(loss=cfg["loss"], penalty=cfg["penalty"], alpha=cfg["alpha"],
                        learning_rate=cfg["learning_rate"], eta0=cfg["eta0"], random_state=row)
    classes, out = np.unique(ytr), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n_epochs):
            est.partial_fit(xtr, ytr, classes=classes)
            out.append(float(est.score(xva, yva)))
    return out


PROBLEMS: dict[str, tuple[tuple[tuple[str, tuple[Any, ...]], ...], int,
                          Callable[..., list[list[float]]], str]] = {
    "mlp_mnist1d": (MLP_SPACE, MLP_EPOCHS, train_mlp,
                    "ReLU MLP + Adam (PyTorch) on mnist1d, 3,000 train / 1,000 validation"),
    "mlp_digits": (MLP_SPACE, MLP_EPOCHS, train_mlp,
                   "ReLU MLP + Adam (PyTorch) on digits, 1,197 train / 600 validation"),
    "sgd_digits": (SGD_SPACE, SGD_EPOCHS, train_sgd,
                   "SGDClassifier.partial_fit on standardised digits, 1,197 train / 600 "
                   "validation"),
}


def _work(job: tuple[str, list[int], list[dict[str, Any]]]) -> list[list[float]]:
    problem, rows, cfgs = job
    space, n_epochs, train, _ = PROBLEMS[problem]
    return train(problem, rows, cfgs, n_epochs)


def _jobs(problem: str, configs: list[dict[str, Any]],
          rows: list[int]) -> list[tuple[str, list[int], list[dict[str, Any]]]]:
    """Work units: MLP configurations sharing a network shape train together; SGD ones in
    chunks of 8."""
    groups: dict[Any, list[int]] = {}
    for r in rows:
        c = configs[r]
        key = ((c["width"], c["depth"], c["batch_size"]) if problem.startswith("mlp")
               else r // 8)
        groups.setdefault(key, []).append(r)
    return [(problem, g, [configs[r] for r in g]) for g in groups.values()]


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def build(problem: str, *, workers: int, limit: int | None = None) -> CurveTable:
    space, n_epochs, _, description = PROBLEMS[problem]
    stub = CurveTable(problem, space, np.zeros((math.prod(len(c) for _, c in space), 1)), {})
    configs = stub.configs()
    rows = list(range(len(configs)))[:limit]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
        jobs = _jobs(problem, configs, rows)
        curves: list[list[float] | None] = [None] * len(configs)
        for (_, group, _), result in zip(jobs, pool.map(_work, jobs), strict=True):
            for r, curve in zip(group, result, strict=True):
                curves[r] = curve
    seconds = time.perf_counter() - t0
    meta = {
        "problem": problem,
        "description": description,
        "n_epochs": n_epochs,
        "metric": "validation accuracy after each epoch",
        "seed": "row number (weight init and shuffling)",
        "build_seconds": round(seconds, 1),
        "workers": workers,
        "versions": {m: version(m) for m in ("torch", "scikit-learn", "numpy", "mnist1d")},
        "python": platform.python_version(),
        "command": "python -m benchmarks.pruners.build_tables",
    }
    if limit is not None:
        print(f"{problem}: {len(rows)} configs in {seconds:.1f} s "
              f"(~{seconds * len(configs) / len(rows):.0f} s for all {len(configs)})")
        return stub
    return CurveTable(problem, space, np.asarray(curves, dtype=np.float32), meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None,
                        help="time the first N configurations only (writes nothing)")
    args = parser.parse_args()
    for problem in args.problems.split(","):
        table = build(problem, workers=args.workers, limit=args.limit)
        if args.limit is None:
            path = table.save()
            c = table.curves
            print(f"{problem}: {c.shape} in {table.meta['build_seconds']} s -> {path}; final "
                  f"accuracy min {c[:, -1].min():.3f} median {np.median(c[:, -1]):.3f} "
                  f"max {c[:, -1].max():.3f}")
            print(json.dumps(table.meta))


if __name__ == "__main__":
    main()
