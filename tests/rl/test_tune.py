"""Hyperparameter search for RL agents (autolearn.rl.tune and ``autolearn rl tune``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autolearn.cli import app
from autolearn.exceptions import ConfigError
from autolearn.pruners import ThresholdPruner
from autolearn.rl.configs import read_config_file, resolve
from autolearn.rl.tune import SEARCH_SPACES, best_run, confirm, tune

SMALL = {"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 2}


def test_trials_report_evaluations_and_the_best_config_round_trips(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'rl.db'}"
    study = tune("ppo", "CartPole-v1", n_trials=3, n_timesteps=512, n_evaluations=2,
                 n_eval_episodes=2, storage=storage, study_name="s", fixed={"n_envs": 2})
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    for t in study.trials:
        points = sorted(t.intermediate_values)  # evaluation points: every 256 env steps
        assert points[0] >= 1 and t.user_attrs["timesteps"] >= 512
        assert [p for p, _ in t.user_attrs["eval_timesteps"]] == points
        assert all(p == steps // 256 for p, steps in t.user_attrs["eval_timesteps"])
        if t.user_attrs["eval_timesteps"][-1][1] == t.user_attrs["timesteps"]:
            assert t.value == t.intermediate_values[points[-1]]  # the final evaluation
        config = t.user_attrs["config"]
        assert config["n_envs"] == 2 and config["batch_size"] <= config["n_steps"] * 2
    best = best_run(study)
    assert best["learning_rate"] == study.best_params["learning_rate"]
    again = resolve(overrides={k: v for k, v in best.items()}, use_defaults=False)
    assert again.to_dict() == best
    resumed = tune("ppo", "CartPole-v1", n_trials=1, n_timesteps=512, n_evaluations=2,
                   n_eval_episodes=2, storage=storage, study_name="s", fixed={"n_envs": 2})
    assert len(resumed.trials) == 4


def test_a_pruner_stops_trials_at_their_first_evaluation() -> None:
    study = tune("a2c", "CartPole-v1", n_trials=2, n_timesteps=400, n_evaluations=4,
                 n_eval_episodes=2, pruner=ThresholdPruner(lower=1e9), fixed={"n_envs": 2})
    assert [t.state.name for t in study.trials] == ["PRUNED", "PRUNED"]
    assert all(len(t.intermediate_values) == 1 for t in study.trials)
    with pytest.raises(ConfigError, match="no complete trial"):
        best_run(study)


def test_own_space_and_fixed_values() -> None:
    def space(trial: object) -> dict[str, object]:
        return {"learning_rate": trial.suggest_float("lr", 1e-4, 1e-3, log=True)}  # type: ignore[attr-defined]

    study = tune("ppo", "CartPole-v1", n_trials=2, n_timesteps=128, n_evaluations=1,
                 n_eval_episodes=1, space=space, fixed=SMALL)
    for t in study.trials:
        assert list(t.params) == ["lr"]
        config = t.user_attrs["config"]
        assert config["learning_rate"] == t.params["lr"] and config["n_steps"] == 32


@pytest.mark.parametrize("algo", sorted(SEARCH_SPACES))
def test_every_default_space_runs(algo: str) -> None:
    fixed = {"n_workers": 2, "n_envs": 2} if algo in ("a3c", "async_q") else {}
    study = tune(algo, "CartPole-v1", n_trials=2, n_timesteps=256, n_evaluations=1,
                 n_eval_episodes=1, fixed=fixed, seed=1)
    assert len(study.trials) == 2
    assert all(t.state.name in ("COMPLETE", "FAIL") for t in study.trials)
    assert any(t.state.name == "COMPLETE" for t in study.trials)


def test_bad_arguments_fail_before_any_trial() -> None:
    with pytest.raises(ConfigError, match="no default search space for 'sac'"):
        tune("sac", "CartPole-v1", n_trials=1, n_timesteps=100)
    with pytest.raises(ConfigError, match="`n_evaluations` must be at most n_timesteps"):
        tune("ppo", "CartPole-v1", n_trials=1, n_timesteps=5, n_evaluations=10)
    with pytest.raises(ConfigError, match="`n_timesteps` must be an int >= 1"):
        tune("ppo", "CartPole-v1", n_trials=1, n_timesteps=0)
    with pytest.raises(ConfigError, match="unknown key"):
        tune("ppo", "CartPole-v1", n_trials=1, n_timesteps=100, fixed={"n_env": 2})


def test_command_line(tmp_path: Path) -> None:
    out = tmp_path / "best.yaml"
    result = CliRunner().invoke(app, [
        "rl", "tune", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256",
        "--trials", "2", "--evaluations", "1", "--eval-episodes", "1", "--set", "n_envs=2",
        "--sampler", "random", "--pruner", "none", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["trials"] == {"complete": 2} and data["out"] == str(out)
    values = read_config_file(out)
    assert values["algo"] == "ppo" and values["n_timesteps"] == 256
    assert values["learning_rate"] == data["best_params"]["learning_rate"]
    bad = CliRunner().invoke(app, ["rl", "tune", "--algo", "ppo", "--env", "CartPole-v1",
                                   "--steps", "10", "--evaluations", "20"])
    assert bad.exit_code != 0 and "--evaluations must be in [1, --steps]" in bad.output


def test_the_benchmarks_autolearn_side() -> None:
    from benchmarks.rl.tune_vs_optuna import confirm, search_autolearn

    config, stats = search_autolearn(0, 256, 2)
    assert stats["complete"] + stats["pruned"] + stats["failed"] == 2
    assert stats["steps_trained"] >= 256 and config["n_envs"] == 8
    assert confirm(config, 256) >= 8.0  # CartPole's shortest episodes last 8+ steps


def _small_study(tmp_path: Path, n: int = 3):  # type: ignore[no-untyped-def]
    return tune("ppo", "CartPole-v1", n_trials=n, n_timesteps=256, n_evaluations=1,
                n_eval_episodes=1, fixed=SMALL, storage=f"sqlite:///{tmp_path / 'c.db'}",
                study_name="c", pruner=ThresholdPruner(lower=-1e9))


def test_confirm_retrains_the_top_trials_and_best_run_follows_it(tmp_path: Path) -> None:
    study = _small_study(tmp_path)
    rows = confirm(study, top=2, n_seeds=2, n_eval_episodes=2, seed=7)
    ranked = sorted((t for t in study.trials), key=lambda t: -t.value)
    assert {r["trial"] for r in rows} == {ranked[0].number, ranked[1].number}
    assert all(len(r["returns"]) == 2 and r["mean"] == sum(r["returns"]) / 2 for r in rows)
    assert rows[0]["mean"] >= rows[1]["mean"]
    assert study.user_attrs["rl_confirmation"][0]["trial"] == rows[0]["trial"]
    assert best_run(study) == study.trials[rows[0]["trial"]].user_attrs["config"]
    # the same seeds train the same config to the same return
    again = confirm(study, top=1, n_seeds=1, n_eval_episodes=2, seed=7)
    first = next(r for r in rows if r["trial"] == again[0]["trial"])
    assert again[0]["returns"][0] == first["returns"][0]


def test_confirm_ranks_a_failing_config_last(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import autolearn.rl.tune as tune_module

    study = _small_study(tmp_path)
    best = study.best_trial.number

    def fake(config, seed, n_eval_episodes):  # type: ignore[no-untyped-def]
        if config == study.trials[best].user_attrs["config"]:
            raise FloatingPointError("diverged")
        return 10.0

    monkeypatch.setattr(tune_module, "_train_and_evaluate", fake)
    rows = confirm(study, top=3, n_seeds=2)
    assert rows[-1]["trial"] == best and rows[-1]["mean"] == float("-inf")
    assert study.user_attrs["rl_confirmation"][-1]["mean"] is None
    assert best_run(study) != study.trials[best].user_attrs["config"]


def test_confirm_arguments(tmp_path: Path) -> None:
    study = _small_study(tmp_path, n=1)
    for bad in ({"top": 0}, {"n_seeds": 0}, {"n_eval_episodes": 0}):
        with pytest.raises(ConfigError):
            confirm(study, **bad)
    import autolearn

    empty = autolearn.create_study(direction="maximize")
    with pytest.raises(ConfigError, match="no complete trial"):
        confirm(empty)


def test_command_line_confirm(tmp_path: Path) -> None:
    out = tmp_path / "best.yaml"
    result = CliRunner().invoke(app, [
        "rl", "tune", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256",
        "--trials", "3", "--evaluations", "1", "--eval-episodes", "1", "--set", "n_envs=2",
        "--sampler", "random", "--pruner", "none", "--confirm", "2", "--confirm-seeds", "1",
        "--confirm-episodes", "1", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = data["confirmation"]
    assert len(rows) == 2 and data["best_trial"] == rows[0]["trial"]
    assert "confirmed mean return" in out.read_text()


def test_a_diverging_trial_is_pruned_not_failed() -> None:
    import gymnasium as gym

    class Huge(gym.Wrapper):  # type: ignore[type-arg]
        def __init__(self) -> None:
            super().__init__(gym.make("CartPole-v1"))

        def step(self, action):  # type: ignore[no-untyped-def]
            obs, rew, term, trunc, info = self.env.step(action)
            return obs, float(rew) * 1e30, term, trunc, info  # squared errors overflow

    gym.register(id="AutolearnTestHugeRewards-v0", entry_point=Huge)
    try:
        study = tune("a2c", "AutolearnTestHugeRewards-v0", n_trials=1, n_timesteps=256,
                     n_evaluations=1, n_eval_episodes=1,
                     space=lambda trial: {"max_grad_norm": None,
                                          "learning_rate": trial.suggest_float("lr", 1e-3, 1e-2)})
    finally:
        gym.registry.pop("AutolearnTestHugeRewards-v0")
    (trial,) = study.trials
    assert trial.state.name == "PRUNED"
    assert "non-finite gradient" in trial.user_attrs["non_finite"]


def _fixed_space(trial: object) -> dict[str, object]:
    return {}


def test_several_seeds_per_trial_average_their_final_returns() -> None:
    kw = {"n_timesteps": 256, "n_evaluations": 2, "n_eval_episodes": 2, "space": _fixed_space,
          "fixed": {"n_envs": 2}, "pruner": ThresholdPruner(lower=-1e9)}
    one = tune("a2c", "CartPole-v1", n_trials=4, **kw)  # trial t: seed t
    two = tune("a2c", "CartPole-v1", n_trials=2, n_seeds=2, **kw)  # trial t: seeds 2t, 2t+1
    single = [t.value for t in one.trials]
    assert len(set(single)) > 1, "the seeds must differ for this test to mean anything"
    for t in two.trials:
        pair = single[2 * t.number: 2 * t.number + 2]
        assert t.user_attrs["seed_values"] == pair
        assert t.value == pytest.approx(sum(pair) / 2)
        first = one.trials[2 * t.number]  # only the first seed reports to the pruner
        assert t.intermediate_values == first.intermediate_values
        assert t.user_attrs["eval_timesteps"] == first.user_attrs["eval_timesteps"]
        assert t.user_attrs["timesteps"] == 2 * first.user_attrs["timesteps"]


def test_a_pruned_trial_trains_no_further_seeds() -> None:
    study = tune("a2c", "CartPole-v1", n_trials=1, n_timesteps=400, n_evaluations=4,
                 n_eval_episodes=1, pruner=ThresholdPruner(lower=1e9), fixed={"n_envs": 2},
                 n_seeds=3)
    (trial,) = study.trials
    assert trial.state.name == "PRUNED" and "seed_values" not in trial.user_attrs
    assert trial.user_attrs["timesteps"] < 400
    with pytest.raises(ConfigError, match="`n_seeds` must be an int >= 1"):
        tune("a2c", "CartPole-v1", n_trials=1, n_timesteps=100, n_seeds=0)


def test_command_line_trial_seeds_and_confirm_arguments_checked_first(tmp_path: Path) -> None:
    out = tmp_path / "best.yaml"
    result = CliRunner().invoke(app, [
        "rl", "tune", "--algo", "a2c", "--env", "CartPole-v1", "--steps", "200",
        "--trials", "2", "--evaluations", "1", "--eval-episodes", "1", "--set", "n_envs=2",
        "--sampler", "random", "--pruner", "none", "--trial-seeds", "2", "--out", str(out),
        "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["trials"] == {"complete": 2}
    assert "(mean of 2 seeds)" in out.read_text()
    db = tmp_path / "rl.db"
    for args, message in ((["--trial-seeds", "0"], "--trial-seeds must be >= 1"),
                          (["--confirm", "2", "--confirm-seeds", "0"],
                           "--confirm-seeds and --confirm-episodes must be >= 1"),
                          (["--confirm", "1", "--confirm-episodes", "0"],
                           "--confirm-seeds and --confirm-episodes must be >= 1")):
        bad = CliRunner().invoke(app, [
            "rl", "tune", "--algo", "a2c", "--env", "CartPole-v1", "--steps", "200",
            "--trials", "1", "--storage", f"sqlite:///{db}", *args])
        assert bad.exit_code != 0 and message in bad.output, bad.output
    assert not db.exists(), "refused before the search: no study was created"


def test_resuming_a_study_with_other_settings_is_refused_before_any_trial(tmp_path: Path
                                                                         ) -> None:
    import autolearn
    from autolearn.rl.tune import SETTINGS

    storage = f"sqlite:///{tmp_path / 'r.db'}"
    kw = {"n_evaluations": 1, "n_eval_episodes": 1, "storage": storage, "study_name": "s"}
    tune("a2c", "CartPole-v1", n_trials=1, n_timesteps=100, fixed={"n_envs": 2}, **kw)
    for args, message in (({"algo": "ppo"}, "algo: stored 'a2c', given 'ppo'"),
                          ({"n_timesteps": 200}, "n_timesteps: stored 100, given 200"),
                          ({"fixed": {"n_envs": 4}}, "fixed.n_envs: stored 2, given 4"),
                          ({"n_seeds": 2}, "n_seeds: stored 1, given 2")):
        call = {"algo": "a2c", "n_timesteps": 100, "fixed": {"n_envs": 2}, **args}
        with pytest.raises(ConfigError, match=message):
            tune(call.pop("algo"), "CartPole-v1", n_trials=1, **call, **kw)
    study = autolearn.load_study(study_name="s", storage=storage)
    assert len(study.trials) == 1  # nothing ran
    tune("a2c", "CartPole-v1", n_trials=1, n_timesteps=100, fixed={"n_envs": 2}, **kw)
    resumed = autolearn.load_study(study_name="s", storage=storage)
    assert len(resumed.trials) == 2  # the same settings resume
    # a study from before the settings were recorded: adopted if its trials fit ...
    study.set_user_attr(SETTINGS, None)
    tune("a2c", "CartPole-v1", n_trials=1, n_timesteps=100, fixed={"n_envs": 2}, **kw)
    # ... and a study of something else refused
    other = autolearn.create_study(storage, study_name="other", direction="maximize")
    other.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(ConfigError, match="not `autolearn rl tune` trials"):
        tune("a2c", "CartPole-v1", n_trials=1, n_timesteps=100,
             **{**kw, "study_name": "other"})
    with pytest.raises(ConfigError, match="no gymnasium env 'NoSuchEnv-v0'"):
        tune("a2c", "NoSuchEnv-v0", n_trials=1, n_timesteps=100)


def test_command_line_checks_algo_and_out_before_searching(tmp_path: Path) -> None:
    for args, message in ((["--algo", "nope"], "--algo must be one of a2c, a3c"),
                          (["--algo", "ppo", "--out", str(tmp_path / "no" / "x.yaml")],
                           "no directory")):
        bad = CliRunner().invoke(app, ["rl", "tune", "--env", "CartPole-v1", "--steps", "64",
                                       *args])
        assert bad.exit_code != 0 and message in bad.output, bad.output
