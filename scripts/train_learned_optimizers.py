"""Build the LSTM-optimizer weights shipped in ``autolearn/learned_optim/weights/``.

    python scripts/train_learned_optimizers.py                    # both families, seed 0
    python scripts/train_learned_optimizers.py --family mlp --seed 1 \
        --out-dir benchmarks/learned_optimizer/weights --checkpoint-dir /tmp/l2o

Each family is meta-trained single-threaded with the settings in :data:`FAMILIES` (the
benchmark ``learned_optimizer`` trains its other seeds with the same settings). A
checkpoint per (family, seed) makes an interrupted run resume where it stopped. The
weights file records the problem, the settings, the seed, CPU and wall seconds.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "autolearn" / "learned_optim" / "weights"

#: family -> (problem name, problem options, meta-training options).
FAMILIES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "quadratic": ("quadratic", {"dim": 10, "n_functions": 128},
                  {"n_tasks": 300, "horizon": 100, "unroll": 20, "learning_rate": 3e-3,
                   "loss_transform": "log", "eval_every": 20, "n_eval_tasks": 4,
                   "max_cpu_seconds": 540.0}),
    "mlp": ("mlp", {"dataset": "digits", "hidden": (20,), "activation": "sigmoid",
                    "batch_size": 128},
            {"n_tasks": 600, "horizon": 100, "unroll": 20, "learning_rate": 1e-2,
             "loss_transform": "log", "clip_grad_norm": 1.0, "cosine_decay": True,
             "eval_every": 10, "n_eval_tasks": 4, "max_cpu_seconds": 540.0}),
}


def train_family(family: str, *, seed: int, out: Path, checkpoint: Path | None,
                 progress: bool = False, **overrides: Any) -> dict[str, Any]:
    """Meta-train one family and write its weights; returns the metadata stored with them."""
    import torch

    from autolearn.learned_optim import MetaTrainConfig, make_problem, meta_train, save_weights

    torch.set_num_threads(1)
    problem_name, problem_kwargs, train_kwargs = FAMILIES[family]
    config = replace(MetaTrainConfig(**train_kwargs), **overrides)
    problem = make_problem(problem_name, **problem_kwargs)
    result = meta_train(problem, config=config, seed=seed, checkpoint=checkpoint,
                        progress=progress)
    metadata = {
        "family": family, "problem": problem_name,
        "problem_options": {k: list(v) if isinstance(v, tuple) else v
                            for k, v in problem_kwargs.items()},
        "meta_train_config": asdict(config), "seed": seed,
        "tasks_done": result.tasks_done, "best_validation_loss": result.best_validation_loss,
        "cpu_seconds": round(result.cpu_seconds, 1),
        "wall_seconds": round(result.wall_seconds, 1),
        "history": result.history,
    }
    save_weights(result.net, out, metadata=metadata)
    return metadata


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=[*FAMILIES, "all"], default="all")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=SHIPPED_DIR,
                        help="where FAMILY.pt (seed 0) or FAMILY_seedN.pt goes")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="resumable checkpoints FAMILY_seedN.ckpt here")
    parser.add_argument("--n-tasks", type=int, default=None)
    parser.add_argument("--max-cpu-seconds", type=float, default=None)
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    overrides: dict[str, Any] = {}
    if args.n_tasks is not None:
        overrides["n_tasks"] = args.n_tasks
    if args.max_cpu_seconds is not None:
        overrides["max_cpu_seconds"] = args.max_cpu_seconds
    families = list(FAMILIES) if args.family == "all" else [args.family]
    for family in families:
        name = f"{family}.pt" if args.seed == 0 else f"{family}_seed{args.seed}.pt"
        ckpt = None
        if args.checkpoint_dir is not None:
            args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            ckpt = args.checkpoint_dir / f"{family}_seed{args.seed}.ckpt"
        meta = train_family(family, seed=args.seed, out=args.out_dir / name, checkpoint=ckpt,
                            progress=args.progress, **overrides)
        print(f"{family} seed {args.seed}: {meta['tasks_done']} tasks, validation final loss "
              f"{meta['best_validation_loss']:.4g}, {meta['cpu_seconds']:.0f} CPU s, "
              f"{meta['wall_seconds']:.0f} wall s -> {args.out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
