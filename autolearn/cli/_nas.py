"""``autolearn nas ...``: search an architecture space, export the best architecture,
retrain it larger.

Example:
    $ autolearn nas search --space nasnet --data mnist1d --budget 64 --storage sqlite:///nas.db
    $ autolearn nas export --storage sqlite:///nas.db --study-name nas-nasnet-mnist1d \\
          --out best.json
    $ autolearn nas retrain best.json --data mnist1d --cells 2 --filters 16 --epochs 10
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from autolearn.cli._common import JsonOpt, StorageOpt, add_group, emit_json, fail, load_study

__all__ = ["register"]


class Space(enum.StrEnum):
    """Architecture spaces selectable from the command line."""

    macro = "macro"
    mlp = "mlp"
    nasnet = "nasnet"
    nb201 = "nb201"


class Sampler(enum.StrEnum):
    """Searchers selectable from the command line."""

    reinforce = "reinforce"
    ppo = "ppo"
    evolution = "evolution"
    random = "random"
    tpe = "tpe"


class Repeats(enum.StrEnum):
    """What a repeated architecture costs and gives (``ChildObjective(repeats=...)``)."""

    cache = "cache"
    retrain = "retrain"
    same_seed = "same_seed"


class Rule(enum.StrEnum):
    """How the exported architecture is chosen (``best_architecture(rule=...)``)."""

    best_trial = "best_trial"
    mean = "mean"
    shrunk = "shrunk"


RuleOpt = Annotated[Rule, typer.Option(help="Which architecture to report/export: "
                                       "best_trial (its best training), mean (of its "
                                       "trainings), or shrunk (that mean shrunk toward the "
                                       "study's mean).")]


class Data(enum.StrEnum):
    """Built-in datasets."""

    mnist1d = "mnist1d"
    digits = "digits"
    iris = "iris"
    wine = "wine"
    breast_cancer = "breast_cancer"


StudyNameOpt = Annotated[str | None, typer.Option(
    "--study-name", "--study", help="Study name (search default: nas-SPACE-DATA).")]
ThreadsOpt = Annotated[int | None, typer.Option(
    "--threads", min=1, help="torch CPU threads (children are small: one thread is fastest "
    "on a shared machine).")]
SizeOpt = Annotated[list[str] | None, typer.Option(
    "--size", help="Size override key=value (JSON value), e.g. cells=2; repeatable.")]


def _parse_kv(items: list[str], option: str) -> dict[str, Any]:
    """``["cells=2", "width=1.5"]`` -> ``{"cells": 2, "width": 1.5}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            fail(f"{option} takes key=value, but got {item!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def _size(sizes: list[str] | None, cells: int | None, filters: int | None) -> dict[str, Any]:
    size = _parse_kv(sizes or [], "--size")
    if cells is not None:
        size["cells"] = cells
    if filters is not None:
        size["filters"] = filters
    return size


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _data_kwargs(n_train: int | None, n_val: int | None) -> dict[str, Any] | None:
    kwargs = {k: v for k, v in (("n_train", n_train), ("n_val", n_val)) if v is not None}
    return kwargs or None


def search(
    storage: StorageOpt,
    space: Annotated[Space, typer.Option(help="Architecture space.")] = Space.nasnet,
    data: Annotated[Data, typer.Option(help="Dataset.")] = Data.mnist1d,
    budget: Annotated[int, typer.Option(min=1, help="Children in the study in total "
                                        "(a resumed study runs the rest).")] = 64,
    sampler: Annotated[Sampler, typer.Option(help="Searcher.")] = Sampler.reinforce,
    study_name: StudyNameOpt = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs per child "
                                               "(default 3).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default 3e-3).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler.")] = 0,
    n_train: Annotated[int | None, typer.Option(min=1, help="Training examples (mnist1d "
                                                "default 1000).")] = None,
    n_val: Annotated[int | None, typer.Option(min=1, help="Validation examples.")] = None,
    sizes: SizeOpt = None,
    cells: Annotated[int | None, typer.Option(min=1, help="NASNet: cells per stage (N).")]
    = None,
    filters: Annotated[int | None, typer.Option(min=1, help="NASNet: initial filters (F; "
                                                "search default 8).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress",
                                           help="Show a progress bar on stderr.")] = False,
    repeats: Annotated[Repeats, typer.Option(help="A repeated architecture: cache (reuse "
                                             "its score), retrain (train again with the "
                                             "next seed) or same_seed.")] = Repeats.cache,
    confirm_top: Annotated[int, typer.Option(
        min=0, help="Spend the last confirm-top x confirm-trainings trainings of the budget "
        "re-training the confirm-top best architectures (needs --repeats retrain); the "
        "report then picks among those, by --rule (best_trial counts as mean there).")] = 0,
    confirm_trainings: Annotated[int, typer.Option(
        min=1, help="Re-trainings of each confirmed architecture.")] = 2,
    rule: RuleOpt = Rule.best_trial,
    threads: ThreadsOpt = 1,
    json_output: JsonOpt = False,
) -> None:
    """Search an architecture space; children are trained and scored on validation data.

    Re-running with the same --storage and --study-name resumes the study: only the
    remaining budget runs.
    """
    import dataclasses

    from autolearn.cli._common import open_storage
    from autolearn.nas import search as nas_search
    from autolearn.nas._search import SEARCH_TRAIN

    _set_threads(threads)
    changes: dict[str, Any] = {k: v for k, v in (("epochs", epochs), ("lr", lr))
                               if v is not None}
    train = dataclasses.replace(SEARCH_TRAIN, **changes)
    size = _size(sizes, cells, filters)
    study = nas_search(space.value, data.value, budget=budget, sampler=sampler.value,
                       storage=open_storage(storage, must_exist=False), study_name=study_name,
                       train=train, size=size or None, seed=seed,
                       data_kwargs=_data_kwargs(n_train, n_val), repeats=repeats.value,
                       confirm_top=confirm_top, confirm_trainings=confirm_trainings,
                       show_progress_bar=progress)
    if confirm_top:  # the confirmed pick: the best mean among the re-trained candidates
        _report(study, json_output, Rule.mean.value if rule == Rule.best_trial else rule.value,
                min_trainings=1 + confirm_trainings)
    else:
        _report(study, json_output, rule.value)


