"""``autolearn rl train/eval/defaults``, layered run configs and the ``device`` argument."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner, Result

from autolearn.cli import app
from autolearn.exceptions import ConfigError
from autolearn.rl import A3C, DQN, PPO, A2CConfig, Constant, Linear, PPOConfig
from autolearn.rl.common.agent import resolve_device
from autolearn.rl.common.env import NormalizeObservation
from autolearn.rl.configs import (
    ALGORITHMS,
    algorithm_classes,
    dump_yaml,
    list_default_files,
    make_eval_env,
    resolve,
)

ROOT = Path(__file__).resolve().parents[2]
THRESHOLDS = {"CartPole-v1": 475, "Acrobot-v1": -100, "MountainCar-v0": -110,
              "Pendulum-v1": -250, "MountainCarContinuous-v0": 90}


def run(*args: str) -> Result:
    return CliRunner().invoke(app, ["rl", *args])


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def assert_error(result: Result, *needles: str) -> str:
    """Exactly one ``error:`` line on stderr, exit status 1, no traceback."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# ---- train and eval ---------------------------------------------------------------------
def test_train_writes_a_run_that_eval_loads(tmp_path):
    out = tmp_path / "run"
    result = ok("train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "512",
                "--set", "n_epochs=2", "--eval-every", "256", "--eval-episodes", "2",
                "--out", str(out), "--no-progress", "--json")
    summary = json.loads(result.stdout)
    assert summary["timesteps"] == 512 and summary["device"] == "cpu"
    assert [e["timesteps"] for e in summary["evaluations"]] == [256, 512]
    assert summary["final_eval"]["episodes"] == 2
    for name in ("model.pt", "config.yaml", "progress.csv", "evaluations.csv", "summary.json"):
        assert (out / name).is_file(), name
    assert not (out / "normalization.json").exists()
    with open(out / "progress.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["timesteps"]) for r in rows] == [256, 512]  # 8 envs x 32 steps per update
    # the resolved config: tuned CartPole file + the override, readable by resolve() again
    spec = resolve(path=out / "config.yaml")
    assert spec.algo == "ppo" and spec.env == "CartPole-v1" and spec.n_timesteps == 512
    assert spec.config.n_envs == 8 and spec.config.n_epochs == 2
    assert spec.config.learning_rate == Linear(1e-3)

    evaluated = json.loads(ok("eval", str(out), "--episodes", "3", "--json").stdout)
    assert evaluated["algo"] == "ppo" and evaluated["env"] == "CartPole-v1"
    assert evaluated["episodes"] == 3 and 8 <= evaluated["return_mean"] <= 500
    # the same agent through the Python API gives the same number
    from autolearn.rl import evaluate

    agent = PPO.load(out / "model.pt")
    assert evaluate(agent, "CartPole-v1", 3, seed=0)[0] == pytest.approx(
        evaluated["return_mean"])
    text = ok("eval", str(out / "model.pt"), "--env", "CartPole-v1", "--stochastic",
              "--episodes", "2").stdout
    assert "mean return" in text and "stochastic" in text


def test_normalized_run_saves_and_reuses_statistics(tmp_path):
    out = tmp_path / "run"
    ok("train", "--algo", "a2c", "--env", "Acrobot-v1", "--steps", "200", "--n-envs", "4",
       "--set", "normalize=obs", "--out", str(out), "--eval-episodes", "1", "--no-progress")
    stats = json.loads((out / "normalization.json").read_text())
    assert set(stats) == {"obs"} and len(stats["obs"]["mean"]) == 6
    spec = resolve(path=out / "config.yaml")
    assert spec.normalize == "obs" and spec.config.n_envs == 4
    venv = make_eval_env(spec, 2, state=stats)
    assert isinstance(venv, NormalizeObservation) and venv.training is False
    assert venv.rms.mean.tolist() == stats["obs"]["mean"]
    result = ok("eval", str(out), "--episodes", "2", "--json")
    assert -500 <= json.loads(result.stdout)["return_mean"] <= 0


def test_stop_at_ends_training_early(tmp_path):
    result = ok("train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "20000",
                "--set", "n_epochs=1", "--stop-at", "-1", "--out", str(tmp_path / "r"),
                "--eval-episodes", "0", "--no-progress", "--json")
    summary = json.loads(result.stdout)
    assert summary["timesteps"] < 20000 and "final_eval" not in summary


# ---- configs ----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "field", "value"), [
    ("hidden=32,32", "hidden", (32, 32)),
    ("hidden=[16]", "hidden", (16,)),
    ("learning_rate=lin_1e-3", "learning_rate", Linear(1e-3)),
    ("learning_rate=3e-4", "learning_rate", Constant(3e-4)),
    ("clip_range=0.1", "clip_range", Constant(0.1)),
    ("target_kl=0.02", "target_kl", 0.02),
    ("clip_range_vf=none", "clip_range_vf", None),
    ("normalize_advantage=false", "normalize_advantage", False),
    ("shared=yes", "shared", True),
    ("n_steps=1e2", "n_steps", 100),
    ("batch_size=1_024", "batch_size", 1024),
    ("activation=relu", "activation", "relu"),
])
def test_overrides_are_parsed_by_field_type(text, field, value):
    spec = resolve("ppo", "CartPole-v1", overrides=[text], use_defaults=False)
    assert getattr(spec.config, field) == value


