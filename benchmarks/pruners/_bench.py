"""Pruners side by side with Optuna's on precomputed learning curves.

A study's objective picks a configuration with ``suggest_categorical`` over a table's space
and "trains" it by reading its validation curve epoch by epoch: it reports the accuracy
after epoch ``e`` at step ``e`` (1-based, so a step is the epochs consumed) and stops when
the pruner says so. It does not ask the pruner after the last epoch (nothing is left to
save then), so a trial that trains all ``R`` epochs is COMPLETE. Each report costs one
epoch; a callback stops the study once the epoch budget is spent (the same for both
libraries). The incumbent is the best COMPLETE trial's final accuracy, i.e. the best
fully trained configuration found so far.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import Report
from benchmarks.pruners._tables import CurveTable, load_table, synthetic_table

__all__ = ["DESCRIPTION", "METHODS", "Record", "add_arguments", "run", "run_study"]

DESCRIPTION = ("pruners (median, ASHA, Hyperband, BOHB) vs Optuna's on tabulated learning "
               "curves: incumbent vs epochs, medians over seeds")

PROBLEMS = ("mlp_mnist1d", "mlp_digits", "sgd_digits")
#: Checkpoints of the main table, as fractions of the epoch budget.
CHECKPOINTS = (1 / 9, 1 / 3, 2 / 3, 1.0)
CHECKPOINT_NAMES = ("1/9", "1/3", "2/3", "all")
#: The plot-free anytime table's grid.
ANYTIME = tuple(k / 9 for k in range(1, 10))


@dataclass(frozen=True)
class Method:
    key: str        # pruner/sampler combination
    library: str    # "autolearn" | "optuna"
    label: str


METHODS: tuple[Method, ...] = (
    Method("random", "autolearn", "autolearn random search (no pruning)"),
    Method("random", "optuna", "Optuna random search (no pruning)"),
    Method("median", "autolearn", "autolearn Median"),
    Method("median", "optuna", "Optuna Median"),
    Method("asha", "autolearn", "autolearn ASHA"),
    Method("asha", "optuna", "Optuna SuccessiveHalving"),
    Method("hyperband", "autolearn", "autolearn Hyperband"),
    Method("hyperband", "optuna", "Optuna Hyperband"),
    Method("bohb", "autolearn", "autolearn BOHB"),
    Method("tpe_hyperband", "optuna", "Optuna TPE + Hyperband"),
    # One SMAC3 run gives both rows: the facade retrains a promoted configuration from
    # scratch (its documented target-function contract), "resumed" charges only the extra
    # epochs, as if the user had checkpointed the shorter run.
    Method("smac_mf", "smac", "SMAC3 multi-fidelity (Hyperband, retrains from scratch)"),
    Method("smac_mf", "smac", "SMAC3 multi-fidelity, resumed epochs"),
)


DEFAULT_METHODS = ("random", "median", "asha", "hyperband", "bohb", "tpe_hyperband", "smac_mf")
#: Which row a row is compared with: the other library's same pruner; BOHB and Optuna's
#: TPE + Hyperband with their own library's Hyperband under random sampling.
COUNTERPART: dict[tuple[str, str], tuple[str, str]] = {
    **{(k, "autolearn"): (k, "optuna") for k in ("random", "median", "asha", "hyperband")},
    ("bohb", "autolearn"): ("hyperband", "autolearn"),
    ("tpe_hyperband", "optuna"): ("hyperband", "optuna"),
    # SMAC3's facade (random forest + Hyperband) against our model-based multi-fidelity.
    ("smac_mf", "smac"): ("bohb", "autolearn"),
}
SMAC_SCRATCH, SMAC_RESUMED = (m.label for m in METHODS if m.key == "smac_mf")


def _bohb_factory() -> Callable[..., tuple[Any, Any]] | None:
    """autolearn's BOHB (sampler, pruner) maker, if this checkout has one."""
    import autolearn

    for owner in (autolearn.samplers, autolearn.pruners):
        if hasattr(owner, "bohb"):
            return owner.bohb  # type: ignore[no-any-return]
    if hasattr(autolearn.samplers, "BOHBSampler"):
        sampler_cls = autolearn.samplers.BOHBSampler

        def make(*, max_resource: int, min_resource: int, reduction_factor: int,
                 seed: int) -> tuple[Any, Any]:
            return sampler_cls(seed=seed), autolearn.pruners.HyperbandPruner(
                min_resource=min_resource, max_resource=max_resource,
                reduction_factor=reduction_factor)

        return make
    return None


