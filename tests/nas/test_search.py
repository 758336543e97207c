"""The NAS front door: samplers by name, search, resume, export, retrain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

import autolearn  # noqa: E402
from autolearn import TrialState  # noqa: E402
from autolearn.exceptions import ConfigError  # noqa: E402
from autolearn.nas import (  # noqa: E402
    Dataset,
    ResumeMismatchError,
    TrainConfig,
    export_best,
    make_sampler,
    make_space,
    retrain,
    search,
)
from autolearn.pruners import ThresholdPruner  # noqa: E402
from autolearn.samplers import RandomSampler  # noqa: E402

FAST = TrainConfig(epochs=2, lr=1e-2)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests share two cores with other jobs; small children are fastest single-threaded."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_make_sampler_by_name() -> None:
    space = make_space("mlp")
    assert isinstance(make_sampler("random", space, seed=0), RandomSampler)
    assert type(make_sampler("tpe", space, seed=0)).__name__ == "TPESampler"
    if hasattr(autolearn.samplers, "RegularizedEvolutionSampler"):
        assert type(make_sampler("evolution", space, seed=0)).__name__ == \
            "RegularizedEvolutionSampler"
    with pytest.raises(ConfigError, match="`sampler` must be one of"):
        make_sampler("annealing", space)


def test_make_sampler_controller_gets_the_action_mask() -> None:
    if not hasattr(autolearn.samplers, "ControllerSampler"):
        pytest.skip("ControllerSampler not available yet")
    sampler = make_sampler("reinforce", make_space("macro", num_layers=2), seed=0,
                           batch_size=4)
    assert type(sampler).__name__ == "ControllerSampler"


def test_search_resume_runs_only_the_remaining_budget(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    first = search("mlp", "iris", budget=3, sampler="random", storage=url, train=FAST)
    before = [(t.number, t.state, t.values, t.params) for t in first.trials]
    assert len(before) == 3
    again = search("mlp", "iris", budget=5, sampler="random", storage=url, train=FAST,
                   seed=1)
    after = again.trials
    assert len(after) == 5
    assert [(t.number, t.state, t.values, t.params) for t in after[:3]] == before
    assert all(t.user_attrs["nas:n_params"] > 0 for t in after)
    # a budget already spent runs nothing
    assert len(search("mlp", "iris", budget=4, sampler="random", storage=url,
                      train=FAST).trials) == 5


def test_resume_with_other_settings_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    search("mlp", "iris", budget=1, sampler="random", storage=url, train=FAST,
           study_name="s")
    with pytest.raises(ResumeMismatchError, match=r"train\.epochs: stored 2, given 3"):
        search("mlp", "iris", budget=2, sampler="random", storage=url, study_name="s",
               train=TrainConfig(epochs=3, lr=1e-2))
    with pytest.raises(ResumeMismatchError, match="space_config.num_layers"):
        search("mlp", "iris", budget=2, sampler="random", storage=url, study_name="s",
               train=FAST, space_kwargs={"num_layers": 2})
    with pytest.raises(ResumeMismatchError, match="data.name"):
        search("mlp", "wine", budget=2, sampler="random", storage=url, study_name="s",
               train=FAST)
    plain = autolearn.create_study(url, study_name="plain", direction="maximize")
    plain.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(ResumeMismatchError, match="not started by autolearn.nas.search"):
        search("mlp", "iris", budget=2, sampler="random", storage=url, study_name="plain")


def test_export_retrain_round_trip(tmp_path: Path) -> None:
    study = search("mlp", "iris", budget=4, sampler="random", train=FAST)
    path = tmp_path / "best.json"
    best = export_best(study, path)
    assert json.loads(path.read_text()) == best
    assert best["format"] == "autolearn.nas/1" and best["space"] == "mlp"
    assert best["decisions"] == study.best_params and best["value"] == study.best_value
    assert best["n_params"] == study.best_trial.user_attrs["nas:n_params"]
    # same size, data and training -> the search's score, from the file
    model, result = retrain(path)
    assert result.val_accuracy == pytest.approx(study.best_value)
    assert result.n_params == best["n_params"]
    # larger: the same architecture, twice as wide, trained longer
    wide, res2 = retrain(best, "iris", size={"width": 2.0}, train=TrainConfig(epochs=3))
    assert res2.n_params > 2 * best["n_params"] and len(res2.history) == 3
    with pytest.raises(ConfigError, match="export_best"):
        retrain({"space": "mlp"})


def test_search_on_user_arrays_with_a_space_object_and_pruner() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 1, 16)).astype(np.float32)
    y = (X[:, 0, :8].sum(1) > 0).astype(int)
    data = Dataset.from_arrays(X, y, name="toy")
    space = make_space("macro", num_layers=2, filters=[4, 8], kernel_sizes=[3])
    study = search(space, data, budget=3, sampler="random", train=FAST,
                   pruner=ThresholdPruner(lower=1.1))  # every child pruned after epoch 1
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 3
    assert study.system_attrs["nas:config"]["data"]["name"] == "toy"
    complete = search(space, data, budget=2, sampler="random", train=FAST)
    with pytest.raises(ConfigError, match="pass `data`"):
        retrain(export_best(complete))
    _, result = retrain(export_best(complete), data)
    assert 0.0 <= result.val_accuracy <= 1.0


def test_search_argument_errors() -> None:
    with pytest.raises(ConfigError, match="`budget`"):
        search("mlp", "iris", budget=0)
    with pytest.raises(ConfigError, match="`train`"):
        search("mlp", "iris", budget=1, train={"epochs": 1})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="space_kwargs"):
        search(make_space("mlp"), "iris", budget=1, space_kwargs={"num_layers": 2})


def test_search_with_retrained_repeats_exports_the_averaged_architecture() -> None:
    # a space of one architecture: every child after the first is a repeat
    space = make_space("mlp", num_layers=1, units=[8], activations=["relu"], skips=False)
    study = search(space, "iris", budget=3, sampler="random", train=FAST, repeats="retrain")
    assert [t.user_attrs["nas:train_seed"] for t in study.trials] == [0, 1, 2]
    assert export_best(study)["rule"] == "best_trial"
    best = export_best(study, rule="shrunk")
    assert best["rule"] == "shrunk" and best["n_trainings"] == 3
    assert best["value"] == pytest.approx(np.mean([t.value for t in study.trials]))
    with pytest.raises(ConfigError, match="`rule` must be one of"):
        export_best(study, rule="luckiest")
    with pytest.raises(ConfigError, match="`repeats` must be one of"):
        search(space, "iris", budget=1, repeats="again")


def test_search_spends_the_last_trainings_confirming_the_top(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    study = search("mlp", "iris", budget=6, sampler="random", train=FAST, repeats="retrain",
                   storage=url, confirm_top=2, confirm_trainings=1)
    assert len(study.trials) == 6
    confirm = [t for t in study.trials if t.user_attrs.get("nas:confirm")]
    assert [t.number for t in confirm] == [4, 5]
    searched = sorted((t for t in study.trials[:4] if t.value is not None),
                      key=lambda t: -t.value)
    top2 = [dict(t.params) for t in searched[:2]]
    assert [dict(t.params) for t in confirm] == top2
    # each re-training is the architecture's next training seed (FAST.seed + 1)
    assert all(t.user_attrs["nas:train_seed"] >= 1 for t in confirm)
    # resuming a finished search trains nothing more
    again = search("mlp", "iris", budget=6, sampler="random", train=FAST, repeats="retrain",
                   storage=url, confirm_top=2, confirm_trainings=1)
    assert len(again.trials) == 6
    with pytest.raises(ConfigError, match="repeats='retrain'"):
        search("mlp", "iris", budget=6, confirm_top=2)
    with pytest.raises(ConfigError, match="confirm_top \\* confirm_trainings < budget"):
        search("mlp", "iris", budget=4, repeats="retrain", confirm_top=2)
    with pytest.raises(ConfigError, match="`confirm_trainings` must be an int >= 1"):
        search("mlp", "iris", budget=4, repeats="retrain", confirm_top=1, confirm_trainings=0)


def test_settings_that_cannot_build_a_child_are_refused_before_the_study_exists(
        tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'n.db'}"
    with pytest.raises(ConfigError, match="unknown size keys \\['cells'\\]"):
        search("mlp", "iris", budget=1, storage=storage, study_name="s", size={"cells": 2})
    with pytest.raises(ConfigError, match="builds convolutional networks"):
        search("nasnet", "iris", budget=1, storage=storage, study_name="s")
    assert autolearn.get_all_study_names(storage) == []  # the name is still free
    study = autolearn.create_study(storage, study_name="empty", direction="maximize")
    from autolearn.exceptions import NoCompletedTrialsError
    from autolearn.nas import best_architecture

    with pytest.raises(NoCompletedTrialsError, match="no completed training"):
        best_architecture(study)