def _report(study: Any, json_output: bool, rule: str, min_trainings: int = 1) -> None:
    from autolearn import TrialState
    from autolearn.nas import export_best

    counts = {s.name.lower(): sum(t.state == s for t in study.trials)
              for s in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    cached = sum("nas:cached_from" in t.user_attrs for t in study.trials)
    best = None
    if counts["complete"]:
        try:
            best = export_best(study, rule=rule, min_trainings=min_trainings)
        except ValueError:  # every confirming re-training failed: rank all architectures
            best = export_best(study, rule=rule)
    if json_output:
        emit_json({"study_name": study.study_name, "n_trials": len(study.trials), **counts,
                   "cached": cached, "best": best})
        if best is None:
            raise typer.Exit(1)
        return
    typer.echo(f"study {study.study_name!r}: {len(study.trials)} children ({counts['complete']} "
               f"complete, {counts['pruned']} pruned, {counts['fail']} failed; {cached} "
               "cached)")
    if best is None:
        fail(f"no child of study {study.study_name!r} completed ({counts['fail']} failed, "
             f"{counts['pruned']} pruned; the warnings above say why each failed)")
    trainings = f" (mean of {best['n_trainings']} trainings)" if best["n_trainings"] > 1 else ""
    typer.echo(f"best: trial #{best['trial']}, validation accuracy {best['value']:.4f}"
               f"{trainings}, {best['n_params']} parameters")
    typer.echo(best["description"])


def export(
    storage: StorageOpt,
    study_name: StudyNameOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here.")] = None,
    rule: RuleOpt = Rule.best_trial,
    json_output: JsonOpt = False,
) -> None:
    """Export the best architecture of a search study as JSON (to --out or stdout)."""
    from autolearn.nas import export_best

    study = load_study(storage, study_name) if study_name else _only_study(storage)
    best = export_best(study, out, rule=rule.value)
    if json_output or out is None:
        emit_json(best)
        return
    typer.echo(f"wrote {out}: trial #{best['trial']} of {study.study_name!r}, validation "
               f"accuracy {best['value']:.4f}")


def _only_study(storage: str) -> Any:
    from autolearn.cli._common import open_storage
    from autolearn.study import load_study as _load

    return _load(study_name=None, storage=open_storage(storage))


def retrain(
    arch: Annotated[Path, typer.Argument(metavar="ARCH.json",
                                         help="A file written by `autolearn nas export`.")],
    data: Annotated[Data | None, typer.Option(help="Dataset (default: the search's).")]
    = None,
    n_train: Annotated[int | None, typer.Option(min=1, help="Training examples (mnist1d "
                                                "default 4000).")] = None,
    n_val: Annotated[int | None, typer.Option(min=1, help="Validation examples.")] = None,
    sizes: SizeOpt = None,
    cells: Annotated[int | None, typer.Option(min=1, help="NASNet: cells per stage (N).")]
    = None,
    filters: Annotated[int | None, typer.Option(min=1, help="NASNet: initial filters (F).")]
    = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Epochs (default: the "
                                               "search's).")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate (default: the "
                                             "search's).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of weights and batch order.")] = None,
    save: Annotated[Path | None, typer.Option("--save", help="Save the trained weights "
                                              "(torch state dict + architecture).")] = None,
    threads: ThreadsOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Rebuild an exported architecture (optionally larger) and train it from scratch."""
    from autolearn.nas import TrainConfig
    from autolearn.nas import retrain as nas_retrain

    _set_threads(threads)
    if not arch.exists():
        fail(f"no such file: {str(arch)!r} (write one with `autolearn nas export --out`)")
    if save is not None and (save.is_dir() or not save.parent.is_dir()):  # before training
        fail(f"--save {str(save)!r} must name a file in an existing directory")
    try:
        spec = json.loads(arch.read_text())
    except json.JSONDecodeError as exc:
        fail(f"{str(arch)!r} is not JSON: {exc.msg}")
    train_fields = dict(spec.get("train") or {}) if isinstance(spec, dict) else {}
    changes = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("seed", seed))
               if v is not None}
    train = TrainConfig(**{**train_fields, **changes}) if train_fields or changes else None
    size = _size(sizes, cells, filters)
    model, result = nas_retrain(spec, data.value if data else None, size=size, train=train,
                                data_kwargs=_data_kwargs(n_train, n_val))
    if save is not None:
        import torch

        from autolearn._files import atomic_write

        payload = {"arch": spec, "size": {**spec.get("size", {}), **size},
                   "state_dict": model.state_dict()}
        atomic_write(save, lambda fh: torch.save(payload, fh))
    out = {"val_accuracy": result.val_accuracy, "history": result.history,
           "n_params": result.n_params, "train_seconds": result.train_seconds,
           "diverged": result.diverged, "size": {**spec.get("size", {}), **size}}
    if json_output:
        emit_json(out)
        return
    typer.echo(f"retrained {spec['space']} architecture (size {out['size']}): validation "
               f"accuracy {result.val_accuracy:.4f} after {len(result.history)} epochs, "
               f"{result.n_params} parameters, {result.train_seconds:.1f} s")


def register(app: typer.Typer) -> None:
    """Add the ``nas`` command group to ``app``."""
    add_group(app, "nas", "Neural architecture search: search, export, retrain.",
              {"search": search, "export": export, "retrain": retrain})