def available(method: Method) -> bool:
    if method.library == "smac":
        import importlib.util

        return importlib.util.find_spec("smac") is not None
    return method.key != "bohb" or _bohb_factory() is not None


def _sampler_and_pruner(method: Method, seed: int, n_epochs: int) -> tuple[Any, Any]:
    if method.library == "autolearn":
        import autolearn as lib

        pruners: Any = lib.pruners
        random = lib.samplers.RandomSampler(seed=seed)
    else:
        import optuna as lib  # type: ignore[no-redef]

        pruners = lib.pruners
        random = lib.samplers.RandomSampler(seed=seed)
    if method.key == "random":
        return random, pruners.NopPruner()
    if method.key == "median":
        return random, pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    if method.key == "asha":
        return random, pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    hyperband = {"min_resource": 1, "max_resource": n_epochs, "reduction_factor": 3}
    if method.key == "hyperband":
        return random, pruners.HyperbandPruner(**hyperband)
    if method.key == "tpe_hyperband":  # Optuna's documented multi-fidelity combination
        import optuna

        return optuna.samplers.TPESampler(seed=seed), pruners.HyperbandPruner(**hyperband)
    if method.key == "bohb":
        factory = _bohb_factory()
        if factory is None:
            raise RuntimeError("autolearn has no BOHB yet")
        return factory(seed=seed, **hyperband)
    raise ValueError(f"unknown method {method.key!r}")


@dataclass(frozen=True)
class Record:
    """One study: per trial, in order, the epochs consumed so far when it ended, whether it
    trained all epochs (COMPLETE), and its accuracy at the last epoch it trained."""

    epochs: np.ndarray     # (n_trials,) cumulative, increasing
    complete: np.ndarray   # (n_trials,) bool
    value: np.ndarray      # (n_trials,)
    seconds: float

    def incumbent(self, at_epochs: float) -> float:
        """Best COMPLETE value among trials that ended within ``at_epochs``; -inf if none."""
        ok = self.complete & (self.epochs <= at_epochs + 1e-9)
        return float(self.value[ok].max()) if ok.any() else -math.inf

    def epochs_to_reach(self, target: float) -> float:
        """Epochs consumed when a COMPLETE trial first reached ``target``; inf if never."""
        hit = np.flatnonzero(self.complete & (self.value >= target - 1e-12))
        return float(self.epochs[hit[0]]) if hit.size else math.inf


def _is_ordinal(choices: Sequence[Any]) -> bool:
    """Numeric choices (not bools): their order means something to a model-based sampler."""
    return all(isinstance(c, int | float) and not isinstance(c, bool) for c in choices)


