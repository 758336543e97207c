"""REINFORCE vs random search on the mnist1d macro space with a confirmed incumbent (issue #6).

Same space, children and controller as :mod:`benchmarks.nas_mnist1d_macro` (5 conv1d
layers, ~2.6e11 architectures, 3-epoch children, REINFORCE setting
``lr0.05-ent0.1-running``, not re-tuned). There, over 16 seed pairs, the controller's last
16 samples beat random search's by 13 points but the architecture it returned (its best
single training) lost 3.6 points on retraining against random's 1.4, and the returned
architecture, re-evaluated as the mean of held-out seeds 0/100/101, was only +1.40 points
better (p = 0.15): the winner's curse ate the gap.

Protocol (fixed before the comparison was run; both methods get the same):

- **Budget 64 trainings** = ``64 - top * trainings`` children proposed by the sampler, then
  :func:`autolearn.nas.confirm_top`: the ``top`` architectures with the best single
  training are re-trained ``trainings`` more times each (training seeds 2, 3, ...: a
  search's k-th training of an architecture uses seed 1 + k), and the search returns the
  candidate with the best mean over its trainings. Default ``top = 4``, ``trainings = 2``
  (56 children + 8 re-trainings), chosen by the pilot below.
- **Measure (headline)**: the returned architecture re-evaluated by independent trainings
  with held-out seeds 0, 100, 101, 102, 103 (mean of the five; no search sees these
  seeds), one-sided Mann-Whitney U (controller > random); a paired Wilcoxon signed-rank
  test over seed pairs is given too (a pair shares its sampler seed number and the
  held-out training seeds, nothing else). The mean over seeds 0/100/101 (the old
  benchmark's column) is reported beside it.
- **Pilot** (``--pilot-pairs``, sampler seeds 3000 + i for the first pairs): the old
  benchmark's recorded searches on those seeds, cut to their first 56 children, each
  followed by the candidate protocols (``top4x2``: top 4 re-trained twice; ``top8x1``:
  top 8 once) and compared by the held-out mean (seeds 0/100/101) of what they return.
  The protocol with the larger controller - random difference is used; these pilot seeds
  are not in the reported comparison.
- **Reported pairs**: sampler seeds ``3000 + --first-pair`` onwards (default 3006),
  controller and random interleaved so a stop leaves balanced results. For seeds the old
  benchmark already searched (3006-3015), the old searches' recorded trainings are put in
  the training cache, so the re-run sampler proposes the same first 56 children without
  training them again (a cache only: any child it proposes that was not recorded is
  trained); only the re-trainings and re-evaluations are new.

Every training goes to ``nas_mnist1d_macro_trainings.jsonl`` (shared with the macro
benchmark, keyed by setup, architecture and training seed), every finished search to
``nas_mnist1d_confirm_live.jsonl``, so an interrupted run resumes; ``--stop-at HH:MM``
(UTC) starts no pair that would end after that time.

**Stopping rule (fixed 2026-12-07, session 8, before any pair beyond 26 was run).** The
comparison was first declared at 24 pairs (+0.89 points, one-sided Mann-Whitney p = 0.174);
pairs 25-26 were added after that had been seen (26 pairs: +1.20, p = 0.068). A power
estimate (effect ~0.5 sd) asked for ~45 pairs for 80 % power. From here on:

- the protocol is unchanged (space, controller settings, budget, ``confirm_top(4, 2)``,
  held-out seeds, pair seeds 3006+);
- the final analysis is at exactly ``DECLARED_PAIRS = 45`` pairs (sampler seeds
  3006-3050), the 26 existing pairs included; the headline is not analysed in between
  (``--collect-only`` runs pairs into the live file and prints only progress);
- because the data were looked at after 24 and 26 pairs, the success criterion of the final
  one-sided Mann-Whitney U is p < ``ALPHA = 0.025`` (alpha split over the looks). The
  report gives the p-value, the paired Wilcoxon, the difference and the win count whatever
  they are, and the 24- and 26-pair looks as history;
- a report on fewer than 45 pairs says only that the run is incomplete and how many pairs
  are done: no table and no p-value (the next session continues to 45 under the same rule).
"""

from __future__ import annotations

