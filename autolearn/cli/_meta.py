"""``autolearn meta ...``: meta-train an initialisation (MAML, FOMAML, Meta-SGD, Reptile)
on a built-in task family and evaluate a saved one.

Example:
    $ autolearn meta train --algo maml --tasks sinusoid --shots 10 --steps 2000 --out run1
    $ autolearn meta train --algo fomaml --tasks mnist1d --ways 5 --shots 1 --steps 500 \\
          --out run2 --set inner_steps=2 --set inner_lr=0.1
    $ autolearn meta eval run1 --inner-steps 10 --json
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from autolearn.cli._common import JsonOpt, add_group, emit_json, fail

__all__ = ["register"]

#: File names inside ``--out``.
LEARNER_FILE = "learner.pt"
HISTORY_FILE = "history.json"


class Algo(enum.StrEnum):
    """Meta-learning algorithms selectable from the command line."""

    maml = "maml"
    fomaml = "fomaml"
    metasgd = "metasgd"
    reptile = "reptile"


class TaskFamily(enum.StrEnum):
    """Built-in task families."""

    sinusoid = "sinusoid"
    digits = "digits"
    mnist1d = "mnist1d"


#: MetaConfig defaults per task family (``--set`` overrides them): the sinusoid ones are
#: MetaConfig's own (the MAML paper's); classification adapts with larger, repeated steps.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "sinusoid": {},
    "digits": {"inner_steps": 2, "inner_lr": 0.1, "meta_batch_size": 8},
    "mnist1d": {"inner_steps": 2, "inner_lr": 0.1, "meta_batch_size": 8},
}


def _parse_sets(items: list[str]) -> dict[str, Any]:
    """``["inner_lr=0.1", "vectorize=false"]`` -> ``{"inner_lr": 0.1, "vectorize": False}``."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            fail(f"--set takes key=value, but got {item!r}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


def _sampler(family: str, split: str, *, ways: int, shots: int, n_query: int | None) -> Any:
    from autolearn.meta import SinusoidTasks, digits_tasks, mnist1d_tasks

    if family == "sinusoid":
        return SinusoidTasks(shots, n_query=n_query)
    make = digits_tasks if family == "digits" else mnist1d_tasks
    return make(split, ways=ways, shots=shots, n_query=15 if n_query is None else n_query)


def _summary(scores: dict[str, Any]) -> dict[str, Any]:
    out = {"loss": scores["loss"], "loss_sd": scores["loss_sd"]}
    if "accuracy" in scores:
        out["accuracy"] = scores["accuracy"]
    return out


def _print_scores(scores: dict[str, Any], split: str) -> None:
    loss = scores["loss"]
    steps = len(loss) - 1

    def after(values: Any, fmt: str) -> str:  # "after 1 step" only when there were steps
        one = f", {values[1]:{fmt}} after 1 step" if steps > 1 else ""
        return f"{one}, {values[-1]:{fmt}} after {steps} step{'s' if steps != 1 else ''}" \
            if steps else " (no adaptation steps)"

    typer.echo(f"{split} query loss: {loss[0]:.4g} before adaptation{after(loss, '.4g')}")
    if "accuracy" in scores:
        acc = scores["accuracy"]
        typer.echo(f"{split} query accuracy: {acc[0]:.1%} before{after(acc, '.1%')}")