def run_study(method: Method, table: CurveTable, seed: int, budget: int,
              encoding: str = "ordinal") -> Record:
    """Run one study until ``budget`` epochs are consumed; see the module docstring.

    ``encoding="ordinal"`` asks numeric grids as an integer index ``0..n-1`` (so a
    sampler can learn that neighbouring learning rates behave alike) and strings as
    categorical; ``"categorical"`` asks every parameter with ``suggest_categorical``.
    """
    if method.library == "autolearn":
        import autolearn as lib
    else:
        import optuna as lib  # type: ignore[no-redef]
    sampler, pruner = _sampler_and_pruner(method, seed, table.n_epochs)
    study = lib.create_study(direction="maximize", sampler=sampler, pruner=pruner,
                             study_name=f"{table.name}-{method.key}-{seed}")
    curves, n_epochs, space = table.curves, table.n_epochs, table.space
    consumed = [0]
    epochs: list[int] = []
    complete: list[bool] = []
    values: list[float] = []

    def objective(trial: Any) -> float:
        params = {
            name: choices[trial.suggest_int(name, 0, len(choices) - 1)]
            if encoding == "ordinal" and _is_ordinal(choices)
            else trial.suggest_categorical(name, list(choices))
            for name, choices in space}
        curve = curves[table.index(params)]
        for e in range(1, n_epochs + 1):
            consumed[0] += 1
            value = float(curve[e - 1])
            trial.report(value, e)
            if e < n_epochs and trial.should_prune():
                epochs.append(consumed[0])
                complete.append(False)
                values.append(value)
                raise lib.TrialPruned()
        epochs.append(consumed[0])
        complete.append(True)
        values.append(float(curve[-1]))
        return float(curve[-1])

    def stop_when_spent(study: Any, trial: Any) -> None:
        if consumed[0] >= budget:
            study.stop()

    t0 = time.perf_counter()
    study.optimize(objective, n_trials=budget, callbacks=[stop_when_spent])
    return Record(np.array(epochs), np.array(complete, dtype=bool), np.array(values),
                  time.perf_counter() - t0)


def run_smac_mf(table: CurveTable, seed: int, budget: int,
                encoding: str = "ordinal") -> tuple[Record, Record]:
    """SMAC3's ``MultiFidelityFacade`` (random forest, Hyperband with eta 3 between 1 and
    ``R`` epochs) driven through its ask/tell interface until ``budget`` epochs are spent.

    Every evaluation reads the curve at the budget SMAC asks for. Returns two accountings
    of the same run: ``from scratch`` (an evaluation at budget ``b`` costs ``b`` epochs,
    as SMAC's target-function contract implies) and ``resumed`` (it costs ``b`` minus the
    largest budget the configuration was already trained to). The run goes on until the
    cheaper (resumed) accounting has spent the budget; the from-scratch record is cut at
    the trial that spent it. When SMAC finds no unseen configuration any more it raises
    ``ConfigurationSpaceExhaustedException``; the study ends there, budget left unspent.
    """
    import shutil
    import tempfile

    from ConfigSpace import Categorical, ConfigurationSpace, Integer
    from smac import MultiFidelityFacade, Scenario
    from smac.intensifier.hyperband import Hyperband
    from smac.main.exceptions import ConfigurationSpaceExhaustedException
    from smac.runhistory.dataclasses import TrialValue

    R = table.n_epochs
    cs = ConfigurationSpace(seed=seed)
    ordinal = {name: encoding == "ordinal" and _is_ordinal(choices)
               for name, choices in table.space}
    for name, choices in table.space:
        cs.add(Integer(name, (0, len(choices) - 1)) if ordinal[name]
               else Categorical(name, [str(c) for c in choices]))

    def never_called(config: Any, seed: int = 0, budget: float = 1.0) -> float:
        raise RuntimeError("driven by ask/tell")

    out = tempfile.mkdtemp(prefix="smac3-")
    t0 = time.perf_counter()
    try:
        scenario = Scenario(cs, deterministic=True, n_trials=10**7, min_budget=1,
                            max_budget=R, seed=seed, output_directory=Path(out))
        # SMAC gives up after `retries` already-seen proposals in one round (default 16),
        # which on a few hundred configurations ends a study with half of them unseen;
        # allowing as many retries as there are configurations keeps it going until the
        # space is really exhausted.
        selector = MultiFidelityFacade.get_config_selector(
            scenario, retries=int(table.curves.shape[0]))
        smac = MultiFidelityFacade(
            scenario, never_called, intensifier=Hyperband(scenario, eta=3),
            config_selector=selector, overwrite=True, logging_level=logging.ERROR)
        trained: dict[int, int] = {}
        scratch = resumed = 0
        rows: list[tuple[int, int, bool, float]] = []
        while resumed < budget:
            try:
                info = smac.ask()
            except ConfigurationSpaceExhaustedException:
                break
            assert info.budget is not None  # the Hyperband intensifier sets one
            b = min(R, max(1, int(round(info.budget))))
            params = {name: choices[int(info.config[name])] if ordinal[name]
                      else choices[[str(c) for c in choices].index(info.config[name])]
                      for name, choices in table.space}
            row = table.index(params)
            value = float(table.curves[row, b - 1])
            scratch += b
            resumed += b - min(b, trained.get(row, 0))
            trained[row] = max(b, trained.get(row, 0))
            rows.append((scratch, resumed, b == R, value))
            smac.tell(info, TrialValue(cost=1.0 - value))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    seconds = time.perf_counter() - t0
    arr = np.array([r[:2] for r in rows], dtype=float).reshape(-1, 2)
    complete = np.array([r[2] for r in rows], dtype=bool)
    values = np.array([r[3] for r in rows], dtype=float)
    # The from-scratch study ends with the trial that spent the budget.
    n = int(np.searchsorted(arr[:, 0], budget, side="left")) + 1 if len(rows) else 0
    n = min(n, len(rows))
    return (Record(arr[:n, 0], complete[:n], values[:n], seconds),
            Record(arr[:, 1], complete, values, seconds))


