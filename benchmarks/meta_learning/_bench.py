"""MAML / first-order MAML / Reptile vs pretrain-then-fine-tune and from-scratch training.

Jobs are (experiment, method, seed). Every method is scored by the same fine-tuning loop
(:func:`autolearn.meta.evaluate_init`) on the same test tasks of a seed; the baselines'
fine-tuning optimizer and step size are tuned on separate validation tasks. With
``--cache FILE`` each finished job is appended to a JSON-lines file and skipped on the next
run, so the benchmark can be split over several invocations (``--experiments``) and
resumed; ``--report-only`` writes the report from the cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Report

DESCRIPTION = ("few-shot learning: MAML / FOMAML / Reptile vs pretrained and from-scratch "
               "baselines (sinusoid K=10, mnist1d-minted 5-way 1/5-shot)")

#: Fine-tuning grids the baselines are tuned over (optimizer, step size).
GRID = [("sgd", lr) for lr in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)] + \
    [("adam", lr) for lr in (0.001, 0.003, 0.01, 0.03)]

#: A shorter grid for the (slower) mnist1d networks.
GRID_CLASSIFY = [("sgd", lr) for lr in (0.03, 0.1, 0.3, 1.0)] + \
    [("adam", lr) for lr in (0.001, 0.003, 0.01)]

EXPERIMENTS: dict[str, dict[str, Any]] = {
    "sinusoid": {
        "methods": ["maml", "fomaml", "reptile", "pretrained", "scratch"],
        "meta_steps": 10_000, "eval_steps": 10, "eval_tasks": 600, "val_tasks": 200,
        "configs": {
            "maml": {"algorithm": "maml", "inner_steps": 1, "inner_lr": 0.01,
                     "meta_batch_size": 25, "outer_lr": 1e-3},
            "fomaml": {"algorithm": "fomaml", "inner_steps": 1, "inner_lr": 0.01,
                       "meta_batch_size": 25, "outer_lr": 1e-3},
            "reptile": {"algorithm": "reptile", "inner_steps": 5, "inner_lr": 0.02,
                        "meta_batch_size": 10, "outer_optimizer": "sgd", "outer_lr": 1.0,
                        "anneal_outer_lr": True},
        },
    },
    "mnist1d_5w1s": {
        "ways": 5, "shots": 1,
        "methods": ["maml", "pretrained", "scratch"],
        "meta_steps": 1_000, "pretrain_steps": 2_000, "eval_steps": 10, "eval_tasks": 400,
        "val_tasks": 50, "grid": GRID_CLASSIFY,
        "configs": {"maml": {"algorithm": "maml", "inner_steps": 2, "inner_lr": 0.1,
                             "meta_batch_size": 8, "outer_lr": 1e-3},
                    "fomaml": {"algorithm": "fomaml", "inner_steps": 2, "inner_lr": 0.1,
                               "meta_batch_size": 8, "outer_lr": 1e-3}},
    },
    "mnist1d_5w5s": {
        "ways": 5, "shots": 5,
        "methods": ["maml", "pretrained", "scratch"],
        "meta_steps": 1_000, "pretrain_steps": 2_000, "eval_steps": 10, "eval_tasks": 200,
        "val_tasks": 50, "grid": GRID_CLASSIFY,
        "configs": {"maml": {"algorithm": "maml", "inner_steps": 2, "inner_lr": 0.1,
                             "meta_batch_size": 8, "outer_lr": 1e-3},
                    "fomaml": {"algorithm": "fomaml", "inner_steps": 2, "inner_lr": 0.1,
                               "meta_batch_size": 8, "outer_lr": 1e-3}},
    },
}

QUICK = {"meta_steps": 20, "pretrain_steps": 20, "eval_tasks": 10, "val_tasks": 5}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experiments", default=",".join(EXPERIMENTS),
                        help=f"comma-separated subset of {', '.join(EXPERIMENTS)}")
    parser.add_argument("--methods", default=None,
                        help="comma-separated subset of methods (default: each experiment's)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per job (default 3)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="JSON-lines file of finished jobs (appended; reused)")
    parser.add_argument("--report-only", action="store_true",
                        help="write the report from --cache without running anything")


def _tasks(name: str, exp: dict[str, Any], split: str, quick: bool) -> Any:
    from autolearn.meta import SinusoidTasks, mnist1d_tasks

    if name == "sinusoid":
        return SinusoidTasks(10, n_query=10 if split == "train" else 100)
    extra = {"n_classes": 20, "n_per_class": 25} if quick else {}
    return mnist1d_tasks(split, ways=exp["ways"], shots=exp["shots"],
                         n_query=5 if split == "train" else 15, **extra)


def _spec(name: str, n_out: int) -> dict[str, Any]:
    from autolearn.meta import default_model_spec

    return default_model_spec("sinusoid" if name == "sinusoid" else "mnist1d", n_out)


def _tune(evaluate: Any, val: Any, exp: dict[str, Any], grid: list[tuple[str, float]],
          classify: bool) -> tuple[str, float, float]:
    """Pick (optimizer, lr) with the best validation score after ``eval_steps``."""
    best: tuple[float, str, float] | None = None
    for opt, lr in grid:
        res = evaluate(val, exp["val_tasks"], opt, lr, 999)
        score = -res["accuracy"][-1] if classify else res["loss"][-1]
        if score != score:  # diverged
            continue
        if best is None or score < best[0]:
            best = (score, opt, lr)
    assert best is not None
    return best[1], best[2], best[0]


def run_job(name: str, method: str, seed: int, quick: bool) -> dict[str, Any]:
    """Train (if needed) and score one method on one seed; returns a JSON-able record."""
    import numpy as np
    import torch

    from autolearn.meta import (
        MetaConfig,
        MetaLearner,
        build_model,
        evaluate_init,
        pretrain,
        scratch_init_fn,
        transfer_init,
    )
    from autolearn.meta._maml import LOSSES

    torch.set_num_threads(1)
    exp = {**EXPERIMENTS[name], **(QUICK if quick else {})}
    classify = name != "sinusoid"
    train, val, test = (_tasks(name, exp, s, quick) for s in ("train", "val", "test"))
    if name == "sinusoid":
        val = test  # a fresh stream of sinusoid tasks; seeds below keep the draws apart
    n_out = test.n_outputs
    net = build_model(_spec(name, n_out), seed=seed)
    loss_fn = LOSSES[test.loss]
    steps = exp["eval_steps"]
    record: dict[str, Any] = {"experiment": name, "method": method, "seed": seed,
                              "quick": quick}

    def evaluate(tasks: Any, n: int, opt: str, lr: float, offset: int, params: Any = None,
                 init_fn: Any = None) -> dict[str, Any]:
        res = evaluate_init(net, params if params is not None else dict(net.named_parameters()),
                            dict(net.named_buffers()), tasks, n_tasks=n, steps=steps, lrs=lr,
                            loss_fn=loss_fn, rng=np.random.default_rng(10_000 * offset + seed),
                            optimizer=opt, init_fn=init_fn)
        res.pop("per_task_loss")
        res.pop("per_task_accuracy", None)
        return res

    start = time.perf_counter()
    if method in ("maml", "fomaml", "reptile", "metasgd"):
        cfg = MetaConfig(eval_inner_steps=steps, **exp["configs"][method])
        learner = MetaLearner(net, cfg, seed=seed)
        learner.fit(train, exp["meta_steps"])
        record["train_seconds"] = time.perf_counter() - start
        record["config"] = exp["configs"][method]
        t0 = time.perf_counter()
        res = learner.evaluate(test, n_tasks=exp["eval_tasks"], seed=10_000 * 1 + seed)
        res.pop("per_task_loss")
        res.pop("per_task_accuracy", None)
        record.update(finetune=("sgd", cfg.inner_lr), result=res,
                      eval_seconds=time.perf_counter() - t0,
                      final_train_row=learner.history[-1])
        return record
    if method == "pretrained":
        if classify:
            base = build_model(_spec(name, len(train.classes)), seed=seed)
            pre = pretrain(base, train, n_steps=exp["pretrain_steps"], seed=seed)
            params = transfer_init(pre, net)
            record["pretrain_steps"] = exp["pretrain_steps"]
        else:
            params = pretrain(net, train, n_steps=exp["meta_steps"], batch_tasks=25, seed=seed)
            record["pretrain_steps"] = exp["meta_steps"]
        record["train_seconds"] = time.perf_counter() - start
        init_fn = None
    elif method == "scratch":
        params, init_fn = None, scratch_init_fn(net, seed=seed)
        record["train_seconds"] = 0.0
    else:
        raise ValueError(f"unknown method {method!r}")
    t0 = time.perf_counter()
    grid = GRID[2:5] if quick else exp.get("grid", GRID)
    opt, lr, val_score = _tune(
        lambda tasks, n, o, r, off: evaluate(tasks, n, o, r, off, params, init_fn),
        val, exp, grid, classify)
    res = evaluate(test, exp["eval_tasks"], opt, lr, 1, params, init_fn)
    record.update(finetune=(opt, lr), val_score=val_score, result=res,
                  eval_seconds=time.perf_counter() - t0)
    return record


def _claim(cache: Path, name: str, method: str, seed: int) -> bool:
    """Create ``CACHE.NAME.METHOD.SEED.lock`` exclusively; False if it already exists."""
    lock = cache.with_name(f"{cache.name}.{name}.{method}.{seed}.lock")
    try:
        lock.open("x").close()
    except FileExistsError:
        return False
    return True


def _load_cache(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _fmt(xs: list[float], pct: bool) -> str:
    scale = 100.0 if pct else 1.0
    mean = statistics.fmean(xs) * scale
    sd = statistics.stdev(xs) * scale if len(xs) > 1 else 0.0
    return f"{mean:.1f} ± {sd:.1f} %" if pct else f"{mean:.3f} ± {sd:.3f}"


def run(args: argparse.Namespace) -> Report:
    experiments = [e.strip() for e in args.experiments.split(",") if e.strip()]
    unknown = [e for e in experiments if e not in EXPERIMENTS]
    if unknown:
        raise SystemExit(f"unknown experiment(s) {unknown}; known: {list(EXPERIMENTS)}")
    seeds = [0] if args.quick else list(range(args.seeds))
    records = _load_cache(args.cache)
    done = {(r["experiment"], r["method"], r["seed"], r["quick"]) for r in records}
    for name in experiments:
        methods = EXPERIMENTS[name]["methods"] if args.methods is None else [
            m for m in args.methods.split(",") if m in
            EXPERIMENTS[name]["methods"] + list(EXPERIMENTS[name]["configs"])]
        for method in methods:
            for seed in seeds:
                if args.report_only or (name, method, seed, args.quick) in done:
                    continue
                if args.cache is not None and not _claim(args.cache, name, method, seed):
                    continue  # another invocation sharing the cache is running this job
                rec = run_job(name, method, seed, args.quick)
                print(f"[meta_learning] {name} {method} seed {seed}: "
                      f"train {rec['train_seconds']:.0f} s, "
                      f"loss {[round(v, 3) for v in rec['result']['loss'][:2]]} .. "
                      f"{rec['result']['loss'][-1]:.3f}", flush=True)
                records.append(rec)
                if args.cache is not None:
                    with args.cache.open("a") as fh:
                        fh.write(json.dumps(rec) + "\n")
    report = _report(records, experiments, seeds, args.quick)
    if args.report_only:
        report.notes.append("Report assembled from the --cache file (--report-only): the "
                            "jobs ran in earlier invocations with the same settings, split "
                            "by --experiments/--methods and sharing the cache.")
    return report


def _report(records: list[dict[str, Any]], experiments: list[str], seeds: list[int],
            quick: bool) -> Report:
    rows: list[list[Any]] = []
    notes: list[str] = []
    summary: dict[str, dict[str, Any]] = {}
    for name in experiments:
        classify = name != "sinusoid"
        by_method: dict[str, list[dict[str, Any]]] = {}
        for r in records:
            if r["experiment"] == name and r["quick"] == quick and r["seed"] in seeds:
                by_method.setdefault(r["method"], []).append(r)
        for method, recs in by_method.items():
            key = "accuracy" if classify else "loss"
            one = [r["result"][key][1] for r in recs]
            ten = [r["result"][key][-1] for r in recs]
            opts = sorted({f"{r['finetune'][0]} {r['finetune'][1]:g}" for r in recs})
            summary.setdefault(name, {})[method] = {
                "after_1": statistics.fmean(one), "after_10": statistics.fmean(ten),
                "after_1_per_seed": one, "after_10_per_seed": ten}
            rows.append([name, method, len(recs),
                         "query accuracy" if classify else "query MSE",
                         _fmt(one, classify), _fmt(ten, classify),
                         f"{statistics.fmean(r['train_seconds'] for r in recs):.0f}",
                         ", ".join(opts)])
    sin = summary.get("sinusoid", {})
    if "maml" in sin:
        m1, m10 = sin["maml"]["after_1"], sin["maml"]["after_10"]
        notes.append(f"Goal MAML sinusoid K=10 after 1 step <= 0.55: {m1:.3f} "
                     f"({'met' if m1 <= 0.55 else 'MISSED'}); after 10 steps <= 0.20: "
                     f"{m10:.3f} ({'met' if m10 <= 0.20 else 'MISSED'})")
        if "pretrained" in sin:
            p10 = sin["pretrained"]["after_10"]
            ratio = p10 / m10
            notes.append(f"Pretrained / MAML query MSE after 10 steps: {ratio:.1f}x "
                         f"(goal >= 3x: {'met' if ratio >= 3 else 'MISSED'}); after 1 step "
                         f"{sin['pretrained']['after_1'] / m1:.1f}x")
    notes += [
        "Each row: mean ± sd over seeds of the per-seed mean over test tasks; after 1 / "
        "10 fine-tuning steps on the support set. train s = seconds of meta-training "
        "(or pretraining) per seed, single torch thread, on a shared 2-core machine "
        "(noisy: other jobs ran beside it).",
        "Meta-learners fine-tune with plain SGD at their (trained or learned) inner step "
        "size; baselines with the optimizer and step size picked on validation tasks "
        "from a grid (sinusoid: SGD 0.001-0.3, Adam 0.001-0.03; mnist1d: SGD 0.03-1, "
        "Adam 0.001-0.01; 50 validation tasks).",
        "Sinusoid: paper protocol (A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]), "
        "1-40-40-1 ReLU MLP, 10k meta-steps of 25 tasks (Adam 1e-3, inner SGD 0.01, 1 "
        "step); Reptile 10 tasks per step, 5 inner steps at 0.02 on support + query, "
        "outer SGD 1.0 annealed to 0; pretrained = 10k Adam steps on the pooled points "
        "of 25 tasks per step; test query sets of 100 points, 600 test tasks per seed.",
        "mnist1d: classes minted from random templates with mnist1d's transform; 512 "
        "training classes, 128 validation and 128 test classes (disjoint templates), 40 "
        "examples each; Conv1d 3x(32 ch, k5, maxpool) + linear head; MAML 1,000 "
        "meta-steps of 8 tasks, 2 inner steps at 0.1, 5 query examples per class in "
        "training; pretrained = 2,000 Adam steps (batch 128) on all 512 training classes, "
        "then a zero 5-way head; scratch = a fresh init per task; 400 (1-shot) / 200 "
        "(5-shot) test tasks with 15 query examples per class.",
    ]
    return Report(title="Meta-learning: MAML / FOMAML / Reptile vs baselines",
                  header=["experiment", "method", "seeds", "metric", "after 1 step",
                          "after 10 steps", "train s", "fine-tune (tuned)"],
                  rows=rows, notes=notes, raw={"summary": summary, "records": records})
