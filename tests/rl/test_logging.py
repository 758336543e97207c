"""The TensorBoard and progress-bar callbacks."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console

from autolearn.exceptions import AutolearnError
from autolearn.rl import PPO, EvalCallback, PPOConfig, ProgressBar, TensorBoardLogger
from autolearn.rl.common.loggers import MissingDependencyError

CFG = PPOConfig(n_envs=4, n_steps=32, batch_size=64, n_epochs=1)  # 128 steps per update


def test_progress_bar_shows_steps_fps_and_return():
    buf = io.StringIO()
    bar = ProgressBar(total=512, console=Console(file=buf, width=200, force_terminal=False))
    PPO("CartPole-v1", CFG, seed=0).learn(512, callback=bar)
    out = buf.getvalue()
    assert "512/512" in out and "steps/s" in out
    assert bar.fps > 0 and 8 <= bar.last_return <= 500
    bar.close()  # closing twice is fine
    bar(None, {"timesteps": 640})  # and a closed bar ignores further rows


def test_progress_bar_continues_and_stops_with_learn():
    buf = io.StringIO()
    agent = PPO("CartPole-v1", CFG, seed=0).learn(128)
    with ProgressBar(total=256, start=agent.num_timesteps,
                     console=Console(file=buf, width=200)) as bar:
        agent.learn(256, callback=[bar, lambda a, row: row["timesteps"] < 256])
    assert "128/256" in buf.getvalue()  # stopped after one of two updates


def test_tensorboard_logger_writes_diagnostics_and_evaluations(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with TensorBoardLogger(tmp_path / "tb") as tb:
        evals = EvalCallback("CartPole-v1", eval_every=256, n_episodes=2)
        PPO("CartPole-v1", CFG, seed=0).learn(512, callback=[evals, tb])
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/ep_return_mean", "train/approx_kl", "train/clip_fraction",
            "train/explained_variance", "train/stopped_early", "eval/return_mean"} <= tags
    assert [e.step for e in acc.Scalars("train/approx_kl")] == [128, 256, 384, 512]
    scalars = acc.Scalars("eval/return_mean")
    assert [e.step for e in scalars] == [t for t, _, _ in evals.evaluations] == [256, 512]
    assert [e.value for e in scalars] == pytest.approx([m for _, m, _ in evals.evaluations])


def test_tensorboard_missing_is_a_clear_import_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails
    with pytest.raises(MissingDependencyError, match="pip install tensorboard") as info:
        TensorBoardLogger(tmp_path / "tb")
    assert isinstance(info.value, ImportError) and isinstance(info.value, AutolearnError)


def test_learn_progress_bar_keyword(monkeypatch):
    import inspect

    from autolearn.exceptions import ConfigError
    from autolearn.rl import A2C, DQN, A2CConfig, DQNConfig
    from autolearn.rl.common import loggers

    bars = []

    class Recording(loggers.ProgressBar):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(loggers, "ProgressBar", Recording)
    seen = []
    agent = A2C("CartPole-v1", A2CConfig(n_envs=2), seed=0)
    agent.learn(100, lambda a, row: seen.append(row["timesteps"]), progress_bar=True)
    agent.learn(50, progress_bar=True)
    assert [(b.total, b.start) for b in bars] == [(100, 0), (50, 100)]
    assert all(b._closed for b in bars) and seen  # the positional callback ran too
    assert bars[0]._done >= 100
    DQN("CartPole-v1", DQNConfig(learning_starts=10), seed=0).learn(30, progress_bar=False)
    assert len(bars) == 2
    assert "progress_bar" in inspect.signature(A2C.learn).parameters
    with pytest.raises(ConfigError, match="`progress_bar` must be True or False"):
        agent.learn(10, progress_bar="yes")
