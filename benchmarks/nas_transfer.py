"""NASNet transfer on mnist1d: cells searched on a small proxy, retrained stacked and wider.

Protocol (Zoph et al. 2018, scaled to one CPU core):

1. **Proxy search.** NASNet cell space (B = 5 blocks, an 8-operation subset of the paper's
   13 by default), network N = 1 @ F = 8, children trained a few epochs on a small
   generated mnist1d set; a PPO controller (:class:`~autolearn.samplers.ControllerSampler`,
   ``algorithm="ppo"``, as in NASNet) proposes ``--samples`` cells.
2. **Candidates.** The controller's best cell on the proxy, plus ``--random-cells`` cells
   drawn uniformly from the space (independently of the search), each also scored on the
   proxy with the same protocol.
3. **Large runs.** Every candidate is rebuilt as N = ``--cells`` @ F = ``--filters`` and
   trained on a larger mnist1d set generated from another seed, with several training
   seeds; a hand-designed plain conv net (same stage layout: F, 2F, 4F filters with two
   stride-2 reductions, 3x3 conv-BN-ReLU layers, global pooling; width chosen so its
   parameter count is the closest to the best searched network's) is trained identically.
4. **Report.** Large-run validation accuracy (mean over training seeds) of the best searched
   cell vs the median random cell vs the hand-designed net, and the Spearman rank
   correlation between proxy and large accuracy over the candidates (with its p-value).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import TYPE_CHECKING, Any

from benchmarks._common import Report

if TYPE_CHECKING:
    from autolearn import FrozenTrial

DESCRIPTION = ("NASNet transfer on mnist1d: PPO-searched proxy cell vs random cells vs a "
               "hand-designed conv net, retrained larger; proxy-vs-large rank correlation")

#: Default operation subset (8 of the paper's 13; the factorized 1x7/7x1 conv, the 5x5/7x7
#: max pools and the 7x7 separable conv are left out to keep proxy children cheap).
DEFAULT_OPS = ("identity", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "conv_1x1",
               "conv_3x3", "avg_pool_3x3", "max_pool_3x3")
MATCH_TOLERANCE = 0.01  # "matches the hand-designed net": within 1 accuracy point


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", type=int, default=48, help="controller samples (48)")
    parser.add_argument("--controller", default="ppo", choices=("ppo", "reinforce", "random"),
                        help="searcher of the proxy (ppo, as in NASNet)")
    parser.add_argument("--controller-batch", type=int, default=8,
                        help="architectures per controller update (8)")
    parser.add_argument("--random-cells", type=int, default=8, help="random candidate cells (8)")
    parser.add_argument("--blocks", type=int, default=5, help="blocks per cell B (5)")
    parser.add_argument("--ops", default=",".join(DEFAULT_OPS),
                        help="comma-separated operation subset (default: 8 of the 13)")
    parser.add_argument("--proxy-train", type=int, default=1000, help="proxy training set (1000)")
    parser.add_argument("--proxy-epochs", type=int, default=3, help="proxy epochs (3)")
    parser.add_argument("--proxy-filters", type=int, default=8, help="proxy F (8), N = 1")
    parser.add_argument("--large-train", type=int, default=5000,
                        help="large training set, generated (5000)")
    parser.add_argument("--large-epochs", type=int, default=5, help="large-run epochs (5)")
    parser.add_argument("--cells", type=int, default=2, help="large N (2)")
    parser.add_argument("--filters", type=int, default=16, help="large F (16)")
    parser.add_argument("--seeds", type=int, default=2, help="training seeds per large run (2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search and draws (0)")


def hand_designed(width: int, input_shape: tuple[int, ...], num_classes: int) -> Any:
    """Plain conv net with NASNet's stage layout: width w, 2w, 4w; two stride-2 reductions.

    conv5(w) | conv3(w) | conv3 s2(2w) | conv3(2w) | conv3 s2(4w) | conv3(4w), each
    conv-BN-ReLU ("same" padding), then global average pooling and a linear classifier.
    """
    from torch import nn

    dim = len(input_shape) - 1
    conv = nn.Conv1d if dim == 1 else nn.Conv2d
    bn = nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d
    plan = [(input_shape[0], width, 5, 1), (width, width, 3, 1), (width, 2 * width, 3, 2),
            (2 * width, 2 * width, 3, 1), (2 * width, 4 * width, 3, 2),
            (4 * width, 4 * width, 3, 1)]
    layers: list[nn.Module] = []
    for c_in, c_out, k, s in plan:
        layers += [conv(c_in, c_out, k, stride=s, padding=k // 2, bias=False), bn(c_out),
                   nn.ReLU()]
    pool = nn.AdaptiveAvgPool1d(1) if dim == 1 else nn.AdaptiveAvgPool2d(1)
    layers += [pool, nn.Flatten(), nn.Linear(4 * width, num_classes)]
    return nn.Sequential(*layers)


def _matched_width(target: int, input_shape: tuple[int, ...], num_classes: int) -> int:
    from autolearn.nas import count_parameters

    return min(range(2, 257), key=lambda w: abs(
        count_parameters(hand_designed(w, input_shape, num_classes)) - target))


def _sampler(args: argparse.Namespace, space: Any, batch: int) -> Any:
    from autolearn.samplers import ControllerSampler, RandomSampler

    if args.controller == "random":
        return RandomSampler(seed=args.seed)
    return ControllerSampler(algorithm=args.controller, batch_size=batch, seed=args.seed,
                             action_mask=space.action_mask)


def _value(trial: FrozenTrial) -> float:
    """The objective value of a trial known to have one."""
    assert trial.value is not None
    return trial.value


def _proxy_score(space: Any, decisions: dict[str, Any], data: Any, train: Any,
                 size: dict[str, int]) -> float:
    from autolearn.nas import build_child, train_child

    model = build_child(space, decisions, data, seed=train.seed, size=size)
    return train_child(model, data, train).val_accuracy


def run(args: argparse.Namespace) -> Report:
    import numpy as np
    import torch
    from scipy.stats import spearmanr

    import autolearn
    from autolearn.nas import (
        ChildObjective,
        TrainConfig,
        build_child,
        count_parameters,
        load_data,
        make_space,
        train_child,
    )

    torch.set_num_threads(1)
    if args.quick:
        args.samples, args.controller_batch, args.random_cells, args.blocks = 4, 2, 2, 2
        args.proxy_train, args.proxy_epochs, args.proxy_filters = 200, 1, 4
        args.large_train, args.large_epochs, args.cells, args.filters = 300, 1, 1, 4
        args.seeds = 1
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    space = make_space("nasnet", num_blocks=args.blocks, ops=ops)
    proxy_data = load_data("mnist1d", seed=args.seed, n_train=args.proxy_train,
                           n_val=max(100, args.proxy_train // 2))
    large_data = load_data("mnist1d", seed=args.seed + 1000, n_train=args.large_train,
                           n_val=max(200, args.large_train // 2 if args.quick else 2000))
    proxy_train = TrainConfig(epochs=args.proxy_epochs, lr=3e-3, lr_schedule="cosine", seed=0)
    proxy_size = {"cells": 1, "filters": args.proxy_filters}
    large_size = {"cells": args.cells, "filters": args.filters}

    # 1. proxy search
    t0 = time.perf_counter()
    study = autolearn.create_study(direction="maximize",
                                   sampler=_sampler(args, space, args.controller_batch))
    study.optimize(ChildObjective(space, proxy_data, proxy_train, size=proxy_size),
                   n_trials=args.samples)
    search_seconds = time.perf_counter() - t0
    complete = [t for t in study.trials if t.value is not None and np.isfinite(t.value)]
    values = [_value(t) for t in complete]
    k = max(1, len(values) // 4)
    best_trial = max(complete, key=_value)
    best = {n: best_trial.params[n] for n in space.search_space() if n in best_trial.params}
    print(f"search: {len(complete)} children in {search_seconds:.0f} s, best proxy "
          f"{best_trial.value:.3f}, first/last quarter mean {np.mean(values[:k]):.3f} / "
          f"{np.mean(values[-k:]):.3f}", flush=True)

    # 2. candidates: the searched cell + random cells (independent draws), proxy-scored
    rng = np.random.default_rng(args.seed + 1)
    candidates: list[dict[str, Any]] = [{"name": "searched", "decisions": best,
                                         "proxy": float(_value(best_trial))}]
    for i in range(args.random_cells):
        d = space.search_space().sample(seed=rng)
        candidates.append({"name": f"random-{i}", "decisions": d,
                           "proxy": _proxy_score(space, d, proxy_data, proxy_train,
                                                 proxy_size)})
        print(f"random-{i}: proxy {candidates[-1]['proxy']:.3f}", flush=True)

    # 3. large runs (seed-major order, so a cut-short run has whole seeds)
    for c in candidates:
        c["n_params"] = count_parameters(build_child(space, c["decisions"], large_data,
                                                     size=large_size))
        c["large"] = []
    hand_width = _matched_width(candidates[0]["n_params"], large_data.input_shape,
                                large_data.num_classes)
    hand = {"name": "hand-designed", "width": hand_width, "large": [],
            "n_params": count_parameters(hand_designed(hand_width, large_data.input_shape,
                                                       large_data.num_classes))}
    large_seconds = 0.0
    for seed in range(args.seeds):
        train = TrainConfig(epochs=args.large_epochs, lr=3e-3, lr_schedule="cosine", seed=seed)
        for c in [*candidates, hand]:
            if c is hand:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    model = hand_designed(hand_width, large_data.input_shape,
                                          large_data.num_classes)
            else:
                model = build_child(space, c["decisions"], large_data, seed=seed,
                                    size=large_size)
            result = train_child(model, large_data, train)
            large_seconds += result.train_seconds
            c["large"].append(result.val_accuracy)
            print(f"seed {seed} {c['name']:14s} large {result.val_accuracy:.4f} "
                  f"({result.train_seconds:.0f} s)", flush=True)

    # 4. report
    for c in [*candidates, hand]:
        c["large_mean"] = float(np.mean(c["large"]))
        c["large_sd"] = float(np.std(c["large"], ddof=1)) if len(c["large"]) > 1 else 0.0
    searched, randoms = candidates[0], candidates[1:]
    median_random = float(statistics.median(c["large_mean"] for c in randoms))
    rho, p = spearmanr([c["proxy"] for c in candidates],
                       [c["large_mean"] for c in candidates])
    beats_median = searched["large_mean"] > median_random
    matches_hand = searched["large_mean"] >= hand["large_mean"] - MATCH_TOLERANCE
    rank = 1 + sum(c["large_mean"] > searched["large_mean"] for c in randoms)

    rows: list[list[Any]] = []
    for c in [searched, *sorted(randoms, key=lambda c: -c["large_mean"]), hand]:
        proxy = f"{100 * c['proxy']:.1f} %" if "proxy" in c else "n/a"
        rows.append([c["name"], proxy, f"{100 * c['large_mean']:.2f} %",
                     f"{100 * c['large_sd']:.2f}", f"{c['n_params']:,}"])
    sd = "" if args.seeds > 1 else " (1 seed: no sd)"
    notes = [
        f"Goal 1, searched cell beats the median random cell: "
        f"{'MET' if beats_median else 'MISSED'} — {searched['large_mean']:.4f} vs "
        f"{median_random:.4f} (searched cell ranks {rank} of {len(candidates)} candidates).",
        f"Goal 2, matches the hand-designed conv net of the same size (within "
        f"{MATCH_TOLERANCE:.0%} accuracy): {'MET' if matches_hand else 'MISSED'} — "
        f"{searched['large_mean']:.4f} vs {hand['large_mean']:.4f} "
        f"({searched['n_params']:,} vs {hand['n_params']:,} parameters, hand width "
        f"{hand_width}).",
        f"Proxy-vs-large Spearman rank correlation over the {len(candidates)} candidate cells: "
        f"rho = {rho:.3f}, p = {p:.3f}" + (" — not significant at 0.05; with this many "
                                           "candidates only a strong correlation would be."
                                           if not p < 0.05 else "."),
        f"Search: {args.controller} controller over {args.samples} children "
        f"(batch {args.controller_batch}), NASNet space B = {args.blocks}, ops {ops}; proxy = "
        f"N = 1 @ F = {args.proxy_filters}, {args.proxy_train} generated mnist1d training "
        f"examples, {args.proxy_epochs} epochs; {len(complete)} children finished; mean proxy "
        f"accuracy of the first / last {k} samples {np.mean(values[:k]):.4f} / "
        f"{np.mean(values[-k:]):.4f}.",
        f"Large runs: N = {args.cells} @ F = {args.filters}, {args.large_train} generated "
        f"training examples (another seed), {large_data.n_val} validation examples, "
        f"{args.large_epochs} epochs, Adam lr 3e-3 cosine, batch 64; accuracy = mean over "
        f"{args.seeds} training seed(s){sd}. Proxy accuracy of the searched cell is its "
        "search score (same protocol as the random cells'; children are deterministic).",
        "Hand-designed net: conv5(w) conv3(w) conv3/2(2w) conv3(2w) conv3/2(4w) conv3(4w), "
        "each conv-BN-ReLU, global average pooling, linear; w chosen so its parameter count "
        "is the closest to the searched network's.",
        f"Time: search {search_seconds:.0f} s, large training {large_seconds:.0f} s on one "
        "thread; the machine was shared with other jobs, so times are noisy.",
    ]
    raw = {
        "args": {k: v for k, v in vars(args).items() if k != "results_dir"},
        "ops": ops,
        "search": {"values": [t.value for t in study.trials], "seconds": search_seconds,
                   "best_trial": best_trial.number},
        "candidates": [{k: v for k, v in c.items()} for c in candidates],
        "hand_designed": hand,
        "median_random": median_random,
        "spearman": {"rho": float(rho), "p": float(p)},
        "goals": {"beats_median_random": bool(beats_median),
                  "matches_hand_designed": bool(matches_hand)},
        "descriptions": {c["name"]: space.describe(c["decisions"]) for c in candidates},
    }
    return Report(
        title="NASNet transfer on mnist1d: proxy search -> stacked retraining",
        header=["cell", "proxy val acc", "large val acc (mean)", "sd over seeds (points)",
                "parameters"],
        rows=rows,
        notes=notes,
        raw=raw,
    )