@pytest.mark.parametrize(("override", "needles"), [
    ("n_step=4", ("unknown key 'n_step'", "did you mean 'n_steps'", "valid keys:",
                  "batch_size")),
    ("n_steps=1.5", ("`n_steps` must be an int", "1.5")),
    ("gamma=abc", ("`gamma` must be a number",)),
    ("gamma=1.5", ("`gamma` must be in (0, 1]",)),
    ("learning_rate=lin_x", ("`learning_rate`",)),
    ("hidden=a,b", ("`hidden` must be an int",)),
    ("shared=maybe", ("`shared` must be a boolean",)),
    ("normalize=sometimes", ("`normalize` must be one of",)),
    ("n_timesteps=0", ("`n_timesteps` must be an int >= 1",)),
    ("no-equals-sign", ("key=value",)),
])
def test_bad_keys_and_values_give_one_error_line_naming_the_field(tmp_path, override, needles):
    result = run("train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "64",
                 "--set", override, "--out", str(tmp_path / "r"))
    assert_error(result, *needles)
    with pytest.raises(ConfigError):  # the same typed error from Python
        resolve("ppo", "CartPole-v1", overrides=[override])


def test_yaml_and_toml_files_and_priorities(tmp_path):
    yml = tmp_path / "ppo.yaml"
    yml.write_text("# my settings\nalgo: ppo\nenv: CartPole-v1\nn_epochs: 7\nhidden: [32]\n"
                   "learning_rate: {type: linear, start: 1.0e-3, end: 1.0e-4}\n"
                   "normalize: true\ntarget_kl: null\n")
    toml = tmp_path / "ppo.toml"
    toml.write_text('algo = "ppo"\nenv = "CartPole-v1"\nn_epochs = 7\nhidden = [32]\n'
                    'learning_rate = {type = "linear", start = 1e-3, end = 1e-4}\n'
                    'normalize = "both"\n')
    a, b = resolve(path=yml), resolve(path=toml)
    assert a.config == b.config and a.normalize == b.normalize == "both"
    assert a.config.learning_rate == Linear(1e-3, 1e-4) and a.config.hidden == (32,)
    assert a.config.n_envs == 8  # from the tuned CartPole-v1 file, below the user's file
    assert a.sources[0].endswith("ppo/CartPole-v1.yaml") and a.sources[1] == str(yml)
    c = resolve(path=yml, overrides={"n_epochs": "3"}, n_timesteps=1000)
    assert c.config.n_epochs == 3 and c.n_timesteps == 1000
    assert resolve(path=yml, use_defaults=False).config.n_envs == PPOConfig().n_envs
    assert resolve(path=yml, env="Acrobot-v1").env == "Acrobot-v1"  # the caller's env wins