import argparse
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
    METHODS,
    Table,
    _key,
    _mean_sd,
    _pvalue,
    _sampler,
)
from benchmarks.nas_mnist1d_macro import (
    LIVE_FILE as OLD_LIVE_FILE,
)
from benchmarks.nas_mnist1d_macro import (
    SEARCH_SEED,
    TRAININGS_FILE,
    _setup,
    _stop_time,
    space_size,
)

DESCRIPTION = ("NAS on mnist1d, Zoph & Le macro space (~2.6e11 architectures): REINFORCE vs "
               "random search at 64 trainings, the last ones re-training the top candidates "
               "(confirm_top), returned architecture re-evaluated on five held-out seeds")

RESULTS = Path(__file__).resolve().parent / "results"
LIVE_FILE = RESULTS / "nas_mnist1d_confirm_live.jsonl"
#: Held-out training seeds of the headline re-evaluation (no search sees them).
HELDOUT = (0, 100, 101, 102, 103)
#: The old benchmark's held-out seeds (its second column), reported beside the headline.
HELDOUT_OLD = (0, 100, 101)
#: Confirmation protocols of the pilot: name -> (top, trainings).
PROTOCOLS = {"top4x2": (4, 2), "top8x1": (8, 1)}
#: Stopping rule (see the module docstring): the headline is analysed at this many pairs only.
DECLARED_PAIRS = 45
#: Success criterion of the final one-sided Mann-Whitney U (alpha split over earlier looks).
ALPHA = 0.025
#: Earlier looks at the headline (history, not results of the stopping rule).
HISTORY = ("the comparison was first run as `--pairs 24 --stop-at 10:02` and gave, on those "
           "24 pairs, +0.89 points on the headline (one-sided Mann-Whitney U p = 0.174; "
           "paired Wilcoxon p = 0.11; controller ahead in 15 of 24); pairs 25-26 were added "
           "after that had been seen (26 pairs: +1.20 points, p = 0.068; paired Wilcoxon "
           "p = 0.041; 17 of 26). On 2026-12-07 (session 8) the final analysis was fixed at "
           f"{DECLARED_PAIRS} pairs with success criterion p < {ALPHA}, before pairs 27+ ran, "
           "and the headline was not looked at in between.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", type=int, default=DECLARED_PAIRS,
                        help=f"reported seed pairs (the stopping rule: {DECLARED_PAIRS})")
    parser.add_argument("--first-pair", type=int, default=6,
                        help="sampler seed of the first reported pair: 3000 + this")
    parser.add_argument("--pilot-pairs", type=int, default=6,
                        help="pilot on the old searches with sampler seeds 3000 + i, i < this")
    parser.add_argument("--budget", type=int, default=64, help="trainings per search")
    parser.add_argument("--top", type=int, default=4, help="architectures re-trained")
    parser.add_argument("--trainings", type=int, default=2, help="re-trainings of each")
    parser.add_argument("--stop-at", default=None,
                        help="HH:MM (UTC): start no seed pair that would end after this time")
    parser.add_argument("--collect-only", action="store_true",
                        help="run the missing seed pairs into the live file, print only "
                             "progress, and exit without computing or writing the report "
                             "(the stopping rule: no look at the headline before the "
                             "declared number of pairs); rerun without it to write the report")


class TableObjective:
    """A study objective whose k-th training of an architecture is ``table``'s training
    seed ``FIRST_SEED + k`` (what ``ChildObjective(repeats="retrain")`` trains, read from
    the cache when it is there)."""

    repeats = "retrain"

    def __init__(self, space: Any, table: Table) -> None:
        self.space, self.table = space, table
        self.seen: dict[str, int] = {}
        self.trained_before = table.trained

    def __call__(self, trial: Any) -> float:
        decisions = self.space.suggest(trial)
        k = self.seen.get(_key(decisions), 0)
        self.seen[_key(decisions)] = k + 1
        trial.set_user_attr("nas:train_seed", FIRST_SEED + k)
        return self.table.get(decisions, FIRST_SEED + k)