def train(
    out: Annotated[Path, typer.Option("--out", help="Directory for learner.pt and history.json.")],
    algo: Annotated[Algo, typer.Option("--algo", help="Meta-learning algorithm.")] = Algo.maml,
    tasks: Annotated[TaskFamily, typer.Option("--tasks", help="Task family.")]
    = TaskFamily.sinusoid,
    ways: Annotated[int | None, typer.Option(
        min=2, help="N in N-way classification (default 5; not for sinusoid).")] = None,
    shots: Annotated[int | None, typer.Option(
        min=1, help="K: support examples (per class); default 10 (sinusoid) or 1.")] = None,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Outer (meta) steps.")] = 1000,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="MetaConfig field, key=value (JSON value); repeatable.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the init and task draws.")] = 0,
    eval_tasks: Annotated[int, typer.Option(min=0, help="Held-out tasks scored after "
                                            "training (0: skip), drawn with seed 12345: "
                                            "`meta eval --seed 12345` scores the same "
                                            "ones.")] = 100,
    progress: Annotated[bool, typer.Option("--progress/--no-progress",
                                           help="Show a progress bar on stderr.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Meta-train an initialisation and save it to --out (then score held-out tasks)."""
    import dataclasses

    from autolearn.meta import MetaConfig, MetaLearner, build_model, default_model_spec

    overrides = _parse_sets(sets or [])
    fields = {f.name for f in dataclasses.fields(MetaConfig)} - {"algorithm"}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        fail(f"--set: unknown MetaConfig field(s) {', '.join(unknown)}; known: "
             f"{', '.join(sorted(fields))}")
    config = MetaConfig(algorithm=algo.value,
                        **{**FAMILY_DEFAULTS[tasks.value], **overrides})
    if shots is None:
        shots = 10 if tasks.value == "sinusoid" else 1
    if ways is not None and tasks.value == "sinusoid":
        fail("--ways is for classification task families (digits, mnist1d); sinusoid tasks "
             "are regressions")
    ways = 5 if ways is None else ways
    sampler = _sampler(tasks.value, "train", ways=ways, shots=shots, n_query=None)
    if out.exists() and not out.is_dir():  # found before training, not after it
        fail(f"--out {str(out)!r} is a file; it must be a directory (new or existing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out {str(out)!r}: cannot create it ({exc.strerror})")
    spec = default_model_spec(tasks.value, sampler.n_outputs)
    learner = MetaLearner(build_model(spec, seed=seed), config, seed=seed, model_spec=spec)
    learner.fit(sampler, steps, progress=progress, log_every=max(1, steps // 100))
    learner.save(out / LEARNER_FILE)
    (out / HISTORY_FILE).write_text(json.dumps(learner.history, indent=1) + "\n")
    result: dict[str, Any] = {"out": str(out), "algorithm": algo.value, "tasks": tasks.value,
                              "meta_steps": learner.meta_steps,
                              "final": learner.history[-1] if learner.history else None}
    if eval_tasks:
        split = "test" if tasks.value != "sinusoid" else "new"
        held_out = _sampler(tasks.value, "test", ways=ways, shots=shots, n_query=None)
        scores = learner.evaluate(held_out, n_tasks=eval_tasks, seed=12345)
        result["eval"] = _summary(scores)
    if json_output:
        emit_json(result)
        return
    typer.echo(f"meta-trained {algo.value} on {tasks.value} for {learner.meta_steps} steps; "
               f"saved {out / LEARNER_FILE}")
    if eval_tasks:
        _print_scores(scores, split)


def evaluate(
    run_dir: Annotated[Path, typer.Argument(metavar="DIR", help="A `meta train --out` dir.")],
    n_tasks: Annotated[int, typer.Option(min=1, help="Tasks to score.")] = 100,
    inner_steps: Annotated[int | None, typer.Option(
        min=0, help="Fine-tuning steps (default: the config's eval_inner_steps).")] = None,
    split: Annotated[str, typer.Option(help="Class split for digits/mnist1d: "
                                       "train, val or test.")] = "test",
    seed: Annotated[int | None, typer.Option(help="Seed of the task draws.")] = 0,
    json_output: JsonOpt = False,
) -> None:
    """Score a saved initialisation on held-out tasks of the family it was trained on."""
    from autolearn.meta import MetaLearner

    path = run_dir / LEARNER_FILE
    if not path.exists():
        fail(f"no {LEARNER_FILE} in {str(run_dir)!r}: run `autolearn meta train --out DIR`")
    learner = MetaLearner.load(path)
    spec = learner.task_spec or {}
    family = spec.get("name")
    if family not in ("sinusoid", "digits", "mnist1d"):
        fail(f"{str(path)!r} was trained on custom tasks; evaluate it from Python")
    if family == "sinusoid" and split != "test":
        fail("--split is for classification task families (digits, mnist1d); sinusoid tasks "
             "are drawn afresh")
    sampler = _sampler(family, split, ways=spec.get("ways", 5), shots=spec["shots"],
                       n_query=15 if family != "sinusoid" else None)
    scores = learner.evaluate(sampler, n_tasks=n_tasks, inner_steps=inner_steps, seed=seed)
    if json_output:
        emit_json({"run": str(run_dir), "tasks": family, "split": split,
                   "n_tasks": n_tasks, **_summary(scores)})
        return
    _print_scores(scores, split if family != "sinusoid" else "new")


def register(app: typer.Typer) -> None:
    """Add the ``meta`` command group to ``app``."""
    add_group(app, "meta", "Meta-learning: MAML, first-order MAML, Meta-SGD, Reptile.",
              {"train": train, "eval": evaluate})
