"""REINFORCE controller vs random search on mnist1d with a 1-D macro space (issue #6).

The space: Zoph & Le's macro space with 3 conv1d layers, per layer kernel {1, 3, 5, 7} x
{no pooling, max-pool}, 32 filters, no skips (8^3 = 512 architectures). Children are
conv-BN-ReLU networks trained 3 epochs (Adam 3e-3, batches of 64) on 2,000 generated
mnist1d sequences and scored on 1,000 validation sequences.

Two parts:

1. **Table** (many seeds): every one of the 512 architectures is trained once (training
   seed 0) and its validation accuracy stored in ``benchmarks/results/nas_mnist1d_table.jsonl``
   (built once, resumable). Each search (``--seeds`` seeds x {REINFORCE, random}, 64
   children) is a real autolearn study whose objective looks the child up in the table, so
   the controller and random search see exactly the same numbers, and a repeated
   architecture costs a sample (as with the cache of a live search).
2. **Live** (a few seeds): ``autolearn.nas.search`` trains every child for real, with
   training seed 1 (so its numbers are not the table's).

Reported per method: incumbent (best validation accuracy so far) after 16/32/64 children
and the mean of the last 16 samples, mean ± sd over seeds, with one-sided Mann-Whitney U
p-values (controller > random) for the incumbent at 64 and the last-16 mean.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Report

DESCRIPTION = ("NAS on mnist1d, 1-D macro space (512 architectures): REINFORCE controller vs "
               "random search at 64 children, incumbent and last-16 mean over seeds, "
               "Mann-Whitney U; precomputed table + live searches")

TABLE_FILE = Path(__file__).resolve().parent / "results" / "nas_mnist1d_table.jsonl"
CHECKPOINTS = (16, 32, 64)
#: The controller of the calibration in BENCHMARKS.md: LSTM 32 units, 8 samples per
#: update, moving-average baseline, entropy bonus 0.01.
CONTROLLER = {"hidden_size": 32, "batch_size": 8, "entropy_coef": 0.01,
              "baseline_decay": 0.9, "lr": 6e-3}
METHODS = ("reinforce", "random")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=30, help="table searches per method")
    parser.add_argument("--live-seeds", type=int, default=2,
                        help="live searches per method (children trained for real)")
    parser.add_argument("--budget", type=int, default=64, help="children per search")
    parser.add_argument("--table", type=Path, default=None,
                        help=f"JSON-lines table (default {TABLE_FILE})")
    parser.add_argument("--build-only", action="store_true",
                        help="only build the missing table rows, then report nothing")
    parser.add_argument("--controller-lr", type=float, default=CONTROLLER["lr"])
    parser.add_argument("--tune-lrs", default="",
                        help="comma-separated controller learning rates to try first on "
                             "--tune-seeds table searches (seeds disjoint from the reported "
                             "ones); the best mean incumbent is then used")
    parser.add_argument("--tune-seeds", type=int, default=10)


def _setup(quick: bool) -> dict[str, Any]:
    if quick:
        return {"space": {"num_layers": 2, "kernel_sizes": [1, 3], "filters": [4],
                          "reductions": ["none", "maxpool"], "skips": False},
                "data": {"n_train": 200, "n_val": 100, "seed": 0},
                "train": {"epochs": 1, "lr": 3e-3, "batch_size": 64}}
    return {"space": {"num_layers": 3, "kernel_sizes": [1, 3, 5, 7], "filters": [32],
                      "reductions": ["none", "maxpool"], "skips": False},
            "data": {"n_train": 2000, "n_val": 1000, "seed": 0},
            "train": {"epochs": 3, "lr": 3e-3, "batch_size": 64}}


def _key(decisions: dict[str, Any]) -> str:
    return json.dumps(decisions, sort_keys=True)


def build_table(setup: dict[str, Any], path: Path, *, log_every: int = 16) -> dict[str, float]:
    """Train every architecture once (training seed 0); rows are appended to ``path`` as
    they finish, so an interrupted build resumes. Returns ``{decisions JSON: accuracy}``."""
    import torch

    from autolearn.nas import TrainConfig, build_child, load_data, make_space, train_child

    torch.set_num_threads(1)
    space = make_space("macro", **setup["space"])
    data = load_data("mnist1d", **setup["data"])
    train = TrainConfig(seed=0, **setup["train"])
    table: dict[str, float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            if row["setup"] == setup:
                table[_key(row["decisions"])] = row["val_accuracy"]
    grid = list(space.search_space().grid())
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with path.open("a") as fh:
        for i, decisions in enumerate(grid):
            if _key(decisions) in table:
                continue
            model = build_child(space, decisions, data, seed=train.seed)
            result = train_child(model, data, train)
            table[_key(decisions)] = result.val_accuracy
            fh.write(json.dumps({"setup": setup, "decisions": decisions,
                                 "val_accuracy": result.val_accuracy,
                                 "history": result.history, "n_params": result.n_params,
                                 "train_seconds": round(result.train_seconds, 3)}) + "\n")
            fh.flush()
            if log_every and (i + 1) % log_every == 0:
                print(f"table: {i + 1}/{len(grid)} ({time.perf_counter() - start:.0f} s)",
                      flush=True)
    return table


def _sampler(method: str, space: Any, seed: int, lr: float) -> Any:
    from autolearn.nas import make_sampler

    if method == "reinforce":
        return make_sampler("reinforce", space, seed=seed, **{**CONTROLLER, "lr": lr})
    return make_sampler("random", space, seed=seed)


def _table_search(method: str, seed: int, budget: int, setup: dict[str, Any],
                  table: dict[str, float], lr: float) -> list[float]:
    import autolearn
    from autolearn.nas import make_space

    space = make_space("macro", **setup["space"])
    study = autolearn.create_study(direction="maximize",
                                   sampler=_sampler(method, space, seed, lr))
    study.optimize(lambda trial: table[_key(space.suggest(trial))], n_trials=budget)
    return [t.value for t in study.trials]


def _live_search(method: str, seed: int, budget: int, setup: dict[str, Any],
                 lr: float) -> tuple[list[float], float, list[dict[str, Any]]]:
    import torch

    from autolearn.nas import TrainConfig, make_space, search

    torch.set_num_threads(1)
    space = make_space("macro", **setup["space"])
    data = dict(setup["data"])
    start = time.perf_counter()
    study = search(space, "mnist1d", budget=budget, sampler=_sampler(method, space, seed, lr),
                   train=TrainConfig(seed=1, **setup["train"]), data_kwargs=data)
    values = [t.value if t.value is not None else float("nan") for t in study.trials]
    decisions = [dict(t.params) for t in study.trials]  # the trial asks nothing else
    return values, time.perf_counter() - start, decisions


def _reevaluated(values: list[float], decisions: list[dict[str, Any]],
                 table: dict[str, float]) -> float:
    """The table's accuracy (an independent training, seed 0) of the architecture a live
    search (training seed 1) returns as its incumbent: the selection's own value is the
    maximum of noisy trainings and so biased upwards (the winner's curse), this is not."""
    best = max(range(len(values)), key=lambda i: values[i] if values[i] == values[i] else -1.0)
    return table[_key(decisions[best])]


def _metrics(values: list[float]) -> dict[str, float]:
    # NaN (a failed child) never becomes the incumbent; it counts as 0 in the last-16 mean.
    out = {f"best@{n}": max((v for v in values[:n] if v == v), default=0.0)
           for n in sorted({*CHECKPOINTS, len(values)}) if n <= len(values)}
    out["last16"] = statistics.fmean(v if v == v else 0.0 for v in values[-16:])
    return out


def _mean_sd(xs: list[float]) -> str:
    if len(xs) < 2:
        return f"{100 * xs[0]:.2f}" if xs else "n/a"
    return f"{100 * statistics.fmean(xs):.2f} ± {100 * statistics.stdev(xs):.2f}"


def _pvalue(a: list[float], b: list[float]) -> float:
    from scipy.stats import mannwhitneyu

    if len(a) < 2 or len(b) < 2:
        return float("nan")
    return float(mannwhitneyu(a, b, alternative="greater").pvalue)


def run(args: argparse.Namespace) -> Report:
    quick = bool(args.quick)
    setup = _setup(quick)
    path = args.table or (args.results_dir / "nas_mnist1d_quick_table.jsonl" if quick
                          else TABLE_FILE)
    seeds = 2 if quick else args.seeds
    live_seeds = 1 if quick else args.live_seeds
    budget = 8 if quick else args.budget
    start = time.perf_counter()
    table = build_table(setup, path)
    build_s = time.perf_counter() - start
    values = sorted(table.values())
    raw: dict[str, Any] = {"setup": setup, "controller": {**CONTROLLER, "lr": args.controller_lr},
                           "budget": budget, "seeds": seeds, "live_seeds": live_seeds,
                           "table": {"path": str(path), "size": len(values),
                                     "max": values[-1], "median": statistics.median(values),
                                     "min": values[0], "build_seconds": build_s},
                           "table_runs": {}, "live_runs": {}}
    if args.build_only:
        return Report("NAS on mnist1d: table built", ["architectures", "max", "median", "min"],
                      [[len(values), values[-1], statistics.median(values), values[0]]],
                      raw=raw)
    lr = args.controller_lr
    if args.tune_lrs:
        tuning = {}
        for cand in (float(x) for x in args.tune_lrs.split(",")):
            ms = [_metrics(_table_search("reinforce", 500 + s, budget, setup, table, cand))
                  for s in range(args.tune_seeds)]
            tuning[cand] = {k: statistics.fmean(m[k] for m in ms) for k in ms[0]}
        lr = max(tuning, key=lambda c: (tuning[c][f"best@{budget}"], tuning[c]["last16"]))
        raw["tuning"] = {"seeds": args.tune_seeds, "by_lr": tuning, "chosen_lr": lr}
        raw["controller"]["lr"] = lr
    args.controller_lr = lr
    metrics: dict[str, dict[str, list[dict[str, float]]]] = {"table": {}, "live": {}}
    for method in METHODS:
        runs = [_table_search(method, 1000 + s, budget, setup, table, args.controller_lr)
                for s in range(seeds)]
        raw["table_runs"][method] = runs
        metrics["table"][method] = [_metrics(v) for v in runs]
    for method in METHODS:
        live = [_live_search(method, 2000 + s, budget, setup, args.controller_lr)
                for s in range(live_seeds)]
        raw["live_runs"][method] = [{"values": v, "seconds": s, "decisions": d}
                                    for v, s, d in live]
        metrics["live"][method] = [
            {**_metrics(v), "reevaluated": _reevaluated(v, d, table)}
            for v, _, d in live]
    header = ["part", "method", "runs",
              *[f"best@{n}" for n in sorted({*CHECKPOINTS, budget}) if n <= budget],
              "mean of last 16", "incumbent re-evaluated (independent training)"]
    rows = []
    for part in ("table", "live"):
        for method in METHODS:
            ms = metrics[part][method]
            if not ms:
                continue
            rows.append([part, method, len(ms),
                         *[_mean_sd([m[k] for m in ms]) for k in header[3:-2]],
                         _mean_sd([m["last16"] for m in ms]),
                         _mean_sd([m["reevaluated"] for m in ms]) if part == "live"
                         else "= best@" + str(budget)])
    tests = {}
    for part in ("table", "live"):
        c, r = metrics[part]["reinforce"], metrics[part]["random"]
        if not c or not r:
            continue
        key = f"best@{budget}"
        tests[part] = {"incumbent_p": _pvalue([m[key] for m in c], [m[key] for m in r]),
                       "last16_p": _pvalue([m["last16"] for m in c], [m["last16"] for m in r]),
                       "incumbent_diff": 100 * (statistics.fmean(m[key] for m in c)
                                                - statistics.fmean(m[key] for m in r)),
                       "last16_diff": 100 * (statistics.fmean(m["last16"] for m in c)
                                             - statistics.fmean(m["last16"] for m in r))}
        if part == "live":
            a, b = [m["reevaluated"] for m in c], [m["reevaluated"] for m in r]
            tests[part]["reevaluated_p"] = _pvalue(a, b)
            tests[part]["reevaluated_diff"] = 100 * (statistics.fmean(a) - statistics.fmean(b))
    raw["tests"] = tests
    notes = [
        f"Space: macro, {setup['space']['num_layers']} conv1d layers x kernel "
        f"{setup['space']['kernel_sizes']} x {{none, maxpool}}, {setup['space']['filters'][0]} "
        f"filters, no skips ({len(values)} architectures). Children: "
        f"{setup['train']['epochs']} epochs Adam {setup['train']['lr']}, batch "
        f"{setup['train']['batch_size']}, mnist1d {setup['data']['n_train']} train / "
        f"{setup['data']['n_val']} validation (generated locally, seed 0).",
        f"Table: every architecture trained once (seed 0); validation accuracy max "
        f"{100 * values[-1]:.2f} %, median {100 * statistics.median(values):.2f} %, min "
        f"{100 * values[0]:.2f} %. Table searches look children up (a repeated architecture "
        "still costs one of the budget's samples); live searches train every child "
        "(training seed 1, the search's cache reuses repeats).",
        f"Controller: REINFORCE, LSTM {CONTROLLER['hidden_size']} units, "
        f"{CONTROLLER['batch_size']} samples per update, moving-average baseline (decay "
        f"{CONTROLLER['baseline_decay']}), entropy {CONTROLLER['entropy_coef']}, Adam lr "
        f"{args.controller_lr}. Values are accuracy in % (mean ± sd over runs).",
    ]
    for method in METHODS:
        regret = [100 * (values[-1] - m[f"best@{budget}"]) for m in metrics["table"][method]]
        if regret:
            notes.append(f"table, {method}: the incumbent at {budget} is "
                         f"{statistics.fmean(regret):.2f} points below the best of the "
                         f"{len(values)} architectures on average (found the best in "
                         f"{sum(r < 1e-9 for r in regret)} of {len(regret)} runs).")
    for part in tests:
        t = tests[part]
        notes.append(
            f"{part}: controller - random = {t['incumbent_diff']:+.2f} points on the incumbent "
            f"at {budget} (one-sided Mann-Whitney U p = {t['incumbent_p']:.3g}), "
            f"{t['last16_diff']:+.2f} points on the mean of the last 16 samples "
            f"(p = {t['last16_p']:.3g})"
            + (f"; on the incumbent re-evaluated by an independent training (the table's "
               f"seed-0 value of the architecture the live search returned) "
               f"{t['reevaluated_diff']:+.2f} points (p = {t['reevaluated_p']:.3g})."
               if "reevaluated_p" in t else "."))
    if "tuning" in raw:
        tuned = "; ".join(f"lr {c:g}: incumbent {100 * v[f'best@{budget}']:.2f}, last-16 "
                          f"{100 * v['last16']:.2f}" for c, v in raw["tuning"]["by_lr"].items())
        notes.append(f"Controller lr chosen on {raw['tuning']['seeds']} separate table seeds "
                     f"(500+): {tuned}; chose {raw['tuning']['chosen_lr']:g}. Random search "
                     "has nothing to tune.")
    notes.append("Timings are noisy: two cores shared with other jobs during the run.")
    return Report(f"NAS on mnist1d: REINFORCE controller vs random search, {budget} children",
                  header, rows, notes=notes, raw=raw)