def _seed_job(job: tuple[CurveTable, int, int, list[Method], str]) -> dict[str, Record]:
    """Every method once with one seed (a worker process's unit of work)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("autolearn").setLevel(logging.WARNING)
    table, seed, budget, methods, encoding = job
    # Alternate which library goes first, so both see the same machine noise.
    order = methods if seed % 2 == 0 else sorted(methods, key=lambda m: m.library != "optuna")
    out: dict[str, Record] = {}
    for m in order:
        if m.library == "smac":
            if m.label not in out:
                out[SMAC_SCRATCH], out[SMAC_RESUMED] = run_smac_mf(table, seed, budget, encoding)
        else:
            out[m.label] = run_study(m, table, seed, budget, encoding)
    return {m.label: out[m.label] for m in methods}


def _anytime_mean(recs: Sequence[Record], budget: int) -> list[float]:
    """Per seed: the incumbent averaged over the anytime grid (area under the curve)."""
    return [float(np.mean([max(r.incumbent(f * budget), 0.0) for f in ANYTIME])) for r in recs]


def _mann_whitney(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value (NaN with fewer than 2 values a side)."""
    if len(a) < 2 or len(b) < 2:
        return math.nan
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def _median(xs: Sequence[float]) -> float:
    """Median that keeps +-inf (never reached / no incumbent yet) as such."""
    return float(np.median(np.asarray(xs, dtype=float))) if len(xs) else math.nan


def _pct(v: float) -> Any:
    return "none yet" if v == -math.inf else 100.0 * v


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--problems", default=",".join(PROBLEMS),
                        help=f"tables in benchmarks/pruners/data (default {','.join(PROBLEMS)})")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per method (default 10)")
    parser.add_argument("--budget", type=int, default=100,
                        help="epoch budget per study, in full trainings (default 100: 100*R "
                             "epochs)")
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                        help="comma-separated method keys "
                             f"({','.join(dict.fromkeys(m.key for m in METHODS))}); default "
                             f"{','.join(DEFAULT_METHODS)}")
    parser.add_argument("--encoding", choices=("ordinal", "categorical"), default="ordinal",
                        help="how numeric grids are asked: an integer index 0..n-1 (default; "
                             "their order is visible to model-based samplers) or categorical")
    parser.add_argument("--workers", type=int, default=2,
                        help="processes running seeds side by side (default 2); only epochs "
                             "are measured, so this does not change the results")


