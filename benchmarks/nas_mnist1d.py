"""REINFORCE controller vs random search on mnist1d with a 1-D macro space (issue #6).

The space: Zoph & Le's macro space with 3 conv1d layers, per layer kernel {1, 3, 5, 7} x
{no pooling, max-pool}, 32 filters, no skips (8^3 = 512 architectures). Children are
conv-BN-ReLU networks trained 3 epochs (Adam 3e-3, batches of 64) on 2,000 generated
mnist1d sequences and scored on 1,000 validation sequences.

One 3-epoch training is a noisy measurement (another training seed moves an architecture
by a few points), so the benchmark separates what a search *sees* from what it *returns*:

- a search's k-th training of an architecture (k = 0, 1, ...) uses training seed 1 + k
  (``ChildObjective(repeats="retrain")``), or with ``repeats="cache"`` (the old
  behaviour) every repeat gets the value of its first training (seed 1);
- the architecture a search returns is chosen by
  :func:`autolearn.nas.best_architecture` (headline: its default rule ``best_trial``;
  ``mean`` and ``shrunk`` — the mean of its trainings shrunk toward the study's mean —
  are reported too) and
  **re-evaluated** by an independent training with the held-out seed 0, which no search
  ever sees.

Parts:

1. **Table** (many seeds): ``benchmarks/results/nas_mnist1d_table.jsonl`` holds trainings
   of every architecture with seeds 0-3, and further seeds (and the tuning held-out seeds
   100, 101) for the architectures that needed them, trained on demand and appended (so
   the file only grows; a build resumes). Each search is a real autolearn study whose
   objective looks up (architecture, training seed) in the table, so controller and
   random search see the same numbers.
2. **Live** (fewer seeds): :func:`autolearn.nas.search` with ``repeats="retrain"`` trains
   every child for real (training seeds 1, 2, ...); only the re-evaluation (seed 0) comes
   from the table.

Controller settings (lr, entropy bonus, advantage normalisation) are chosen on separate
table searches (seeds 500+) by the held-out tuning seeds 100/101 of the architecture
the ``shrunk`` rule returns, then fixed for the reported searches (seeds 1000+ table, 2000+ live).

Reported per method: incumbent (best single validation accuracy seen) after 16/32/64
children, mean of the last 16 samples, and the re-evaluated returned architecture, mean ±
sd over seeds, with one-sided Mann-Whitney U p-values (controller > random).
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
               "random search at 64 children with re-trained repeats and a noise-aware "
               "incumbent re-evaluated on a held-out training seed; table + live searches")

TABLE_FILE = Path(__file__).resolve().parent / "results" / "nas_mnist1d_table.jsonl"
#: Finished live searches, one JSON line each, reused by a rerun with the same settings.
LIVE_FILE = Path(__file__).resolve().parent / "results" / "nas_mnist1d_live.jsonl"
CHECKPOINTS = (16, 32, 64)
#: Training seed of a search's first training of an architecture (the k-th is FIRST + k).
FIRST_SEED = 1
#: Held-out training seed of the reported re-evaluation (never seen by a search).
HELDOUT_SEED = 0
#: Held-out training seeds of the tuning searches' re-evaluation.
TUNE_HELDOUT = (100, 101)
#: Table seeds trained for every architecture (the rest on demand).
FULL_SEEDS = (0, 1)
#: Controller settings shared by every candidate: LSTM 32 units, 8 samples per update,
#: moving-average baseline.
CONTROLLER = {"hidden_size": 32, "batch_size": 8, "baseline_decay": 0.9}
#: Candidates tried on the tuning seeds (ControllerSampler's defaults are not changed).
CANDIDATES: dict[str, dict[str, Any]] = {
    "lr0.05-ent0.01": {"lr": 0.05, "entropy_coef": 0.01},
    "lr0.05-ent0.1-running": {"lr": 0.05, "entropy_coef": 0.1, "normalize_advantage": "running"},
    "lr0.1-ent0.03-running": {"lr": 0.1, "entropy_coef": 0.03, "normalize_advantage": "running"},
}
DEFAULT_CANDIDATE = "lr0.05-ent0.1-running"
METHODS = ("reinforce", "random")
#: Incumbent rules of autolearn.nas.best_architecture; the first (the library's default)
#: is the headline.
RULES = ("best_trial", "mean", "shrunk")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=30, help="table searches per method")
    parser.add_argument("--live-seeds", type=int, default=2,
                        help="live searches per method (children trained for real)")
    parser.add_argument("--budget", type=int, default=64, help="children per search")
    parser.add_argument("--table", type=Path, default=None,
                        help=f"JSON-lines table (default {TABLE_FILE})")
    parser.add_argument("--build-only", action="store_true",
                        help="only build the missing rows of seeds 0-3, then report nothing")
    parser.add_argument("--controller", default=DEFAULT_CANDIDATE, choices=sorted(CANDIDATES),
                        help="controller settings when not tuned")
    parser.add_argument("--tune-seeds", type=int, default=0,
                        help="tuning table searches per candidate (0: no tuning)")
    parser.add_argument("--live-file", type=Path, default=None,
                        help=f"JSON-lines file of finished live searches, reused when the "
                             f"settings match (default {LIVE_FILE})")
    parser.add_argument("--per-child", type=int, default=1,
                        help="trainings per child in the table searches (their mean is the "
                             "child's score; the budget stays in children)")
    parser.add_argument("--no-cache-part", action="store_true",
                        help="skip the table searches with repeats='cache'")


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


class Table:
    """Validation accuracy of (architecture, training seed), trained on demand.

    Rows are appended to ``path`` as they finish (rows written before seeds were recorded
    are seed 0), so the table only grows and an interrupted build resumes.
    """

    def __init__(self, setup: dict[str, Any], path: Path) -> None:
        self.setup, self.path = setup, path
        self.rows: dict[int, dict[str, float]] = {}
        self.trained = 0
        self._space: Any = None
        self._data: Any = None
        if path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                if row["setup"] == setup:
                    self.rows.setdefault(row.get("seed", 0), {})[_key(row["decisions"])] = \
                        row["val_accuracy"]

    def get(self, decisions: dict[str, Any], seed: int) -> float:
        key = _key(decisions)
        if key not in self.rows.get(seed, {}):
            self._train(decisions, seed)
        return self.rows[seed][key]

    def _train(self, decisions: dict[str, Any], seed: int) -> None:
        import torch

        from autolearn.nas import TrainConfig, build_child, load_data, make_space, train_child

        torch.set_num_threads(1)
        if self._space is None:
            self._space = make_space("macro", **self.setup["space"])
            self._data = load_data("mnist1d", **self.setup["data"])
        train = TrainConfig(seed=seed, **self.setup["train"])
        model = build_child(self._space, decisions, self._data, seed=seed)
        result = train_child(model, self._data, train)
        self.rows.setdefault(seed, {})[_key(decisions)] = result.val_accuracy
        self.trained += 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as fh:
            fh.write(json.dumps({"setup": self.setup, "seed": seed, "decisions": decisions,
                                 "val_accuracy": result.val_accuracy,
                                 "history": result.history, "n_params": result.n_params,
                                 "train_seconds": round(result.train_seconds, 3)}) + "\n")

    def build(self, seeds: tuple[int, ...], *, log_every: int = 64) -> None:
        from autolearn.nas import make_space

        grid = list(make_space("macro", **self.setup["space"]).search_space().grid())
        start = time.perf_counter()
        for seed in seeds:
            for i, decisions in enumerate(grid):
                self.get(decisions, seed)
                if log_every and (i + 1) % log_every == 0:
                    print(f"table seed {seed}: {i + 1}/{len(grid)} "
                          f"({time.perf_counter() - start:.0f} s)", flush=True)


def _sampler(method: str, space: Any, seed: int, settings: dict[str, Any]) -> Any:
    from autolearn.nas import make_sampler

    if method == "reinforce":
        return make_sampler("reinforce", space, seed=seed, **{**CONTROLLER, **settings})
    return make_sampler("random", space, seed=seed)


def _table_search(method: str, seed: int, budget: int, setup: dict[str, Any], table: Table,
                  settings: dict[str, Any], repeats: str, per_child: int = 1) -> Any:
    """A study whose k-th training of an architecture is the table's seed FIRST_SEED + k
    (``retrain``), or always FIRST_SEED with later repeats marked as cached (``cache``),
    as :class:`autolearn.nas.ChildObjective` records them. With ``per_child`` > 1 a child
    is that many trainings (the k-th child of an architecture: seeds FIRST_SEED +
    per_child * k + i) and scores their mean."""
    import autolearn
    from autolearn.nas import make_space
    from autolearn.nas._child import CACHED_ATTR, TRAINING_ATTR

    space = make_space("macro", **setup["space"])
    study = autolearn.create_study(direction="maximize",
                                   sampler=_sampler(method, space, seed, settings))
    seen: dict[str, int] = {}  # trainings so far per architecture (one process, in order)

    def objective(trial: Any) -> float:
        decisions = space.suggest(trial)
        k = seen.get(_key(decisions), 0)
        seen[_key(decisions)] = k + 1
        if repeats == "cache" and k:
            trial.set_user_attr(CACHED_ATTR, -1)
            k = 0
        trial.set_user_attr(TRAINING_ATTR, k)
        return statistics.fmean(table.get(decisions, FIRST_SEED + per_child * k + i)
                                for i in range(per_child))

    study.optimize(objective, n_trials=budget)
    return study


def _live_search(method: str, seed: int, budget: int, setup: dict[str, Any],
                 settings: dict[str, Any]) -> tuple[Any, float]:
    import torch

    from autolearn.nas import TrainConfig, make_space, search

    torch.set_num_threads(1)
    space = make_space("macro", **setup["space"])
    start = time.perf_counter()
    study = search(space, "mnist1d", budget=budget,
                   sampler=_sampler(method, space, seed, settings),
                   train=TrainConfig(seed=FIRST_SEED, **setup["train"]),
                   data_kwargs=dict(setup["data"]), repeats="retrain")
    return study, time.perf_counter() - start


def _record(study: Any, table: Table, heldout: tuple[int, ...]) -> dict[str, Any]:
    """What a finished search saw and returned; the returned architecture (per rule) is
    re-evaluated as the mean of the table's ``heldout`` trainings."""
    from autolearn.nas import best_architecture

    values = [t.value if t.value is not None else float("nan") for t in study.trials]
    decisions = [dict(t.params) for t in study.trials]  # the trial asks nothing else
    out: dict[str, Any] = {"values": values, "decisions": decisions,
                           "distinct": len({_key(d) for d in decisions}), "picks": {}}
    for rule in RULES:
        best = best_architecture(study, rule=rule)
        out["picks"][rule] = {
            "decisions": best.decisions, "estimate": best.estimate,
            "n_trainings": best.n_trainings,
            "reevaluated": statistics.fmean(table.get(best.decisions, s) for s in heldout)}
    return out


