"""Task samplers: shapes, disjoint support/query sets, held-out classes, minting."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from autolearn.exceptions import ConfigError  # noqa: E402
from autolearn.meta import (  # noqa: E402
    CallableTasks,
    FewShotTasks,
    SinusoidTasks,
    Task,
    digits_tasks,
    mint_mnist1d,
    mnist1d_tasks,
    stack_tasks,
)


def test_sinusoid_tasks_follow_the_paper_protocol() -> None:
    tasks = SinusoidTasks(shots=10, n_query=30).sample(200, np.random.default_rng(0))
    assert tasks[0].support_x.shape == (10, 1) and tasks[0].query_y.shape == (30, 1)
    x = torch.cat([torch.cat([t.support_x, t.query_x]) for t in tasks])
    y = torch.cat([torch.cat([t.support_y, t.query_y]) for t in tasks])
    assert x.min() >= -5 and x.max() <= 5 and y.abs().max() <= 5
    assert y.abs().max() > 4  # amplitudes reach towards 5
    again = SinusoidTasks(shots=10, n_query=30).sample(200, np.random.default_rng(0))
    assert torch.equal(again[7].query_y, tasks[7].query_y)


def test_few_shot_tasks_have_disjoint_support_and_query_and_right_shapes() -> None:
    n_classes, per_class = 8, 12
    X = np.arange(n_classes * per_class, dtype=float)[:, None].repeat(3, 1)  # unique rows
    y = np.repeat(np.arange(n_classes), per_class)
    sampler = FewShotTasks(X, y, ways=5, shots=2, n_query=4)
    for task in sampler.sample(20, np.random.default_rng(1)):
        assert task.support_x.shape == (10, 3) and task.query_x.shape == (20, 3)
        assert task.support_y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
        assert sorted(task.query_y.tolist()) == sorted(list(range(5)) * 4)
        ids_s = set(task.support_x[:, 0].tolist())
        ids_q = set(task.query_x[:, 0].tolist())
        assert len(ids_s) == 10 and len(ids_q) == 20 and not ids_s & ids_q
        assert len(set(task.classes)) == 5
        for label, cls in enumerate(task.classes):  # labels map to the recorded classes
            rows = task.support_x[task.support_y == label, 0].numpy().astype(int)
            assert (y[rows] == cls).all()


def test_few_shot_tasks_validate_their_arguments() -> None:
    X, y = np.zeros((20, 2)), np.repeat(np.arange(4), 5)
    with pytest.raises(ConfigError, match="`ways`"):
        FewShotTasks(X, y, ways=5, shots=1, n_query=2)
    with pytest.raises(ConfigError, match="`classes`"):
        FewShotTasks(X, y, ways=2, shots=3, n_query=3)
    with pytest.raises(ConfigError, match="`shots`"):
        SinusoidTasks(shots=0)


def test_digits_splits_hold_out_classes_and_images() -> None:
    pytest.importorskip("sklearn")
    train, val, test = (digits_tasks(s, ways=5, shots=1, n_query=5)
                        for s in ("train", "val", "test"))
    assert set(train.classes) == {0, 1, 2, 3, 4}
    assert set(val.classes) == set(test.classes) == {5, 6, 7, 8, 9}
    v, t = val.dataset()[0], test.dataset()[0]
    assert not ({tuple(r) for r in v.tolist()} & {tuple(r) for r in t.tolist()})
    task = test.sample(1, np.random.default_rng(0))[0]
    assert task.support_x.shape == (5, 64) and task.query_x.shape == (25, 64)


def test_minted_mnist1d_classes_are_reproducible_standardised_and_distinct() -> None:
    X, y = mint_mnist1d(6, 10, seed=0)
    assert X.shape == (60, 40) and X.dtype == np.float32 and y.tolist() == sorted(y.tolist())
    assert abs(X.mean()) < 1e-4 and abs(X.std() - 1) < 1e-3
    np.testing.assert_array_equal(X, mint_mnist1d(6, 10, seed=0)[0])
    assert not np.allclose(X, mint_mnist1d(6, 10, seed=1)[0])
    # examples of one class are closer to each other than to other classes (on average)
    means = np.stack([X[y == c].mean(0) for c in range(6)])
    within = np.mean([np.linalg.norm(X[y == c] - means[c], axis=1).mean() for c in range(6)])
    between = np.mean([np.linalg.norm(X[y == c] - means[(c + 1) % 6], axis=1).mean()
                       for c in range(6)])
    assert within < between


def test_mnist1d_held_out_classes_are_disjoint_from_training_classes() -> None:
    kw = {"ways": 3, "shots": 1, "n_query": 2, "n_classes": 6, "n_per_class": 5}
    train, test = mnist1d_tasks("train", **kw), mnist1d_tasks("test", **kw)
    assert not set(train.classes) & set(test.classes)
    assert not np.isin(test.X.numpy(), train.X.numpy()).all(axis=1).any()
    task = test.sample(2, np.random.default_rng(0))[1]
    assert task.support_x.shape == (3, 40) and set(task.classes) <= set(test.classes)


def test_user_sampler_and_stacking() -> None:
    def fn(n: int, rng: np.random.Generator) -> list[Task]:
        xs = torch.as_tensor(rng.normal(size=(n, 6, 2)), dtype=torch.float32)
        return [Task(x[:3], x[:3, :1], x[3:], x[3:, :1]) for x in xs]

    sampler = CallableTasks(fn, loss="mse", n_outputs=1)
    sx, sy, qx, qy = stack_tasks(sampler.sample(4, np.random.default_rng(0)))
    assert sx.shape == (4, 3, 2) and qy.shape == (4, 3, 1)
    ragged = [Task(torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(3, 1), torch.zeros(3, 1)),
              Task(torch.zeros(4, 1), torch.zeros(4, 1), torch.zeros(3, 1), torch.zeros(3, 1))]
    with pytest.raises(ConfigError, match="`tasks`"):
        stack_tasks(ragged)