def test_file_problems_are_config_errors(tmp_path):
    bad = tmp_path / "a2c.yaml"
    bad.write_text("algo: a2c\nenv: CartPole-v1\n")
    with pytest.raises(ConfigError, match="is for algo='a2c'"):
        resolve("ppo", path=bad)
    for name, text, match in [("x.json", "{}", "must end in"), ("l.yaml", "- 1\n", "mapping"),
                              ("b.yaml", "a: [1\n", "not valid YAML"),
                              ("b.toml", "a = \n", "not valid TOML")]:
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=match):
            resolve("ppo", "CartPole-v1", path=tmp_path / name)
    with pytest.raises(ConfigError, match="cannot read"):
        resolve("ppo", "CartPole-v1", path=tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="no environment"):
        resolve("ppo")
    assert_error(run("train", "--algo", "ppo", "--env", "CartPole-v1", "--no-defaults"),
                 "no training budget")
    assert_error(run("train", "--algo", "sac", "--env", "CartPole-v1"), "`algo` must be one of")
    assert_error(run("eval", str(tmp_path / "nothing")), "no agent file")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert_error(run("eval", str(tmp_path / "junk.pt"), "--env", "CartPole-v1"),
                 "not an autolearn agent file")


def test_resolved_config_round_trips_through_yaml(tmp_path):
    for algo in ALGORITHMS:
        spec = resolve(algo, "CartPole-v1", overrides=["learning_rate=lin_5e-4"])
        path = tmp_path / f"{algo}.yaml"
        path.write_text(dump_yaml(spec.to_dict(), "round trip"))
        again = resolve(path=path, use_defaults=False)
        assert again.config == spec.config and again.n_timesteps == spec.n_timesteps


@pytest.mark.parametrize(("algo", "env", "path"), list_default_files(),
                         ids=[f"{a}-{e}" for a, e, _ in list_default_files()])
def test_shipped_default_files_are_valid_and_say_what_they_reach(algo, env, path):
    text = path.read_text()
    assert "# Source:" in text, "each file names where its values come from"
    checked = [line for line in text.splitlines() if line.startswith("# Checked:")]
    assert len(checked) == 1 and "PENDING" not in text, "each file states what it reaches"
    spec = resolve(algo, env)
    _, config_cls = algorithm_classes(algo)
    assert isinstance(spec.config, config_cls)
    assert spec.algo == algo and spec.env == env and spec.n_timesteps is not None
    assert spec.sources == (str(path),)
    assert env in THRESHOLDS


def test_defaults_command_lists_and_prints():
    rows = json.loads(ok("defaults", "--json").stdout)
    assert {(r["algo"], r["env"]) for r in rows} >= {
        ("ppo", "CartPole-v1"), ("a2c", "CartPole-v1"), ("dqn", "CartPole-v1"),
        ("ppo", "Acrobot-v1"), ("a2c", "Acrobot-v1"), ("dqn", "Acrobot-v1"),
        ("ppo", "Pendulum-v1")}
    assert all(r["checked"] for r in rows)
    assert "n_steps: 32" in ok("defaults", "--algo", "ppo", "--env", "CartPole-v1").stdout
    one = json.loads(ok("defaults", "--algo", "dqn", "--env", "CartPole-v1", "--json").stdout)
    assert one["values"]["hidden"] == [256, 256]
    assert_error(run("defaults", "--algo", "ppo", "--env", "Nope-v0"), "no tuned default")