def _metrics(rec: dict[str, Any]) -> dict[str, float]:
    values = rec["values"]
    # NaN (a failed child) never becomes the incumbent; it counts as 0 in the last-16 mean.
    out = {f"best@{n}": max((v for v in values[:n] if v == v), default=0.0)
           for n in sorted({*CHECKPOINTS, len(values)}) if n <= len(values)}
    out["last16"] = statistics.fmean(v if v == v else 0.0 for v in values[-16:])
    out["distinct"] = rec["distinct"]
    for rule in RULES:
        out[f"reeval_{rule}"] = rec["picks"][rule]["reevaluated"]
        out[f"n_{rule}"] = rec["picks"][rule]["n_trainings"]
    return out


def _mean_sd(xs: list[float], scale: float = 100.0) -> str:
    if len(xs) < 2:
        return f"{scale * xs[0]:.2f}" if xs else "n/a"
    return f"{scale * statistics.fmean(xs):.2f} ± {scale * statistics.stdev(xs):.2f}"


def _pvalue(a: list[float], b: list[float]) -> float:
    from scipy.stats import mannwhitneyu

    if len(a) < 2 or len(b) < 2:
        return float("nan")
    return float(mannwhitneyu(a, b, alternative="greater").pvalue)


def _noise(table: Table) -> dict[str, float]:
    """How noisy one training is: seed 0 vs seed 1 over all architectures, and the pooled
    within-architecture sd over the seeds every architecture has."""
    from scipy.stats import spearmanr

    full = [s for s in FULL_SEEDS if len(table.rows.get(s, {})) == len(table.rows[0])]
    keys = sorted(table.rows[0])
    out: dict[str, float] = {"full_seeds": len(full)}
    if len(full) >= 2:
        a = [table.rows[full[0]][k] for k in keys]
        b = [table.rows[full[1]][k] for k in keys]
        out["spearman_01"] = float(spearmanr(a, b).statistic)
        out["median_abs_diff_01"] = statistics.median(abs(x - y) for x, y in zip(a, b, strict=True))
        ss = dof = 0.0
        for k in keys:
            vs = [table.rows[s][k] for s in full]
            m = statistics.fmean(vs)
            ss += sum((v - m) ** 2 for v in vs)
            dof += len(vs) - 1
        out["within_sd"] = (ss / dof) ** 0.5
        top = [k for k in keys if statistics.fmean(table.rows[s][k] for s in full) >= 0.9]
        if len(top) >= 2:
            out["n_top"] = len(top)
            out["within_sd_top"] = statistics.fmean(
                statistics.variance([table.rows[s][k] for s in full]) for k in top) ** 0.5
        means = sorted(statistics.fmean(table.rows[s][k] for s in full) for k in keys)
        out["best_mean"] = means[-1]
        out["sd_of_means"] = statistics.stdev(means)
    return out


