"""Data loading and child training: per-epoch reports, pruning, NaN children, the cache."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from torch import nn  # noqa: E402

import autolearn  # noqa: E402
from autolearn import TrialState  # noqa: E402
from autolearn.exceptions import ConfigError  # noqa: E402
from autolearn.nas import (  # noqa: E402
    ChildObjective,
    Dataset,
    TrainConfig,
    build_child,
    count_parameters,
    load_data,
    train_child,
)
from autolearn.pruners import BasePruner, MedianPruner  # noqa: E402
from autolearn.samplers import RandomSampler  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests share two cores with other jobs; small children are fastest single-threaded."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinySpace:
    """A stand-in architecture space: hidden width and activation of a 1-layer MLP;
    ``act="nan"`` builds a network whose outputs are NaN."""

    name = "tiny"

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {"width": trial.suggest_categorical("width", [4, 16]),
                "act": trial.suggest_categorical("act", ["relu", "tanh", "nan"])}

    def default_size(self) -> dict[str, Any]:
        return {"scale": 1}

    def build(self, decisions: Any, input_shape: tuple[int, ...], num_classes: int,
              scale: int = 1) -> nn.Module:
        width = decisions["width"] * scale
        act = {"relu": nn.ReLU(), "tanh": nn.Tanh(), "nan": NaNLayer()}[decisions["act"]]
        return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), width), act,
                             nn.Linear(width, num_classes))


class NaNLayer(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float("nan")


class AlwaysPrune(BasePruner):
    def prune(self, study: Any, trial: Any) -> bool:
        return True


class Recorder:
    def __init__(self) -> None:
        self.reports: list[tuple[float, int]] = []

    def report(self, value: float, step: int) -> None:
        self.reports.append((value, step))

    def should_prune(self) -> bool:
        return False


@pytest.fixture(scope="module")
def iris() -> Dataset:
    return load_data("iris")


def mlp(data: Dataset) -> nn.Module:
    return nn.Sequential(nn.Linear(data.input_shape[0], 16), nn.ReLU(),
                         nn.Linear(16, data.num_classes))


# ---- data ---------------------------------------------------------------------------------
def test_mnist1d_any_size_reproducible_and_standardised() -> None:
    a = load_data("mnist1d", n_train=300, n_val=100, seed=3)
    b = load_data("mnist1d", n_train=300, n_val=100, seed=3)
    c = load_data("mnist1d", n_train=300, n_val=100, seed=4)
    assert a.input_shape == (1, 40) and a.num_classes == 10
    assert a.X_train.shape == (300, 1, 40) and a.X_val.shape == (100, 1, 40)
    assert torch.equal(a.X_train, b.X_train) and not torch.equal(a.X_train, c.X_train)
    assert abs(float(a.X_train.mean())) < 1e-4 and abs(float(a.X_train.std()) - 1) < 1e-3
    assert a.spec == {"name": "mnist1d", "seed": 3, "n_train": 300, "n_val": 100,
                      "layout": "signal"}


def test_digits_layouts_and_tabular_sets() -> None:
    img = load_data("digits")
    assert img.input_shape == (1, 8, 8) and img.n_train + img.n_val == 1797
    assert load_data("digits", layout="flat", n_train=500).input_shape == (64,)
    for name, shape, k in [("wine", (13,), 3), ("breast_cancer", (30,), 2)]:
        d = load_data(name)
        assert d.input_shape == shape and d.num_classes == k
        # per-feature standardisation with training statistics
        assert np.allclose(d.X_train.mean(0).numpy(), 0, atol=1e-4)


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "cifar"}, "`name` must be one of"),
    ({"name": "iris", "layout": "image"}, "`layout`"),
    ({"name": "iris", "n_train": 1000}, "`n_train`"),
    ({"name": "mnist1d", "n_val": 0}, "`n_val`"),
])
def test_load_data_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_data(**kwargs)


def test_from_arrays_split_and_label_mapping() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2, 5))
    y = np.repeat([3, 7], 50)
    d = Dataset.from_arrays(X, y, val_fraction=0.3)
    assert d.input_shape == (2, 5) and d.num_classes == 2
    assert d.n_val == 30 and sorted(d.y_val.tolist()) == [0] * 15 + [1] * 15
    with pytest.raises(ConfigError, match="never occur"):
        Dataset.from_arrays(X, np.zeros(100), X, np.ones(100))


# ---- training -----------------------------------------------------------------------------
def test_train_child_learns_reports_and_is_reproducible(iris: Dataset) -> None:
    rec = Recorder()
    config = TrainConfig(epochs=15, lr=3e-2, batch_size=16, seed=1)
    torch.manual_seed(0)
    model = mlp(iris)
    state = torch.random.get_rng_state()
    result = train_child(model, iris, config, trial=rec)
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG left alone
    assert result.val_accuracy > 0.8 and not result.diverged
    assert [s for _, s in rec.reports] == list(range(1, 16))
    assert result.history == [v for v, _ in rec.reports]
    assert result.n_params == count_parameters(mlp(iris)) == 4 * 16 + 16 + 16 * 3 + 3
    torch.manual_seed(5)
    model_a = mlp(iris)
    model_b = mlp(iris)
    model_b.load_state_dict(model_a.state_dict())
    a = train_child(model_a, iris, config)
    b = train_child(model_b, iris, config)
    assert a.history == b.history


def test_nan_model_diverges(iris: Dataset) -> None:
    model = nn.Sequential(nn.Linear(4, 3), NaNLayer())
    result = train_child(model, iris, TrainConfig(epochs=3))
    assert result.diverged and math.isnan(result.val_accuracy) and result.history == []


@pytest.mark.parametrize("field, value", [("epochs", 0), ("lr", -1.0), ("optimizer", "lbfgs"),
                                          ("grad_clip", 0.0), ("lr_schedule", "step")])
def test_train_config_validation(field: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"`{field}`"):
        TrainConfig(**{field: value})


def _study(pruner: BasePruner | None = None) -> autolearn.Study:
    return autolearn.create_study(direction="maximize", sampler=RandomSampler(seed=0),
                                  pruner=pruner)


def test_objective_prunes_children_after_first_epoch(iris: Dataset) -> None:
    study = _study(AlwaysPrune())
    study.optimize(ChildObjective(TinySpace(), iris, TrainConfig(epochs=5), cache=False),
                   n_trials=3)
    for t in study.trials:
        if t.user_attrs.get("nas:diverged"):
            continue
        assert t.state == TrialState.PRUNED
        assert list(t.intermediate_values) == [1]
        assert "nas:train_seconds" in t.user_attrs and t.user_attrs["nas:n_params"] > 0


def test_median_pruner_stops_some_children(iris: Dataset) -> None:
    study = _study(MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    study.optimize(ChildObjective(TinySpace(), iris, TrainConfig(epochs=4, lr=3e-3),
                                  cache=False), n_trials=12)
    states = [t.state for t in study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states


def test_nan_child_fails_and_cache_reuses_values(iris: Dataset) -> None:
    study = _study()
    objective = ChildObjective(TinySpace(), iris, TrainConfig(epochs=2))
    for params in ({"width": 4, "act": "nan"}, {"width": 16, "act": "relu"},
                   {"width": 16, "act": "relu"}, {"width": 4, "act": "nan"}):
        study.enqueue_trial(params)
    study.optimize(objective, n_trials=4)
    nan1, first, again, nan2 = study.trials
    assert nan1.state == TrialState.FAIL and nan1.user_attrs["nas:diverged"] is True
    assert "NaN" in nan1.system_attrs["fail_reason"]
    assert first.state == again.state == TrialState.COMPLETE
    assert again.values == first.values and again.user_attrs["nas:cached_from"] == first.number
    assert "nas:train_seconds" not in again.user_attrs
    assert nan2.state == TrialState.FAIL and nan2.user_attrs["nas:cached_from"] == nan1.number


def test_objective_size_override_and_same_init(iris: Dataset) -> None:
    study = _study()
    params = {"width": 4, "act": "tanh"}
    study.enqueue_trial(params)
    study.enqueue_trial(params)
    study.optimize(ChildObjective(TinySpace(), iris, TrainConfig(epochs=2), size={"scale": 4},
                                  cache=False), n_trials=2)
    a, b = study.trials
    assert a.user_attrs["nas:n_params"] == 4 * 16 + 16 + 16 * 3 + 3
    assert a.values == b.values  # same architecture, same seed -> same result without cache


class OneArchSpace(TinySpace):
    """Every trial asks for the same architecture (a repeat each time)."""

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {"width": trial.suggest_categorical("width", [16]),
                "act": trial.suggest_categorical("act", ["tanh"])}


def test_retrain_repeats_use_fresh_seeds_and_report_the_running_mean(iris: Dataset) -> None:
    study = _study()
    train = TrainConfig(epochs=2, seed=7)
    study.optimize(ChildObjective(OneArchSpace(), iris, train, repeats="retrain"), n_trials=3)
    trials = study.trials
    assert [t.user_attrs["nas:training"] for t in trials] == [0, 1, 2]
    assert [t.user_attrs["nas:train_seed"] for t in trials] == [7, 8, 9]
    assert all("nas:cached_from" not in t.user_attrs for t in trials)
    for k, t in enumerate(trials):
        # each value is THIS training's accuracy: what training with seed 7 + k gives
        model = build_child(OneArchSpace(), {"width": 16, "act": "tanh"}, iris, seed=7 + k)
        expected = train_child(model, iris, TrainConfig(epochs=2, seed=7 + k)).val_accuracy
        assert t.value == pytest.approx(expected)
        assert t.user_attrs["nas:n_trainings"] == k + 1
        assert t.user_attrs["nas:mean_accuracy"] == pytest.approx(
            np.mean([x.value for x in trials[:k + 1]]))


def test_retrain_count_survives_a_resume(iris: Dataset, tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'nas.db'}"
    train = TrainConfig(epochs=1, seed=3)
    first = autolearn.create_study(url, study_name="s", direction="maximize",
                                   sampler=RandomSampler(seed=0))
    first.optimize(ChildObjective(OneArchSpace(), iris, train, repeats="retrain"), n_trials=2)
    # a new process: fresh objective and study objects, the count comes from the storage
    again = autolearn.load_study(study_name="s", storage=url)
    again.optimize(ChildObjective(OneArchSpace(), iris, train, repeats="retrain"), n_trials=2)
    assert [t.user_attrs["nas:train_seed"] for t in again.trials] == [3, 4, 5, 6]
    assert again.trials[-1].user_attrs["nas:n_trainings"] == 4


def test_cache_mode_is_still_the_default_and_cache_flag_maps_to_repeats(iris: Dataset) -> None:
    assert ChildObjective(TinySpace(), iris).repeats == "cache"
    assert ChildObjective(TinySpace(), iris, cache=False).repeats == "same_seed"
    assert ChildObjective(TinySpace(), iris, cache=True, repeats="cache").cache
    study = _study()
    study.optimize(ChildObjective(OneArchSpace(), iris, TrainConfig(epochs=1)), n_trials=2)
    assert study.trials[1].user_attrs["nas:cached_from"] == 0


@pytest.mark.parametrize("kwargs, match", [
    ({"repeats": "fresh"}, "`repeats` must be one of 'cache', 'retrain', 'same_seed'"),
    ({"repeats": True}, "`repeats` must be one of"),
    ({"repeats": "retrain", "cache": True}, "pass only `repeats`"),
    ({"cache": "yes"}, "`cache` must be a bool"),
])
def test_bad_repeats_is_a_config_error(iris: Dataset, kwargs: dict[str, Any],
                                       match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ChildObjective(TinySpace(), iris, **kwargs)
