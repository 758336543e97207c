"""A3C through the conformance suite (asynchronous, so not bit-reproducible), plus its parts."""

import numpy as np
import pytest
import torch

from autolearn.exceptions import ConfigError
from autolearn.rl import A3C, A3CConfig, NormalizeObservation, evaluate, make_vec_env
from autolearn.rl.a3c import SharedRMSprop
from autolearn.rl.common import RunningMeanStd, SharedNormalizer, SharedRunningMeanStd
from autolearn.testing.envs import Chain
from autolearn.testing.rl import RLAgentConformance


class TestA3C(RLAgentConformance):
    config_cls = A3CConfig
    bad_values = {"gamma": 1.5, "n_steps": 0, "n_workers": 0, "rms_alpha": 1.0,
                  "normalize_obs": "yes", "normalize_reward": 1, "rows_per_message": 0}
    bandit_steps, chain_steps = 512, 4096  # margin: asynchronous runs vary
    n_envs_learn = 2  # per worker: 2 workers x 2 envs

    @staticmethod
    def make_agent(env_fn, seed, n_envs=1):
        cfg = A3CConfig(n_workers=2, n_envs=n_envs, n_steps=8, learning_rate=3e-3,
                        hidden=(32,), gamma=0.95, ent_coef=0.0)
        return A3C(env_fn, cfg, seed=seed)

    def test_same_seed_same_actions_and_losses(self):
        pytest.skip("A3C is asynchronous: the interleaving of Hogwild updates from several "
                    "processes depends on OS scheduling, so it is not bit-reproducible "
                    "(the single-worker case is checked in test_one_worker_is_reproducible)")


def test_one_worker_is_reproducible():
    cfg = A3CConfig(n_workers=1, n_envs=2, n_steps=8, hidden=(16,))
    a, b = (A3C(Chain, cfg, seed=3).learn(160) for _ in range(2))
    assert [r["policy_loss"] for r in a.history] == [r["policy_loss"] for r in b.history]


@pytest.mark.parametrize("rows_per_message", [1, 10, 1000])
def test_rows_come_from_every_worker_and_count_all_steps(rows_per_message):
    """Whether the forked workers send each row at once or in lists (1000: only when they
    stop), every segment's row is logged once."""
    cfg = A3CConfig(n_workers=3, n_envs=1, n_steps=5, hidden=(16,),
                    rows_per_message=rows_per_message)
    # enough steps that both forked workers (~30 ms to start) surely update before the end
    agent = A3C(Chain, cfg, seed=0).learn(3_000)
    ts = [r["timesteps"] for r in agent.history]
    assert {r["worker"] for r in agent.history} == {0, 1, 2}
    assert sorted(ts) == list(range(5, max(ts) + 1, 5))  # every segment logged once
    assert agent.num_timesteps == max(ts) and 3_000 <= max(ts) < 3_000 + 3 * 5


def test_shared_rmsprop_matches_the_update_rule():
    p = torch.tensor([1.0, -2.0])
    opt = SharedRMSprop([p], alpha=0.9, eps=1e-5)
    g = torch.tensor([0.5, 1.0])
    opt.step([g], lr=0.1)
    sq = 0.1 * g**2
    torch.testing.assert_close(p, torch.tensor([1.0, -2.0]) - 0.1 * g / (sq.sqrt() + 1e-5))
    torch.testing.assert_close(opt.square_avg[0], sq)


def test_worker_error_is_raised_in_the_caller():
    calls = {"n": 0}

    def flaky_env():
        calls["n"] += 1
        if calls["n"] > 1:  # the forked workers' copies fail
            raise OSError("no env here")
        return Chain()

    agent = A3C(flaky_env, A3CConfig(n_workers=2, hidden=(8,)), seed=0)
    with pytest.raises(RuntimeError, match="no env here"):
        agent.learn(10_000)


def test_learns_chain_with_more_workers():
    cfg = A3CConfig(n_workers=4, n_envs=1, n_steps=8, learning_rate=3e-3, hidden=(32,),
                    gamma=0.95, ent_coef=0.0)
    agent = A3C(Chain, cfg, seed=1).learn(8192)
    assert evaluate(agent, Chain, n_episodes=2)[0] == 1.0, agent.predict(np.eye(5))