def _summary(recs: dict[str, list[dict[str, Any]]], budget: int) -> dict[str, Any]:
    c = [_metrics(r) for r in recs["reinforce"]]
    r = [_metrics(x) for x in recs["random"]]
    out: dict[str, Any] = {}
    if not c or not r:
        return out
    for key in (f"best@{budget}", "last16", *[f"reeval_{rule}" for rule in RULES]):
        a, b = [m[key] for m in c], [m[key] for m in r]
        out[key] = {"diff": 100 * (statistics.fmean(a) - statistics.fmean(b)),
                    "p": _pvalue(a, b)}
    return out


def run(args: argparse.Namespace) -> Report:
    quick = bool(args.quick)
    setup = _setup(quick)
    path = args.table or (args.results_dir / "nas_mnist1d_quick_table.jsonl" if quick
                          else TABLE_FILE)
    seeds = 2 if quick else args.seeds
    live_seeds = 1 if quick else args.live_seeds
    budget = 8 if quick else args.budget
    tune_seeds = 1 if quick and args.tune_seeds else args.tune_seeds
    start = time.perf_counter()
    table = Table(setup, path)
    table.build(FULL_SEEDS)
    build_s = time.perf_counter() - start
    seed0 = sorted(table.rows[HELDOUT_SEED].values())
    raw: dict[str, Any] = {"setup": setup, "controller_base": CONTROLLER, "budget": budget,
                           "per_child": args.per_child,
                           "seeds": seeds, "live_seeds": live_seeds,
                           "first_seed": FIRST_SEED, "heldout_seed": HELDOUT_SEED,
                           "table": {"path": str(path), "size": len(seed0),
                                     "rows": sum(map(len, table.rows.values())),
                                     "seed0_max": seed0[-1],
                                     "seed0_median": statistics.median(seed0),
                                     "seed0_min": seed0[0], "build_seconds": build_s,
                                     "noise": _noise(table)},
                           "runs": {}}
    if args.build_only:
        return Report("NAS on mnist1d: table built", ["architectures", "rows"],
                      [[len(seed0), raw["table"]["rows"]]], raw=raw)
    name = args.controller
    if tune_seeds:
        tuning: dict[str, dict[str, float]] = {}
        for cand, settings in CANDIDATES.items():
            recs = [_record(_table_search("reinforce", 500 + s, budget, setup, table, settings,
                                          "retrain"), table, TUNE_HELDOUT)
                    for s in range(tune_seeds)]
            ms = [_metrics(x) for x in recs]
            tuning[cand] = {k: statistics.fmean(m[k] for m in ms) for k in ms[0]}
            print(f"tuning {cand}: re-evaluated {100 * tuning[cand]['reeval_shrunk']:.2f}, "
                  f"last-16 {100 * tuning[cand]['last16']:.2f}", flush=True)
        name = max(tuning, key=lambda c: tuning[c]["reeval_shrunk"])
        raw["tuning"] = {"seeds": tune_seeds, "heldout": TUNE_HELDOUT, "by_candidate": tuning,
                         "chosen": name}
    settings = CANDIDATES[name]
    raw["controller"] = {"name": name, **CONTROLLER, **settings}
    parts = [("table", "retrain")] + ([] if args.no_cache_part else [("table", "cache")])
    for part, repeats in parts:
        label = f"{part}, {repeats}"
        raw["runs"][label] = {}
        for method in METHODS:
            raw["runs"][label][method] = [
                _record(_table_search(method, 1000 + s, budget, setup, table, settings,
                                      repeats, args.per_child), table, (HELDOUT_SEED,))
                for s in range(seeds)]
            print(f"{label} {method}: done ({table.trained} trained on demand)", flush=True)
    if live_seeds:
        label = "live, retrain"
        raw["runs"][label] = {m: [] for m in METHODS}
        live_path = args.live_file or (args.results_dir / "nas_mnist1d_quick_live.jsonl"
                                       if quick else LIVE_FILE)
        done = {}
        if live_path.exists():
            for line in live_path.read_text().splitlines():
                row = json.loads(line)
                done[_key(row["key"])] = row["record"]
        reused = 0
        for s in range(live_seeds):  # alternate methods so a cut-short run stays paired
            for method in METHODS:
                key = {"setup": setup, "budget": budget, "method": method, "seed": 2000 + s,
                       "settings": settings if method == "reinforce" else {},
                       "first_seed": FIRST_SEED}
                rec = done.get(_key(key))
                if rec is None:
                    study, seconds = _live_search(method, 2000 + s, budget, setup, settings)
                    rec = _record(study, table, (HELDOUT_SEED,))
                    rec["seconds"] = seconds
                    with live_path.open("a") as fh:
                        fh.write(json.dumps({"key": key, "record": rec}) + "\n")
                else:
                    reused += 1
                raw["runs"][label][method].append(rec)
            print(f"{label}: seed {s + 1}/{live_seeds} done", flush=True)
        raw["live_reused"] = reused
    raw["trained_on_demand"] = table.trained
    raw["table"]["rows"] = sum(map(len, table.rows.values()))
    checkpoints = [n for n in sorted({*CHECKPOINTS, budget}) if n <= budget]
    header = ["part", "method", "runs", *[f"best@{n}" for n in checkpoints], "mean of last 16",
              "distinct archs", "returned (best_trial): trainings",
              "returned, re-evaluated: best_trial", "mean", "shrunk"]
    rows = []
    tests = {}
    for label, by_method in raw["runs"].items():
        for method in METHODS:
            ms = [_metrics(x) for x in by_method[method]]
            if not ms:
                continue
            rows.append([label, method, len(ms),
                         *[_mean_sd([m[f"best@{n}"] for m in ms]) for n in checkpoints],
                         _mean_sd([m["last16"] for m in ms]),
                         f"{statistics.fmean(m['distinct'] for m in ms):.1f}",
                         f"{statistics.fmean(m['n_best_trial'] for m in ms):.1f}",
                         *[_mean_sd([m[f"reeval_{rule}"] for m in ms]) for rule in RULES]])
        tests[label] = _summary(by_method, budget)
    raw["tests"] = tests
    noise = raw["table"]["noise"]
    notes = [
        f"Space: macro, {setup['space']['num_layers']} conv1d layers x kernel "
        f"{setup['space']['kernel_sizes']} x {{none, maxpool}}, {setup['space']['filters'][0]} "
        f"filters, no skips ({len(seed0)} architectures). Children: "
        f"{setup['train']['epochs']} epochs Adam {setup['train']['lr']}, batch "
        f"{setup['train']['batch_size']}, mnist1d {setup['data']['n_train']} train / "
        f"{setup['data']['n_val']} validation (generated locally, seed 0).",
        f"Table: every architecture trained with seeds {', '.join(map(str, FULL_SEEDS))}, more "
        f"seeds on demand ({raw['table']['rows']} trainings in all, {table.trained} of them "
        f"during this run). Seed 0: max {100 * seed0[-1]:.2f} %, median "
        f"{100 * statistics.median(seed0):.2f} %, min {100 * seed0[0]:.2f} %."
        + (f" Noise of one training: seed 0 vs 1 Spearman {noise['spearman_01']:.3f}, median "
           f"|difference| {100 * noise['median_abs_diff_01']:.2f} points; pooled "
           f"within-architecture sd {100 * noise['within_sd']:.2f} points over "
           f"{noise['full_seeds']} seeds ({100 * noise.get('within_sd_top', float('nan')):.2f} "
           f"for the {noise.get('n_top', 0)} architectures whose mean is 90 % or more); best "
           f"{noise['full_seeds']}-seed mean "
           f"{100 * noise['best_mean']:.2f} %." if "within_sd" in noise else ""),
        f"A search's k-th training of an architecture uses training seed {FIRST_SEED} + k "
        "(repeats='retrain'); 'cache' rows give every repeat its first training's value "
        f"(the old behaviour). The returned architecture is re-evaluated by the held-out "
        f"training seed {HELDOUT_SEED}, which no search sees; columns best_trial / mean / "
        "shrunk are the rules of autolearn.nas.best_architecture applied to both methods "
        "(random search rarely repeats an architecture, so its rules nearly coincide).",
        f"Controller: REINFORCE, LSTM {CONTROLLER['hidden_size']} units, "
        f"{CONTROLLER['batch_size']} samples per update, moving-average baseline (decay "
        f"{CONTROLLER['baseline_decay']}), setting {name}: {settings}. Values are accuracy "
        "in % (mean ± sd over runs).",
    ]
    if args.per_child > 1:
        notes.append(f"Table searches score each child by the mean of {args.per_child} "
                     f"trainings (the k-th child of an architecture: seeds {FIRST_SEED} + "
                     f"{args.per_child}k + i), so each costs {args.per_child} trainings; the "
                     "budget is still counted in children. Live searches: one training per "
                     "child.")
    for label, t in tests.items():
        if not t:
            continue
        notes.append(
            f"{label}: controller - random = {t['reeval_best_trial']['diff']:+.2f} points on "
            f"the re-evaluated returned architecture (best_trial rule; one-sided Mann-Whitney "
            f"U p = {t['reeval_best_trial']['p']:.3g}; mean rule "
            f"{t['reeval_mean']['diff']:+.2f}, p = {t['reeval_mean']['p']:.3g}; shrunk rule "
            f"{t['reeval_shrunk']['diff']:+.2f}, p = {t['reeval_shrunk']['p']:.3g}), "
            f"{t['last16']['diff']:+.2f} on the mean of the last 16 samples (p = "
            f"{t['last16']['p']:.3g}), {t[f'best@{budget}']['diff']:+.2f} on the best single "
            f"training seen (p = {t[f'best@{budget}']['p']:.3g}).")
    if "tuning" in raw:
        tuned = "; ".join(
            f"{c}: re-evaluated {100 * v['reeval_shrunk']:.2f} (best_trial rule "
            f"{100 * v['reeval_best_trial']:.2f}, mean {100 * v['reeval_mean']:.2f}), last-16 "
            f"{100 * v['last16']:.2f}" for c, v in raw["tuning"]["by_candidate"].items())
        notes.append(f"Controller setting chosen on {raw['tuning']['seeds']} tuning table "
                     f"searches per candidate (seeds 500+, repeats='retrain'), by the mean of "
                     f"held-out seeds {TUNE_HELDOUT} of the architecture the shrunk rule "
                     f"returns (the rule planned as the default when this was set up): "
                     f"{tuned}; chose {name}. Random search has nothing to tune.")
    if live_seeds:
        secs = [x["seconds"] for m in METHODS for x in raw["runs"]["live, retrain"][m]]
        notes.append(f"Live searches: {statistics.fmean(secs):.0f} s each on average (one "
                     "thread; two cores shared with other jobs during the run); "
                     f"{raw['live_reused']} of them read back from the live file (finished "
                     "by an earlier, interrupted run with the same settings).")
    return Report(f"NAS on mnist1d: REINFORCE controller vs random search, {budget} children",
                  header, rows, notes=notes, raw=raw)