def _old_records(setup: dict[str, Any], budget: int) -> dict[tuple[str, int], dict[str, Any]]:
    """The macro benchmark's finished searches with this setup, by (method, sampler seed)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    if not OLD_LIVE_FILE.exists():
        return out
    for line in OLD_LIVE_FILE.read_text().splitlines():
        row = json.loads(line)
        key = row["key"]
        if key["setup"] == setup and key["budget"] == budget and \
                key["first_seed"] == FIRST_SEED:
            out[(key["method"], key["seed"])] = row["record"]
    return out


def _seed_cache(table: Table, records: dict[tuple[str, int], dict[str, Any]]) -> int:
    """Put the recorded trainings of old searches in ``table`` (in memory): their k-th
    training of an architecture was training seed FIRST_SEED + k."""
    added = 0
    for rec in records.values():
        seen: dict[str, int] = {}
        for decisions, value in zip(rec["decisions"], rec["values"], strict=True):
            k = seen.get(_key(decisions), 0)
            seen[_key(decisions)] = k + 1
            rows = table.rows.setdefault(FIRST_SEED + k, {})
            if value == value and _key(decisions) not in rows:
                rows[_key(decisions)] = value
                added += 1
    return added


def _heldout(table: Table, decisions: dict[str, Any], seeds: tuple[int, ...]) -> float:
    return statistics.fmean(table.get(decisions, s) for s in seeds)


def _pilot(table: Table, records: dict[tuple[str, int], dict[str, Any]], pairs: int,
           budget: int) -> dict[str, Any]:
    """The candidate protocols on the old searches' first children (see the docstring)."""
    rows = []
    for i in range(pairs):
        for method in METHODS:
            rec = records.get((method, SEARCH_SEED + i))
            if rec is None:
                continue
            row: dict[str, Any] = {"seed": SEARCH_SEED + i, "method": method}
            for name, (top, n) in PROTOCOLS.items():
                children = budget - top * n
                vals, decs = rec["values"][:children], rec["decisions"][:children]
                order = sorted(range(children), key=lambda j: -(vals[j] if vals[j] == vals[j]
                                                                else -1.0))
                cands = []
                for j in order:
                    if decs[j] not in cands:
                        cands.append(decs[j])
                    if len(cands) == top:
                        break
                means = [statistics.fmean([max(v for v, d in zip(vals, decs, strict=True)
                                               if d == c and v == v)]
                                          + [table.get(c, FIRST_SEED + k)
                                             for k in range(1, n + 1)]) for c in cands]
                pick = cands[max(range(len(cands)), key=means.__getitem__)]
                row[name] = _heldout(table, pick, HELDOUT_OLD)
            row["best_trial64"] = _heldout(table, rec["picks"]["best_trial"]["decisions"],
                                           HELDOUT_OLD)
            rows.append(row)
            print(f"pilot {method} {SEARCH_SEED + i}: "
                  + ", ".join(f"{k} {100 * v:.2f}" for k, v in row.items()
                              if isinstance(v, float)), flush=True)
    out: dict[str, Any] = {"rows": rows, "pairs": pairs, "heldout": HELDOUT_OLD, "by_protocol": {}}
    for name in (*PROTOCOLS, "best_trial64"):
        a = [r[name] for r in rows if r["method"] == "reinforce"]
        b = [r[name] for r in rows if r["method"] == "random"]
        if a and b:
            out["by_protocol"][name] = {"reinforce": statistics.fmean(a),
                                        "random": statistics.fmean(b),
                                        "diff": statistics.fmean(a) - statistics.fmean(b)}
    return out


def _search(method: str, seed: int, budget: int, top: int, trainings: int,
            setup: dict[str, Any], table: Table, settings: dict[str, Any]) -> dict[str, Any]:
    import autolearn
    from autolearn.nas import best_architecture, confirm_top, make_space

    space = make_space("macro", **setup["space"])
    objective = TableObjective(space, table)
    study = autolearn.create_study(direction="maximize",
                                   sampler=_sampler(method, space, seed, settings))
    start = time.perf_counter()
    study.optimize(objective, n_trials=budget - top * trainings)
    pick = confirm_top(study, objective, top=top, trainings=trainings)
    seconds = time.perf_counter() - start
    values = [t.value if t.value is not None else float("nan") for t in study.trials]
    best = best_architecture(study)
    return {"values": values, "decisions": [dict(t.params) for t in study.trials],
            "children": budget - top * trainings, "trained": table.trained -
            objective.trained_before, "seconds": seconds,
            "confirm": {"decisions": pick.decisions, "values": list(pick.values),
                        "heldout": [table.get(pick.decisions, s) for s in HELDOUT]},
            "best_trial": {"decisions": best.decisions, "value": best.estimate,
                           "heldout_old": [table.get(best.decisions, s) for s in HELDOUT_OLD]}}