def test_cli_help_does_not_import_torch():
    code = ("import sys; from autolearn.cli import main; rc = main(['rl', '--help']); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "train" in proc.stdout and "eval" in proc.stdout


# ---- device -----------------------------------------------------------------------------
def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    for bad in ("tpu", "cpu:x", 3.5):
        with pytest.raises(ConfigError, match="`device` must be"):
            resolve_device(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_unavailable_cuda_is_a_typed_error(tmp_path):
    with pytest.raises(ConfigError, match="CUDA is not available"):
        PPO("CartPole-v1", PPOConfig(n_steps=8), device="cuda")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda:0")
    assert_error(run("train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "64",
                     "--device", "cuda", "--out", str(tmp_path / "r")), "CUDA is not available")
    assert not (tmp_path / "r").exists()


def test_agents_take_a_device_and_load_onto_one(tmp_path):
    agent = PPO("CartPole-v1", PPOConfig(n_envs=2, n_steps=16, batch_size=16, n_epochs=1),
                seed=0, device="auto").learn(32)
    assert all(p.device.type == resolve_device("auto").type for p in agent.policy.parameters())
    agent.save(tmp_path / "ppo.pt")
    loaded = PPO.load(tmp_path / "ppo.pt", device="cpu")
    assert next(loaded.policy.parameters()).device.type == "cpu"
    dqn = DQN("CartPole-v1", algorithm_classes("dqn")[1](learning_starts=8, batch_size=8),
              seed=0, device="cpu").learn(32)
    assert dqn.device.type == "cpu" and dqn.history[-1]["n_updates"] == 1
    with pytest.raises(ConfigError, match="`device`"):  # no CUDA here, or CUDA but A3C
        A3C("CartPole-v1", algorithm_classes("a3c")[1](n_workers=1), device="cuda")
    assert A3C("CartPole-v1", algorithm_classes("a3c")[1](n_workers=1),
               device="auto").device.type == "cpu"


def test_device_cpu_gives_the_same_run_as_before():
    """The explicit default changes nothing: same seed, same losses with and without it."""
    cfg = A2CConfig(n_envs=2)
    a = algorithm_classes("a2c")[0]("CartPole-v1", cfg, seed=3).learn(100)
    b = algorithm_classes("a2c")[0]("CartPole-v1", cfg, seed=3, device="cpu").learn(100)
    assert [r["policy_loss"] for r in a.history] == [r["policy_loss"] for r in b.history]


# ---- example ----------------------------------------------------------------------------
def test_rl_config_example_runs(tmp_path):
    cmd = [sys.executable, str(ROOT / "examples" / "rl_train_from_config.py"), "--steps",
           "512", "--out", str(tmp_path / "ex")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "evaluation" in proc.stdout
    assert (tmp_path / "ex" / "ppo.pt").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_tuned_cartpole_defaults_solve_it_from_the_cli(tmp_path, algo):
    """What the files' `# Checked:` lines claim: the median over seeds 0-2 (about 20k steps;
    one seed alone spreads from 10k to 50k)."""
    solved = []
    for seed in range(3):
        result = ok("train", "--algo", algo, "--env", "CartPole-v1", "--steps", "60000",
                    "--eval-every", "2000", "--stop-at", "475", "--seed", str(seed),
                    "--out", str(tmp_path / f"r{seed}"), "--no-progress", "--json")
        summary = json.loads(result.stdout)
        assert summary["solved_at"] is not None, summary
        solved.append(summary["solved_at"])
    assert sorted(solved)[1] <= 30_000, solved


def test_a3c_normalises_through_its_own_fields(tmp_path):
    spec = resolve("a3c", "CartPole-v1", overrides=["normalize_obs=true",
                                                    "normalize_reward=yes"])
    assert spec.config.normalize_obs is True and spec.config.normalize_reward is True
    result = run("train", "--algo", "a3c", "--env", "CartPole-v1", "--steps", "64",
                 "--set", "normalize=both", "--out", str(tmp_path / "r"))
    assert_error(result, "`normalize` must be 'none' for a3c", "normalize_obs")


def test_mountaincar_continuous_file_is_what_its_benchmark_checked():
    from benchmarks.rl.mountaincar_continuous import tuned_file_mismatches

    assert tuned_file_mismatches() == []


def test_train_keeps_the_best_evaluated_agent_with_its_statistics(tmp_path):
    """--eval-every also writes best_model.pt (EvalCallback's, SB3's name) and the
    normalisation statistics it was evaluated with; `rl eval` of that file uses them, so it
    reproduces the best evaluation exactly."""
    out = tmp_path / "r"
    (out).mkdir()
    (out / "best_model.pt").write_text("stale")  # from an earlier run: removed
    summary = json.loads(ok(
        "train", "--algo", "a2c", "--env", "CartPole-v1", "--steps", "3000", "--set",
        "n_envs=4", "--set", "normalize=both", "--eval-every", "500", "--eval-episodes", "3",
        "--no-defaults", "--out", str(out), "--no-progress", "--json").stdout)
    means = [e["return_mean"] for e in summary["evaluations"]]
    best = summary["best"]
    assert best["return_mean"] == max(means)
    assert best["timesteps"] == summary["evaluations"][means.index(max(means))]["timesteps"]
    assert best["model"] == str(out / "best_model.pt")
    assert (out / "best_normalization.json").is_file()
    assert json.loads((out / "best_normalization.json").read_text()) != json.loads(
        (out / "normalization.json").read_text()), "statistics of another time than the end"
    again = json.loads(ok("eval", str(out / "best_model.pt"), "--episodes", "3",
                          "--json").stdout)
    assert again["return_mean"] == best["return_mean"]
    final = json.loads(ok("eval", str(out), "--episodes", "3", "--json").stdout)
    assert final["return_mean"] == summary["final_eval"]["return_mean"]


def test_a_run_that_cannot_start_leaves_the_earlier_run_in_out_intact(tmp_path):
    out = tmp_path / "run"
    ok("train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256", "--set",
       "normalize=both", "--set", "n_envs=2", "--no-defaults", "--out", str(out),
       "--eval-episodes", "0", "--no-progress")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"config.yaml", "normalization.json", "model.pt"} <= set(before)
    for args, message in ((["--env", "NoSuchEnv-v0"], "no gymnasium env 'NoSuchEnv-v0'"),
                          (["--env", "Pendulum-v1", "--algo", "dqn"], "Discrete")):
        cmd = ["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "256",
               "--no-defaults", "--out", str(out), *args]
        assert_error(run(*cmd), message)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert_error(run("eval", str(out), "--env", "Acrobot-v1"),
                 "was trained on CartPole-v1, whose spaces differ from Acrobot-v1's",
                 "obs_shape: the agent's (4,), the env's (6,)")
    fresh = tmp_path / "fresh"
    assert_error(run("train", "--algo", "ppo", "--env", "NoSuchEnv-v0", "--steps", "64",
                     "--out", str(fresh)), "no gymnasium env")
    assert not fresh.exists()


def test_bad_values_are_refused_with_a_message(tmp_path):
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00a")
    base = ["train", "--algo", "ppo", "--env", "CartPole-v1", "--steps", "64", "--out",
            str(tmp_path / "r")]
    for extra, message in ((["--seed", "-1"], "`seed` must be >= 0"),
                           (["--config", str(binary)], "is not UTF-8 text"),
                           (["--set", "learning_rate=inf"], "`learning_rate` must be finite"),
                           (["--set", "clip_range=lin_nan"], "`clip_range` must be finite"),
                           (["--stop-at", "nan"], "--stop-at must be a finite return"),
                           (["--n-envs", "99999999999999999999"], "`n_envs` must be in [1, "),
                           (["--n-envs", "2", "--set", "n_envs=4"], "disagree"),
                           (["--set", "algo=dqn"], "algo='dqn' (an override) contradicts"),
                           (["--set", "env=Acrobot-v1"], "contradicts env='CartPole-v1'")):
        assert_error(run(*base, *extra), message)
    assert_error(run("eval", str(tmp_path), "--seed", "-1"), "no agent file")  # checked first
    assert_error(run("defaults", "--algo", "nope"), "no tuned default file for algo='nope'",
                 "ppo")