def test_shared_running_mean_std_matches_the_plain_one_and_crosses_fork():
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(4, 3)) * 5 + 2 for _ in range(6)]
    plain, shared = RunningMeanStd((3,)), SharedRunningMeanStd((3,))
    for x in batches[:3]:
        plain.update(x)
        shared.update(x)
    ctx = torch.multiprocessing.get_context("fork")
    child = ctx.Process(target=lambda: [shared.update(x) for x in batches[3:]])
    child.start()
    child.join()
    assert child.exitcode == 0
    for x in batches[3:]:
        plain.update(x)
    np.testing.assert_allclose(shared.mean, plain.mean)
    np.testing.assert_allclose(shared.var, plain.var)
    assert shared.count == pytest.approx(plain.count)
    fresh = SharedRunningMeanStd((3,))
    fresh.load_state_dict(shared.state_dict())
    np.testing.assert_array_equal(fresh.mean_var()[1], shared.var)


def test_normalisation_statistics_are_shared_by_every_worker():
    cfg = A3CConfig(n_workers=2, n_envs=2, n_steps=5, hidden=(16,), normalize_obs=True,
                    normalize_reward=True)
    # enough steps that the forked worker (~30 ms to start) surely updates before the end
    agent = A3C("CartPole-v1", cfg, seed=0).learn(4_000)
    obs_rms, ret_rms = agent.normalizer.obs_rms, agent.normalizer.ret_rms
    # every env step of both workers plus each worker's reset (2 envs each)
    assert obs_rms.count == pytest.approx(agent.num_timesteps + 2 * 2, abs=1e-3)
    assert ret_rms.count == pytest.approx(agent.num_timesteps, abs=1e-3)
    assert {r["worker"] for r in agent.history} == {0, 1}
    # worker 0's env uses them: a raw observation comes out normalised with them
    wrapper = agent.env.env
    assert isinstance(wrapper, NormalizeObservation) and wrapper.rms is obs_rms
    raw = np.array([[0.1, -0.2, 0.03, 0.4]], np.float32)
    mean, var = obs_rms.mean_var()
    expected = np.clip((raw - mean) / np.sqrt(var + 1e-8), -10, 10).astype(np.float32)
    np.testing.assert_array_equal(agent.normalizer.normalize(raw), expected)


def test_normalised_agent_saves_its_statistics_and_predicts_from_raw_observations(tmp_path):
    cfg = A3CConfig(n_workers=1, n_envs=2, n_steps=5, hidden=(16,), normalize_obs=True)
    agent = A3C("CartPole-v1", cfg, seed=1).learn(300)
    assert agent.normalizer.ret_rms is None
    agent.save(tmp_path / "a3c.pt")
    loaded = A3C.load(tmp_path / "a3c.pt")
    assert loaded.normalizer.obs_rms.state_dict() == agent.normalizer.obs_rms.state_dict()
    raw = make_vec_env("CartPole-v1", 8).reset(seed=0)[0] * 20  # far from the mean
    normalised = agent.normalizer.normalize(raw)
    assert not np.allclose(normalised, raw)
    torch.testing.assert_close(torch.as_tensor(loaded.predict(raw)),
                               torch.as_tensor(agent.predict(raw)))
    from autolearn.rl.common.agent import predict
    np.testing.assert_array_equal(
        agent.predict(raw), predict(agent.policy, agent.spec, normalised, deterministic=True,
                                    generator=agent.generator))
    with pytest.raises(ConfigError, match="do not match"):
        SharedNormalizer((4,), obs=True, reward=True, gamma=0.99).load_state_dict(
            agent.normalizer.state_dict())


def test_one_worker_with_normalisation_is_reproducible():
    cfg = A3CConfig(n_workers=1, n_envs=2, n_steps=5, hidden=(16,), normalize_obs=True,
                    normalize_reward=True)
    a, b = (A3C("CartPole-v1", cfg, seed=3).learn(200) for _ in range(2))
    assert [r["policy_loss"] for r in a.history] == [r["policy_loss"] for r in b.history]
    assert a.normalizer.state_dict() == b.normalizer.state_dict()


def test_shared_rmsprop_flat_step_equals_the_per_tensor_step():
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (3,), (1, 3)]
    a = [torch.tensor(rng.normal(size=s), dtype=torch.float32) for s in shapes]
    b = [t.clone() for t in a]
    opt_a, opt_b = (SharedRMSprop(ps, alpha=0.99, eps=1e-5) for ps in (a, b))
    for _ in range(3):
        grads = [torch.tensor(rng.normal(size=s), dtype=torch.float32) for s in shapes]
        opt_a.step(grads, lr=0.01)
        opt_b.step_flat(torch.cat([g.reshape(-1) for g in grads]).numpy(), lr=0.01)
    for x, y in zip(a + opt_a.square_avg, b + opt_b.square_avg, strict=True):
        torch.testing.assert_close(x, y)
    assert a[1].data_ptr() == opt_a.flat[6:9].data_ptr()  # parameters are flat views