def _metrics(rec: dict[str, Any]) -> dict[str, float]:
    children = rec["values"][:rec["children"]]
    out = {f"best@{n}": max((v for v in children[:n] if v == v), default=0.0)
           for n in sorted({*CHECKPOINTS, len(children)}) if n <= len(children)}
    out["last16"] = statistics.fmean(v if v == v else 0.0 for v in children[-16:])
    out["distinct"] = len({_key(d) for d in rec["decisions"][:rec["children"]]})
    held = rec["confirm"]["heldout"]
    out["confirm_mean"] = statistics.fmean(rec["confirm"]["values"])
    out["heldout5"] = statistics.fmean(held)
    out["heldout3"] = statistics.fmean(held[:3])
    out["heldout0"] = held[0]
    out["curse"] = out["confirm_mean"] - out["heldout5"]
    out["best_trial_heldout3"] = statistics.fmean(rec["best_trial"]["heldout_old"])
    out["best_trial_curse"] = rec["best_trial"]["value"] - out["best_trial_heldout3"]
    return out


def _tests(recs: dict[str, list[dict[str, Any]]], keys: tuple[str, ...]) -> dict[str, Any]:
    from scipy.stats import wilcoxon

    c = [_metrics(r) for r in recs["reinforce"]]
    r = [_metrics(x) for x in recs["random"]]
    n = min(len(c), len(r))
    out: dict[str, Any] = {}
    for key in keys:
        a, b = [m[key] for m in c[:n]], [m[key] for m in r[:n]]
        if n < 2:
            continue
        diffs = [x - y for x, y in zip(a, b, strict=True)]
        out[key] = {"diff": 100 * statistics.fmean(diffs), "p": _pvalue(a, b),
                    "wins": sum(d > 0 for d in diffs), "n": n,
                    "p_wilcoxon": float(wilcoxon(a, b, alternative="greater").pvalue)
                    if any(diffs) else float("nan")}
    return out


