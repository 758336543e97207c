"""The RL benchmark's cache serves a run only for the setting it ran."""

from benchmarks.rl._bench import _cached, _fingerprint, _key

TASK = {"kind": "solve", "algo": "ppo", "env": "Pendulum-v1", "n_envs": 4, "lib": "autolearn",
        "seed": 0, "budget": 100_000}


def test_a_record_of_another_setting_is_stale():
    fresh = {"key": _key(TASK), "setting": _fingerprint(TASK, False)}
    stale = {"key": _key(TASK), "setting": "0123456789ab"}
    legacy = {"key": _key(TASK)}  # written before fingerprints: kept
    assert _cached({_key(TASK): fresh}, TASK, False) is fresh
    assert _cached({_key(TASK): stale}, TASK, False) is None
    assert _cached({_key(TASK): legacy}, TASK, False) is legacy
    assert _cached({}, TASK, False) is None
    assert _fingerprint(TASK, False) != _fingerprint({**TASK, "env": "CartPole-v1"}, False)
