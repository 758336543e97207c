"""A save interrupted half-way leaves the previous checkpoint loadable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from autolearn.rl import A2C, DQN, DQNConfig, EvalCallback


def _interrupting_save(monkeypatch: pytest.MonkeyPatch) -> None:
    real = torch.save

    def half(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        real(obj, f, *args, **kwargs)
        f.truncate(f.tell() // 2)  # as if the process died mid-write
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", half)


def test_an_interrupted_agent_save_keeps_the_previous_file(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    agent = A2C("CartPole-v1", seed=0)
    agent.save(tmp_path / "a.pt")
    before = [p.detach().clone() for p in agent.policy.parameters()]
    agent.learn(500)
    with monkeypatch.context() as m:
        _interrupting_save(m)
        with pytest.raises(KeyboardInterrupt):
            agent.save(tmp_path / "a.pt")
    loaded = A2C.load(tmp_path / "a.pt")
    for a, b in zip(loaded.policy.parameters(), before, strict=True):
        assert torch.equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["a.pt"]


def test_replay_buffer_and_evaluations_files_are_written_whole(tmp_path: Path) -> None:
    agent = DQN("CartPole-v1", DQNConfig(learning_starts=50), seed=0)
    ev = EvalCallback("CartPole-v1", eval_every=100, n_episodes=2, log_path=tmp_path,
                      best_model_save_path=tmp_path)
    agent.learn(300, callback=ev)
    agent.save_replay_buffer(tmp_path / "replay")
    assert (tmp_path / "replay").exists() and not (tmp_path / "replay.npz").exists()
    with np.load(tmp_path / "evaluations.npz") as f:
        assert f["results"].shape == (3, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.pt", "evaluations.npz",
                                                          "replay"]