def run(args: argparse.Namespace) -> Report:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("autolearn").setLevel(logging.WARNING)
    if args.quick:
        tables = [synthetic_table(seed=0)]
        n_seeds, budget_trainings = 2, 20
    else:
        tables = [load_table(p) for p in args.problems.split(",")]
        n_seeds, budget_trainings = args.seeds, args.budget
    keys = set(args.methods.split(","))
    methods = [m for m in METHODS if m.key in keys]
    runnable = [m for m in methods if available(m)]

    header = ["problem", "method", "trials (median)",
              *[f"incumbent at {c} of budget (%)" for c in CHECKPOINT_NAMES],
              "epochs to reach random search's final best (median)",
              "÷ budget (goal <= 1/3 for ASHA, Hyperband)",
              "÷ random search's own epochs to reach it",
              "epochs to reach the table's best (median)",
              "counterpart", "Δ vs counterpart at 1/3 (points)",
              "Δ vs counterpart at all (points)", "p (anytime mean, Mann-Whitney)"]
    rows: list[list[Any]] = []
    anytime_rows: list[list[Any]] = []
    raw: dict[str, Any] = {"budget_trainings": budget_trainings, "seeds": n_seeds,
                           "problems": {}}
    notes: list[str] = []

    for table in tables:
        R = table.n_epochs
        budget = budget_trainings * R
        records: dict[str, list[Record]] = {m.label: [] for m in runnable}
        jobs = [(table, seed, budget, runnable, args.encoding) for seed in range(n_seeds)]
        if args.workers > 1 and not args.quick:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=args.workers) as pool:
                results = list(pool.map(_seed_job, jobs))
        else:
            results = [_seed_job(j) for j in jobs]
        for res in results:
            for label, rec in res.items():
                records[label].append(rec)
        grid_cp = [c * budget for c in CHECKPOINTS]
        inc = {lab: [[r.incumbent(e) for r in recs] for e in grid_cp]
               for lab, recs in records.items()}
        med = {lab: [_median(v) for v in vals] for lab, vals in inc.items()}
        # Target of seed s: the final best of the same library's random search, seed s.
        rs_final = {lib: [r.incumbent(budget) for r in records[m.label]]
                    for m in runnable if m.key == "random" for lib in [m.library]}
        prob_raw: dict[str, Any] = {"n_epochs": R, "budget_epochs": budget,
                                    "n_configs": int(table.curves.shape[0]),
                                    "table_best_final": float(table.curves[:, -1].max()),
                                    "random_search_final_best": rs_final,
                                    "meta": table.meta, "methods": {}}
        for m in methods:
            if m not in runnable:
                rows.append([table.name, m.label, "not installed" if m.library == "smac"
                             else "not available yet", *[""] * 12])
                continue
            recs = records[m.label]
            # SMAC3 has no random-search row here: its targets are autolearn's random search.
            target_lib = m.library if m.library in rs_final else "autolearn"
            targets = rs_final.get(target_lib, [math.nan] * len(recs))
            reach = _median([r.epochs_to_reach(t) for r, t in zip(recs, targets, strict=True)])
            rs = next((o for o in runnable if o.key == "random" and o.library == target_lib),
                      None)
            rs_reach = math.nan if rs is None else _median(
                [r.epochs_to_reach(t) for r, t in zip(records[rs.label], targets, strict=True)])
            top = _median([r.epochs_to_reach(float(table.curves[:, -1].max())) for r in recs])
            other = next((o for o in runnable if (o.key, o.library) == COUNTERPART.get(
                (m.key, m.library))), None)
            d13: Any = ""
            dall: Any = ""
            p_any: Any = ""
            if other is not None:
                d13 = 100 * (med[m.label][1] - med[other.label][1])
                dall = 100 * (med[m.label][-1] - med[other.label][-1])
                p_any = _mann_whitney(_anytime_mean(recs, budget),
                                      _anytime_mean(records[other.label], budget))
            rows.append([
                table.name, m.label, _median([len(r.epochs) for r in recs]),
                *[_pct(v) for v in med[m.label]],
                "not reached" if reach == math.inf else reach,
                "n/a" if reach == math.inf else f"{reach / budget:.2f}",
                "n/a" if reach == math.inf or rs_reach != rs_reach else f"{reach / rs_reach:.2f}",
                "not reached" if top == math.inf else top,
                "" if other is None else other.label, d13, dall, p_any,
            ])
            anytime_rows.append([table.name, m.label, *[
                _pct(_median([r.incumbent(f * budget) for r in recs])) for f in ANYTIME]])
            grid = [k * budget / 27 for k in range(1, 28)]
            prob_raw["methods"][m.label] = {
                "trials": [len(r.epochs) for r in recs],
                "pruned": [int((~r.complete).sum()) for r in recs],
                "seconds": [round(r.seconds, 3) for r in recs],
                "incumbent_every_budget_over_27": [
                    [round(r.incumbent(e), 5) for e in grid] for r in recs],
                "epochs_to_reach_random_search_final_best": [
                    r.epochs_to_reach(t) for r, t in zip(recs, targets, strict=True)],
                "epochs_to_reach_table_best": [
                    r.epochs_to_reach(float(table.curves[:, -1].max())) for r in recs],
            }
        raw["problems"][table.name] = prob_raw
        notes.append(
            f"{table.name}: {table.curves.shape[0]} configurations x {R} epochs "
            f"({table.meta.get('description', 'synthetic')}); budget {budget:,} epochs "
            f"(= {budget_trainings} full trainings); best final accuracy in the table "
            f"{100 * table.curves[:, -1].max():.1f} %; random search's final best (median over "
            "seeds) "
            + ", ".join(f"{lib} {100 * _median(t):.1f} %" for lib, t in rs_final.items()))
    notes += [
        f"Medians over {n_seeds} seeds. 'Epochs to reach random search's final best': for "
        "seed s, the epochs a method consumed until a COMPLETE trial first reached the final "
        "best of its own library's random search with seed s; the median over seeds ('not "
        "reached' when the median seed never got there within the budget). For random search "
        "itself it is when it found its final best.",
        "Incumbent = best COMPLETE trial (trained all R epochs), its final validation "
        "accuracy. Pruned trials do not count, however good their last report.",
        "'÷ random search's own epochs to reach it': the median above divided by random "
        "search's median epochs to find its final best (a stricter reading of the goal than "
        "÷ budget, since random search may find its final best before the budget ends).",
        "Δ vs counterpart: this row's median minus the counterpart's, in accuracy points, at "
        "equal epochs (autolearn vs Optuna with the same pruner and the random sampler; BOHB "
        "and Optuna's TPE + Hyperband vs their library's Hyperband with random sampling). "
        "p: two-sided Mann-Whitney U test between the two rows' per-seed anytime means "
        "(the incumbent averaged over the 9 points of the anytime table); the seeds are not "
        "paired (the libraries draw different configurations from the same seed).",
        "SMAC3: `MultiFidelityFacade` (random-forest model, Hyperband intensifier with eta 3 "
        "from 1 to R epochs, `deterministic=True`, its defaults otherwise) through ask/tell; "
        "the same integer/categorical encoding as the other rows. SMAC evaluates a promoted "
        "configuration again at the larger budget, so its first row charges every evaluation "
        "its full budget (what its target-function contract implies), the second only the "
        "epochs beyond what the configuration was already trained to (as if checkpointed); "
        "both rows come from the same runs. Its 'epochs to reach random search's final best' "
        "uses autolearn's random search (same seed) as the target; Δ and p compare it with "
        "autolearn BOHB (Δ = SMAC3 minus BOHB). SMAC's config selector gets as many retries "
        "as the table has configurations (its default, 16, ended studies with "
        "ConfigurationSpaceExhaustedException after about half of the space); a run that "
        "really exhausts the space (SMAC proposes only unseen configurations) ends early, "
        "its budget unspent.",
        "Anytime table (median incumbent, % validation accuracy, at k/9 of the budget):\n\n"
        + _markdown(["problem", "method", *[f"{k}/9" for k in range(1, 10)]], anytime_rows),
    ]
    return Report(title=f"Pruners vs Optuna on tabulated learning curves "
                        f"({budget_trainings} full trainings of budget, {n_seeds} seeds)",
                  header=header, rows=rows, notes=notes, raw=raw)


def _markdown(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    from benchmarks._common import markdown_table

    return markdown_table(header, rows)