def test_explained_variance_numpy_equals_torch():
    from autolearn.rl.common.agent import explained_variance

    rng = np.random.default_rng(1)
    y, p = rng.normal(size=20), rng.normal(size=20)
    assert explained_variance(p, y) == pytest.approx(
        explained_variance(torch.tensor(p), torch.tensor(y)), rel=1e-12)
    assert np.isnan(explained_variance(p, np.ones(20)))


def test_callbacks_see_the_global_step_count_and_other_workers_pause_meanwhile():
    """While a callback runs (here it sleeps, as a long evaluation would), the other worker
    waits instead of training on, and callbacks see every step applied so far."""
    import time

    seen: list[tuple[int, int]] = []

    def callback(agent, row):
        seen.append((agent.num_timesteps, row["timesteps"]))
        if len(seen) == 1:
            time.sleep(0.5)  # unpaused, the other worker would do ~1,000 updates meanwhile
        return True

    cfg = A3CConfig(n_workers=2, n_envs=1, n_steps=5, hidden=(16,))
    agent = A3C(Chain, cfg, seed=0).learn(2_000, callback=callback)
    assert all(n >= t for n, t in seen)
    assert seen[1][0] - seen[0][0] <= 200  # a few updates: the ones in progress
    assert agent.num_timesteps == max(r["timesteps"] for r in agent.history)


def test_a_killed_worker_is_a_warning_and_training_goes_on(monkeypatch):
    import os
    import signal
    import warnings

    from autolearn.rl.common import hogwild

    original = hogwild._step_and_count
    calls = {"n": 0}

    def step_then_die(learner, rank, *args):
        row = original(learner, rank, *args)  # the shared locks are released by now
        calls["n"] += 1
        if rank == 1 and calls["n"] == 3:  # worker 1 (forked: its own copy of calls)
            os.kill(os.getpid(), signal.SIGKILL)
        return row

    monkeypatch.setattr(hogwild, "_step_and_count", step_then_die)
    agent = A3C(Chain, A3CConfig(n_workers=2, n_envs=2, hidden=(8,)), seed=0)
    with pytest.warns(RuntimeWarning, match="worker 1 died \\(killed by SIGKILL\\)"):
        agent.learn(3_000)
    assert agent.num_timesteps >= 3_000  # worker 0 finished the budget alone
    monkeypatch.setattr(hogwild, "_step_and_count", original)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        agent.learn(200)  # and the agent still trains, with both workers


@pytest.mark.parametrize("lock_of", ["counter", "normaliser"])
def test_a_worker_killed_holding_a_shared_lock_stops_training_instead_of_hanging(
        monkeypatch, lock_of):
    import os
    import signal
    import time

    from autolearn.rl.common import hogwild, locks

    monkeypatch.setattr(locks, "LOCK_TIMEOUT_S", 1.0)
    original = hogwild._step_and_count
    calls = {"n": 0}
    held: dict[str, object] = {}

    def step_then_die_locked(learner, rank, counter, *args):
        row = original(learner, rank, counter, *args)
        calls["n"] += 1
        if rank == 1 and calls["n"] == 3:  # worker 1 takes a shared lock, then is killed
            lock = counter.get_lock() if lock_of == "counter" else held["lock"]
            lock.acquire()
            os.kill(os.getpid(), signal.SIGKILL)
        return row

    monkeypatch.setattr(hogwild, "_step_and_count", step_then_die_locked)
    cfg = A3CConfig(n_workers=2, n_envs=2, hidden=(8,), normalize_obs=True)
    agent = A3C(Chain, cfg, seed=0)
    held["lock"] = agent.normalizer.obs_rms._lock
    begin = time.monotonic()
    what = "step counter" if lock_of == "counter" else "normalisation statistics"
    with pytest.raises(locks.SharedLockTimeout, match=f"the shared {what} stayed locked"):
        with pytest.warns(RuntimeWarning, match="worker 1 died \\(killed by SIGKILL\\)"):
            agent.learn(100_000)
    assert time.monotonic() - begin < 30  # not a hang: the 1 s limit, then a 5 s grace
    assert 0 < agent.num_timesteps < 100_000


def test_stuck_workers_are_terminated_with_a_warning():
    import multiprocessing
    import time

    from autolearn.rl.common import hogwild

    proc = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,),
                                                       daemon=True)
    proc.start()
    with pytest.warns(RuntimeWarning, match=r"A3C workers \[1\] sent nothing for 5 s"):
        assert hogwild._terminate_stuck([proc], "A3C", 5.0) == {1}
    proc.join(10)
    assert proc.exitcode == -15  # SIGTERM
