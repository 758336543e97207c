"""REINFORCE controller vs random search on mnist1d in a larger Zoph & Le macro space (issue #6).

The 512-architecture space of :mod:`benchmarks.nas_mnist1d` has a flat top: 45 of its
architectures reach 90 %, so 64 random draws almost surely hit one and the controller's
returned architecture cannot beat random search's by much. This benchmark uses Zoph &
Le's macro space proper, for 1-D inputs: 5 conv1d layers, per layer kernel {1, 3, 5, 7},
filters {8, 16, 32, 64}, reduction {none, stride-2 convolution, max-pool} and a skip
connection from each earlier layer (on/off), 4^5 * 4^5 * 3^5 * 2^10 ~ 2.6e11
architectures. No table can hold that, so every child is trained for real (same
children as the 512-architecture benchmark otherwise: conv-BN-ReLU, 3 epochs, Adam 3e-3,
batches of 64, 2,000 generated mnist1d training sequences, 1,000 validation sequences).

Parts:

1. **Pilot**: ``--pilot`` random architectures (``space.search_space().sample(seed=10000 +
   i)``) trained with training seed 1, the first ``--pilot-repeats`` of them also with
   seed 2: the accuracy distribution (how far the top few % lie above the median and the
   90th percentile), the noise of one training, and the expected best of 64 random draws
   (the exact expectation of the maximum of 64 draws from the pilot's values).
2. **Searches**: :func:`autolearn.nas.search` with ``repeats="retrain"`` (a search's k-th
   training of an architecture uses training seed 1 + k), REINFORCE controller (settings
   passed explicitly) vs random search, ``--budget`` children, sampler seeds 3000 + s,
   seed pairs interleaved (controller, random, controller, ...) so a stop leaves balanced
   results. The architecture each search returns (:func:`autolearn.nas.best_architecture`,
   rules ``best_trial``, ``mean``, ``shrunk``) is re-evaluated by an independent training
   with the held-out training seed 0, which no search sees (the headline). One training
   is noisy, so the report adds a second measurement: the mean of held-out seeds 0 and
   ``--extra-heldout`` (default 100, 101) of the ``best_trial`` architecture, trained when
   the report is written (resumable like the rest).

Every training (pilot and re-evaluation) is appended to one JSON-lines file and every
finished search to another, so an interrupted run resumes; ``--stop-at HH:MM`` (UTC) stops
starting seed pairs that would end after that time and reports the pairs done.

Reported per method: incumbent (best single validation accuracy seen) after 16/32/64
children, mean of the last 16 samples, and the re-evaluated returned architecture, mean ±
sd over seeds, with one-sided Mann-Whitney U p-values (controller > random).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks._common import Report
from benchmarks.nas_mnist1d import (
    CANDIDATES,
    CHECKPOINTS,
    CONTROLLER,
    DEFAULT_CANDIDATE,
    FIRST_SEED,
    HELDOUT_SEED,
    METHODS,
    RULES,
    Table,
    _key,
    _live_search,
    _mean_sd,
    _metrics,
    _pvalue,
    _record,
    _summary,
)

DESCRIPTION = ("NAS on mnist1d, Zoph & Le macro space (5 conv1d layers, kernel x filters x "
               "reduction x skips, ~2.6e11 architectures): pilot of random architectures, then "
               "REINFORCE controller vs random search at 64 live-trained children, returned "
               "architecture re-evaluated on a held-out training seed")

RESULTS = Path(__file__).resolve().parent / "results"
#: Every training of the pilot and the re-evaluations, one JSON line each.
TRAININGS_FILE = RESULTS / "nas_mnist1d_macro_trainings.jsonl"
#: Finished searches, one JSON line each, reused by a rerun with the same settings.
LIVE_FILE = RESULTS / "nas_mnist1d_macro_live.jsonl"
#: Seed of the pilot's i-th random architecture: ``sample(seed=PILOT_SEED + i)``.
PILOT_SEED = 10_000
#: Sampler seed of the s-th search of each method.
SEARCH_SEED = 3000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=12, help="searches per method")
    parser.add_argument("--budget", type=int, default=64, help="children per search")
    parser.add_argument("--pilot", type=int, default=100,
                        help="random architectures of the pilot (training seed 1)")
    parser.add_argument("--pilot-repeats", type=int, default=16,
                        help="of them, how many are also trained with seed 2 (noise)")
    parser.add_argument("--layers", type=int, default=5, help="conv1d layers of the space")
    parser.add_argument("--controller", default=DEFAULT_CANDIDATE, choices=sorted(CANDIDATES),
                        help="controller settings (those tuned on the 512-architecture space)")
    parser.add_argument("--extra-heldout", type=int, nargs="*", default=[100, 101],
                        help="more held-out training seeds of each returned (best_trial) "
                             "architecture, averaged with seed 0 in a second column")
    parser.add_argument("--stop-at", default=None,
                        help="HH:MM (UTC): start no seed pair that would end after this time")


def _setup(quick: bool, layers: int) -> dict[str, Any]:
    if quick:
        return {"space": {"num_layers": 2, "kernel_sizes": [1, 3], "filters": [4, 8],
                          "reductions": ["none", "maxpool"], "skips": True},
                "data": {"n_train": 200, "n_val": 100, "seed": 0},
                "train": {"epochs": 1, "lr": 3e-3, "batch_size": 64}}
    return {"space": {"num_layers": layers, "kernel_sizes": [1, 3, 5, 7],
                      "filters": [8, 16, 32, 64], "reductions": ["none", "stride2", "maxpool"],
                      "skips": True},
            "data": {"n_train": 2000, "n_val": 1000, "seed": 0},
            "train": {"epochs": 3, "lr": 3e-3, "batch_size": 64}}


def space_size(space: dict[str, Any]) -> int:
    """Number of architectures of a macro space configuration."""
    n = space["num_layers"]
    per_layer = len(space["kernel_sizes"]) * len(space["filters"]) * len(space["reductions"])
    return per_layer ** n * (2 ** (n * (n - 1) // 2) if space["skips"] else 1)


def expected_best_of(values: list[float], k: int) -> float:
    """E[max of ``k`` draws with replacement from ``values``] (exact, by order statistics)."""
    xs = sorted(values)
    n = len(xs)
    return sum(x * ((i + 1) ** k - i ** k) / n ** k for i, x in enumerate(xs))


def _quantile(xs: list[float], q: float) -> float:
    import numpy as np

    return float(np.quantile(xs, q))


def _pilot(table: Table, setup: dict[str, Any], n: int, repeats: int) -> dict[str, Any]:
    from scipy.stats import spearmanr

    from autolearn.nas import make_space

    space = make_space("macro", **setup["space"]).search_space()
    archs = [space.sample(seed=PILOT_SEED + i) for i in range(n)]
    start = time.perf_counter()
    first = [table.get(d, FIRST_SEED) for d in archs]
    second = [table.get(d, FIRST_SEED + 1) for d in archs[:repeats]]
    seconds = time.perf_counter() - start
    top_n = max(1, round(0.05 * n))
    xs = sorted(first)
    out: dict[str, Any] = {
        "n": n, "repeats": repeats, "values": first, "values_seed2": second,
        "median": statistics.median(xs), "p90": _quantile(xs, 0.9), "p95": _quantile(xs, 0.95),
        "max": xs[-1], "top5pct_mean": statistics.fmean(xs[-top_n:]), "top5pct_n": top_n,
        "n_ge_90": sum(x >= 0.9 for x in xs),
        "expected_best_of_64": expected_best_of(xs, 64),
        "expected_best_of_16": expected_best_of(xs, 16),
        "seconds_if_trained_now": seconds}
    if repeats >= 3:
        diffs = [a - b for a, b in zip(first, second, strict=False)]
        out["noise_sd"] = statistics.stdev(diffs) / 2 ** 0.5
        out["median_abs_diff"] = statistics.median(abs(d) for d in diffs)
        out["spearman_12"] = float(spearmanr(first[:repeats], second).statistic)
    return out


def _stop_time(stop_at: str | None) -> float | None:
    if not stop_at:
        return None
    now = _dt.datetime.now(_dt.UTC)
    hh, mm = (int(x) for x in stop_at.split(":"))
    stop = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    return time.time() + (stop - now).total_seconds()


def run(args: argparse.Namespace) -> Report:
    quick = bool(args.quick)
    setup = _setup(quick, args.layers)
    seeds = 1 if quick else args.seeds
    budget = 8 if quick else args.budget
    pilot_n, pilot_rep = (6, 3) if quick else (args.pilot, args.pilot_repeats)
    trainings_path = (args.results_dir / "nas_mnist1d_macro_quick_trainings.jsonl" if quick
                      else TRAININGS_FILE)
    live_path = (args.results_dir / "nas_mnist1d_macro_quick_live.jsonl" if quick
                 else LIVE_FILE)
    table = Table(setup, trainings_path)
    pilot = _pilot(table, setup, pilot_n, pilot_rep)
    print(f"pilot: median {100 * pilot['median']:.2f}, p90 {100 * pilot['p90']:.2f}, max "
          f"{100 * pilot['max']:.2f}, expected best of 64 {100 * pilot['expected_best_of_64']:.2f}",
          flush=True)
    name = args.controller
    settings = CANDIDATES[name]
    raw: dict[str, Any] = {"setup": setup, "space_size": space_size(setup["space"]),
                           "controller": {"name": name, **CONTROLLER, **settings},
                           "budget": budget, "seeds_requested": seeds,
                           "first_seed": FIRST_SEED, "heldout_seed": HELDOUT_SEED,
                           "pilot": pilot, "runs": {m: [] for m in METHODS}}
    done: dict[str, Any] = {}
    if live_path.exists():
        for line in live_path.read_text().splitlines():
            row = json.loads(line)
            done[_key(row["key"])] = row["record"]
    stop = _stop_time(args.stop_at)
    pair_seconds: list[float] = []
    reused, stopped = 0, False
    for s in range(seeds):
        keys = {m: {"setup": setup, "budget": budget, "method": m, "seed": SEARCH_SEED + s,
                    "settings": settings if m == "reinforce" else {},
                    "first_seed": FIRST_SEED} for m in METHODS}
        missing = [m for m in METHODS if _key(keys[m]) not in done]
        if missing and stop is not None and pair_seconds and \
                time.time() + statistics.fmean(pair_seconds) > stop:
            stopped = True
            break
        started = time.perf_counter()
        for method in METHODS:
            rec = done.get(_key(keys[method]))
            if rec is None:
                study, seconds = _live_search(method, SEARCH_SEED + s, budget, setup, settings)
                rec = _record(study, table, (HELDOUT_SEED,))
                rec["seconds"] = seconds
                live_path.parent.mkdir(parents=True, exist_ok=True)
                with live_path.open("a") as fh:
                    fh.write(json.dumps({"key": keys[method], "record": rec}) + "\n")
            else:
                reused += 1
            raw["runs"][method].append(rec)
        if missing:
            pair_seconds.append(time.perf_counter() - started)
        print(f"seed {s + 1}/{seeds} done", flush=True)
    raw["reused"], raw["stopped_early"] = reused, stopped
    extra = tuple(args.extra_heldout)
    raw["extra_heldout"] = extra
    for method in METHODS:
        for rec in raw["runs"][method]:
            pick = rec["picks"]["best_trial"]
            pick["reevaluated_multi"] = statistics.fmean(
                table.get(pick["decisions"], s) for s in (HELDOUT_SEED, *extra))
    raw["tests"] = _summary(raw["runs"], budget)
    multi = {m: [x["picks"]["best_trial"]["reevaluated_multi"] for x in raw["runs"][m]]
             for m in METHODS}
    if multi["reinforce"] and multi["random"]:
        raw["tests"]["reeval_multi"] = {
            "diff": 100 * (statistics.fmean(multi["reinforce"])
                           - statistics.fmean(multi["random"])),
            "p": _pvalue(multi["reinforce"], multi["random"])}
    checkpoints = [n for n in sorted({*CHECKPOINTS, budget}) if n <= budget]
    header = ["method", "runs", *[f"best@{n}" for n in checkpoints], "mean of last 16",
              "distinct archs", "returned (best_trial): trainings",
              "returned, re-evaluated: best_trial", "mean", "shrunk",
              f"best_trial, mean of held-out seeds {', '.join(map(str, (HELDOUT_SEED, *extra)))}",
              "s per search"]
    rows = []
    for method in METHODS:
        recs = raw["runs"][method]
        ms = [_metrics(x) for x in recs]
        if not ms:
            continue
        rows.append([method, len(ms),
                     *[_mean_sd([m[f"best@{n}"] for m in ms]) for n in checkpoints],
                     _mean_sd([m["last16"] for m in ms]),
                     f"{statistics.fmean(m['distinct'] for m in ms):.1f}",
                     f"{statistics.fmean(m['n_best_trial'] for m in ms):.1f}",
                     *[_mean_sd([m[f"reeval_{rule}"] for m in ms]) for rule in RULES],
                     _mean_sd(multi[method]),
                     f"{statistics.fmean(x['seconds'] for x in recs):.0f}"])
    sp = setup["space"]
    notes = [
        f"Space: macro, {sp['num_layers']} conv1d layers, per layer kernel {sp['kernel_sizes']}"
        f" x filters {sp['filters']} x reduction {sp['reductions']} x a skip connection from "
        f"each earlier layer ({raw['space_size']:.3g} architectures). Children: conv-BN-ReLU, "
        f"{setup['train']['epochs']} epochs Adam {setup['train']['lr']}, batch "
        f"{setup['train']['batch_size']}, mnist1d {setup['data']['n_train']} train / "
        f"{setup['data']['n_val']} validation (generated locally, seed 0).",
        f"Pilot: {pilot['n']} random architectures, training seed {FIRST_SEED}: median "
        f"{100 * pilot['median']:.2f} %, 90th percentile {100 * pilot['p90']:.2f} %, 95th "
        f"{100 * pilot['p95']:.2f} %, top 5 % ({pilot['top5pct_n']}) mean "
        f"{100 * pilot['top5pct_mean']:.2f} %, max {100 * pilot['max']:.2f} %; "
        f"{pilot['n_ge_90']} of {pilot['n']} reach 90 %. Expected best of 16 / 64 random "
        f"draws (from the pilot's values): {100 * pilot['expected_best_of_16']:.2f} / "
        f"{100 * pilot['expected_best_of_64']:.2f} %."
        + (f" Noise of one training ({pilot['repeats']} architectures trained with seeds "
           f"{FIRST_SEED} and {FIRST_SEED + 1}): sd {100 * pilot['noise_sd']:.2f} points, "
           f"median |difference| {100 * pilot['median_abs_diff']:.2f}, Spearman "
           f"{pilot['spearman_12']:.3f}." if "noise_sd" in pilot else ""),
        f"Searches: autolearn.nas.search(..., repeats='retrain'), the k-th training of an "
        f"architecture uses training seed {FIRST_SEED} + k; sampler seeds {SEARCH_SEED}+, "
        f"methods interleaved per seed. The returned architecture (rules of "
        f"autolearn.nas.best_architecture) is re-evaluated by one training with the held-out "
        f"seed {HELDOUT_SEED}. Values are accuracy in % (mean ± sd over runs).",
        f"Controller: REINFORCE, LSTM {CONTROLLER['hidden_size']} units, "
        f"{CONTROLLER['batch_size']} samples per update, moving-average baseline (decay "
        f"{CONTROLLER['baseline_decay']}), setting {name}: {settings} (tuned on the "
        "512-architecture space, not re-tuned here). Random search: uniform over the space.",
        f"Seeds: {len(raw['runs']['reinforce'])} of {seeds} requested per method"
        + (" (stopped by --stop-at)" if stopped else "") + f"; {reused} searches read back "
        "from the live file. Children trained on one thread, two cores shared with other jobs.",
    ]
    t = raw["tests"]
    if t:
        notes.append(
            f"controller - random = {t['reeval_best_trial']['diff']:+.2f} points on the "
            f"re-evaluated returned architecture (best_trial rule; one-sided Mann-Whitney U "
            f"p = {t['reeval_best_trial']['p']:.3g}; mean rule {t['reeval_mean']['diff']:+.2f},"
            f" p = {t['reeval_mean']['p']:.3g}; shrunk rule {t['reeval_shrunk']['diff']:+.2f}, "
            f"p = {t['reeval_shrunk']['p']:.3g}), {t['last16']['diff']:+.2f} on the mean of the "
            f"last 16 samples (p = {t['last16']['p']:.3g}), {t[f'best@{budget}']['diff']:+.2f} "
            f"on the best single training seen (p = {t[f'best@{budget}']['p']:.3g}); "
            f"{t['reeval_multi']['diff']:+.2f} on the best_trial architecture re-evaluated as "
            f"the mean of held-out seeds {(HELDOUT_SEED, *extra)} (p = "
            f"{t['reeval_multi']['p']:.3g}).")
    return Report(f"NAS on mnist1d, macro space ({raw['space_size']:.2g} architectures): "
                  f"REINFORCE controller vs random search, {budget} children",
                  header, rows, notes=notes, raw=raw)