def run(args: argparse.Namespace) -> Report:
    quick = bool(args.quick)
    setup = _setup(quick, 5)
    budget = 8 if quick else args.budget
    top, trainings = (2, 1) if quick else (args.top, args.trainings)
    pairs = 1 if quick else args.pairs
    first = 0 if quick else args.first_pair
    pilot_pairs = 0 if quick else args.pilot_pairs
    trainings_path = (args.results_dir / "nas_mnist1d_confirm_quick_trainings.jsonl" if quick
                      else TRAININGS_FILE)
    live_path = (args.results_dir / "nas_mnist1d_confirm_quick_live.jsonl" if quick
                 else LIVE_FILE)
    table = Table(setup, trainings_path)
    records = {} if quick else _old_records(setup, budget)
    cached = _seed_cache(table, records)
    settings = CANDIDATES[DEFAULT_CANDIDATE]
    raw: dict[str, Any] = {"setup": setup, "space_size": space_size(setup["space"]),
                           "controller": {"name": DEFAULT_CANDIDATE, **CONTROLLER, **settings},
                           "budget": budget, "top": top, "trainings": trainings,
                           "heldout": HELDOUT, "first_seed": FIRST_SEED,
                           "cached_from_old_searches": cached}
    collect_only = bool(getattr(args, "collect_only", False))
    if pilot_pairs and not collect_only:
        raw["pilot"] = _pilot(table, records, pilot_pairs, budget)
    done: dict[str, Any] = {}
    if live_path.exists():
        for line in live_path.read_text().splitlines():
            row = json.loads(line)
            done[_key(row["key"])] = row["record"]
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in METHODS}
    stop = _stop_time(args.stop_at)
    pair_seconds: list[float] = []
    reused, stopped = 0, False
    for s in range(first, first + pairs):
        seed = SEARCH_SEED + s
        keys = {m: {"setup": setup, "budget": budget, "top": top, "trainings": trainings,
                    "method": m, "seed": seed, "heldout": list(HELDOUT),
                    "settings": settings if m == "reinforce" else {}} for m in METHODS}
        missing = [m for m in METHODS if _key(keys[m]) not in done]
        if missing and stop is not None and pair_seconds and \
                time.time() + statistics.fmean(pair_seconds) > stop:
            stopped = True
            break
        if missing and stop is not None and time.time() > stop:
            stopped = True
            break
        started = time.perf_counter()
        for method in METHODS:
            rec = done.get(_key(keys[method]))
            if rec is None:
                rec = _search(method, seed, budget, top, trainings, setup, table, settings)
                live_path.parent.mkdir(parents=True, exist_ok=True)
                with live_path.open("a") as fh:
                    fh.write(json.dumps({"key": keys[method], "record": rec}) + "\n")
            else:
                reused += 1
            runs[method].append(rec)
        if missing:
            pair_seconds.append(time.perf_counter() - started)
        print(f"pair {s - first + 1}/{pairs} (seed {seed}) done", flush=True)
    if collect_only:
        n_done = min(len(runs["reinforce"]), len(runs["random"]))
        print(f"collect-only: {n_done} of {pairs} pairs in {live_path}"
              + (" (stopped by --stop-at)" if stopped else "") + "; no report written",
              flush=True)
        raise SystemExit(0)
    raw.update(runs=runs, reused=reused, stopped_early=stopped,
               pairs_done=min(len(runs["reinforce"]), len(runs["random"])))
    if not quick and raw["pairs_done"] != DECLARED_PAIRS:
        # The stopping rule: no table, no test before the declared number of pairs.
        del raw["runs"]
        return Report(f"NAS on mnist1d, macro space: REINFORCE vs random, {budget} trainings "
                      f"with the top {top} re-trained {trainings}x (confirm_top): INCOMPLETE",
                      ["pairs done", "pairs declared"], [[raw["pairs_done"], DECLARED_PAIRS]],
                      notes=[f"Incomplete: {raw['pairs_done']} of the {DECLARED_PAIRS} "
                             "declared pairs are done"
                             + (" (stopped by --stop-at)" if stopped else "") + ". By the "
                             "stopping rule fixed in advance (module docstring), no result "
                             "is reported before all declared pairs are in; continue with "
                             f"`--pairs {DECLARED_PAIRS} --collect-only`.",
                             f"History: {HISTORY}"], raw=raw)
    raw["tests"] = _tests(runs, ("heldout5", "heldout3", "heldout0", "best_trial_heldout3",
                                 "last16"))
    children = budget - top * trainings
    checkpoints = [n for n in sorted({*CHECKPOINTS, children}) if n <= children]
    header = ["method", "runs", *[f"best@{n}" for n in checkpoints], "mean of last 16 children",
              "returned: mean of its trainings",
              f"returned, held-out seeds {', '.join(map(str, HELDOUT))} (headline)",
              "held-out 0, 100, 101", "held-out 0", "best single training's arch, held-out "
              "0, 100, 101", "s per search"]
    rows = []
    for method in METHODS:
        ms = [_metrics(x) for x in runs[method]]
        if not ms:
            continue
        rows.append([method, len(ms), *[_mean_sd([m[f"best@{n}"] for m in ms])
                                        for n in checkpoints],
                     *[_mean_sd([m[k] for m in ms]) for k in (
                         "last16", "confirm_mean", "heldout5", "heldout3", "heldout0",
                         "best_trial_heldout3")],
                     f"{statistics.fmean(x['seconds'] for x in runs[method]):.0f}"])
    notes = [
        f"Protocol (fixed before the comparison): {budget} trainings = {children} children "
        f"proposed by the sampler + autolearn.nas.confirm_top(top={top}, trainings="
        f"{trainings}); the returned architecture is the candidate with the best mean over "
        f"its {1 + trainings} trainings. Headline: its mean over held-out training seeds "
        f"{HELDOUT} (never seen by a search). Same space, children and controller "
        f"({DEFAULT_CANDIDATE}, not re-tuned) as nas_mnist1d_macro.",
        f"Reported pairs: sampler seeds {SEARCH_SEED + first}+; {raw['pairs_done']} pairs"
        + (" (stopped by --stop-at)" if stopped else "") + f"; {reused} searches read back "
        f"from the live file; {cached} trainings of the old benchmark's searches used as a "
        "cache (seeds 3006-3015 re-run their first children from it).",
    ]
    old_path = RESULTS / "nas_mnist1d_macro.json"
    if not quick and old_path.exists():
        old = json.loads(old_path.read_text())["raw"]
        ot = old["tests"]
        raw["old_protocol"] = {"pairs": len(old["runs"]["reinforce"]), "tests": ot}
        notes.append(
            f"Old protocol (nas_mnist1d_macro, {raw['old_protocol']['pairs']} pairs, sampler "
            f"seeds {SEARCH_SEED}+, 64 children, best single training returned): "
            f"{ot['reeval_multi']['diff']:+.2f} points on held-out seeds 0/100/101 (p = "
            f"{ot['reeval_multi']['p']:.3g}), {ot['reeval_best_trial']['diff']:+.2f} on seed 0 "
            f"(p = {ot['reeval_best_trial']['p']:.3g}), last 16 samples "
            f"{ot['last16']['diff']:+.2f} (p = {ot['last16']['p']:.3g}).")
    pilot = raw.get("pilot")
    if pilot and pilot["by_protocol"]:
        notes.append(
            f"Pilot ({len(pilot['rows']) // 2} pairs, sampler seeds {SEARCH_SEED}-"
            f"{SEARCH_SEED + pilot_pairs - 1}, not reported below; held-out mean of seeds "
            f"{HELDOUT_OLD}, controller / random / difference): "
            + "; ".join(f"{name} {100 * v['reinforce']:.2f} / {100 * v['random']:.2f} / "
                        f"{100 * v['diff']:+.2f}" for name, v in pilot["by_protocol"].items())
            + ". best_trial64 is the old protocol (best single training of 64 children).")
    t = raw["tests"]
    if "heldout5" in t:
        h = t["heldout5"]
        notes.append(
            f"controller - random, returned architecture on held-out seeds {HELDOUT}: "
            f"{h['diff']:+.2f} points (one-sided Mann-Whitney U p = {h['p']:.3g}; paired "
            f"Wilcoxon p = {h['p_wilcoxon']:.3g}; controller ahead in {h['wins']} of {h['n']} "
            f"pairs). Held-out 0/100/101: {t['heldout3']['diff']:+.2f} (p = "
            f"{t['heldout3']['p']:.3g}); held-out 0 only: {t['heldout0']['diff']:+.2f} (p = "
            f"{t['heldout0']['p']:.3g}); the same searches' best single training's "
            f"architecture (old rule) on 0/100/101: {t['best_trial_heldout3']['diff']:+.2f} "
            f"(p = {t['best_trial_heldout3']['p']:.3g}); mean of the last 16 children "
            f"{t['last16']['diff']:+.2f} (p = {t['last16']['p']:.3g}).")
        if not quick:
            notes.append(
                f"Stopping rule (fixed in advance): final analysis at {DECLARED_PAIRS} pairs, "
                f"success if the one-sided Mann-Whitney U p < {ALPHA}: "
                + ("met" if h["p"] < ALPHA else "missed") + f" (p = {h['p']:.3g}).")
        curse = {m: statistics.fmean(_metrics(x)["curse"] for x in runs[m]) for m in METHODS}
        old = {m: statistics.fmean(_metrics(x)["best_trial_curse"] for x in runs[m])
               for m in METHODS}
        notes.append(
            "Winner's curse (the returned architecture's search estimate minus its held-out "
            f"mean): confirmed pick {100 * curse['reinforce']:.2f} (controller) / "
            f"{100 * curse['random']:.2f} (random) points; best single training "
            f"{100 * old['reinforce']:.2f} / {100 * old['random']:.2f}.")
    if not quick:
        notes.append(f"History: {HISTORY}")
    return Report(f"NAS on mnist1d, macro space: REINFORCE vs random, {budget} trainings with "
                  f"the top {top} re-trained {trainings}x (confirm_top)",
                  header, rows, notes=notes, raw=raw)
