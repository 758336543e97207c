"""Conformance suite every storage passes.

Subclass :class:`StorageConformance` in a test module and provide a ``storage``
fixture that returns a fresh, empty storage::

    class TestMyStorage(StorageConformance):
        @pytest.fixture
        def storage(self, tmp_path):
            return MyStorage(tmp_path / "store")

Needs pytest (a dev dependency).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest

from autolearn._records import FrozenTrial, StudyDirection, TrialState, create_trial
from autolearn.exceptions import (
    ConfigError,
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialNotFoundError,
    TrialStateError,
)
from autolearn.space import CategoricalDistribution, FloatDistribution, IntDistribution
from autolearn.storages import BaseStorage

__all__ = ["StorageConformance"]

MIN = (StudyDirection.MINIMIZE,)


def _finish(storage: BaseStorage, sid: int, value: float) -> FrozenTrial:
    t = storage.create_trial(sid)
    storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [value])
    return storage.get_trial(t.trial_id)


class StorageConformance:
    """Behaviour shared by every :class:`~autolearn.storages.BaseStorage`."""

    @pytest.fixture
    def storage(self) -> BaseStorage:  # pragma: no cover - overridden
        raise NotImplementedError

    # ---- studies -----------------------------------------------------------------------
    def test_create_and_find_study(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        sid2 = storage.create_study(
            (StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE), "b"
        )
        assert sid != sid2
        assert storage.get_study_id("a") == sid
        infos = storage.get_all_studies()
        assert [i.study_name for i in infos] == ["a", "b"]
        assert infos[1].directions == (StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE)
        assert storage.get_study(sid2).study_name == "b"

    def test_duplicate_study_name(self, storage: BaseStorage) -> None:
        storage.create_study(MIN, "a")
        with pytest.raises(DuplicatedStudyError):
            storage.create_study(MIN, "a")

    def test_missing_study(self, storage: BaseStorage) -> None:
        with pytest.raises(StudyNotFoundError):
            storage.get_study_id("nope")
        with pytest.raises(StudyNotFoundError):
            storage.get_all_trials(12345)
        with pytest.raises(StudyNotFoundError):
            storage.delete_study(12345)

    def test_delete_study_removes_trials(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        other = storage.create_study(MIN, "b")
        t = _finish(storage, sid, 1.0)
        _finish(storage, other, 2.0)
        storage.delete_study(sid)
        with pytest.raises(StudyNotFoundError):
            storage.get_study_id("a")
        with pytest.raises(TrialNotFoundError):
            storage.get_trial(t.trial_id)
        assert [x.values for x in storage.get_all_trials(other)] == [(2.0,)]
        # The name can be reused.
        storage.create_study(MIN, "a")

    def test_study_attrs(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        storage.set_study_attr(sid, "k", {"x": [1, 2.5, "s", None]})
        storage.set_study_attr(sid, "k2", 3)
        storage.set_study_attr(sid, "k2", 4)
        storage.set_study_attr(sid, "sys", "v", system=True)
        info = storage.get_study(sid)
        assert dict(info.user_attrs) == {"k": {"x": [1, 2.5, "s", None]}, "k2": 4}
        assert dict(info.system_attrs) == {"sys": "v"}

    def test_attr_must_be_json(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        with pytest.raises(ConfigError):
            storage.set_study_attr(sid, "k", object())
        t = storage.create_trial(sid)
        with pytest.raises(ConfigError):
            storage.set_trial_attr(t.trial_id, "k", {1, 2})
        assert storage.get_trial(t.trial_id).user_attrs == {}

    # ---- trials --------------------------------------------------------------------------
    def test_trial_numbers_are_per_study_and_contiguous(self, storage: BaseStorage) -> None:
        a = storage.create_study(MIN, "a")
        b = storage.create_study(MIN, "b")
        na = [storage.create_trial(a).number for _ in range(3)]
        nb = [storage.create_trial(b).number for _ in range(2)]
        assert na == [0, 1, 2] and nb == [0, 1]
        ids = {t.trial_id for t in storage.get_all_trials(a) + storage.get_all_trials(b)}
        assert len(ids) == 5

    def test_trial_life_cycle(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        t = storage.create_trial(sid)
        assert t.state == TrialState.RUNNING and t.datetime_start is not None
        assert t.values is None and t.datetime_complete is None
        fd = FloatDistribution(0.001, 1.0, log=True)
        cd = CategoricalDistribution(["a", 1, None, [1, 2]])
        idist = IntDistribution(0, 10, step=2)
        storage.set_trial_param(t.trial_id, "x", 0.01, fd)
        storage.set_trial_param(t.trial_id, "c", 3.0, cd)
        storage.set_trial_param(t.trial_id, "i", 4.0, idist)
        storage.set_trial_intermediate_value(t.trial_id, 0, 0.5)
        storage.set_trial_intermediate_value(t.trial_id, 3, float("nan"))
        storage.set_trial_intermediate_value(t.trial_id, 5, float("inf"))
        storage.set_trial_attr(t.trial_id, "u", [1, "x"])
        storage.set_trial_attr(t.trial_id, "s", {"a": 1}, system=True)
        storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [0.25])
        got = storage.get_trial(t.trial_id)
        assert got.state == TrialState.COMPLETE and got.values == (0.25,)
        assert dict(got.params) == {"x": 0.01, "c": [1, 2], "i": 4}
        assert isinstance(got.params["i"], int)
        assert dict(got.distributions) == {"x": fd, "c": cd, "i": idist}
        assert got.intermediate_values[0] == 0.5
        assert math.isnan(got.intermediate_values[3])
        assert got.intermediate_values[5] == float("inf")
        assert dict(got.user_attrs) == {"u": [1, "x"]}
        assert dict(got.system_attrs) == {"s": {"a": 1}}
        assert got.datetime_complete is not None
        assert got.datetime_complete >= got.datetime_start  # type: ignore[operator]
        assert storage.get_all_trials(sid) == [got]

    def test_finished_trial_is_final(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        t = _finish(storage, sid, 1.0)
        for state in (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED):
            with pytest.raises(TrialStateError):
                storage.set_trial_state_values(t.trial_id, state, [2.0] if
                                               state == TrialState.COMPLETE else None)
        with pytest.raises(TrialStateError):
            storage.set_trial_param(t.trial_id, "x", 0.5, FloatDistribution(0, 1))
        running = storage.create_trial(sid)
        for state in (TrialState.RUNNING, TrialState.WAITING):
            with pytest.raises(ConfigError):
                storage.set_trial_state_values(running.trial_id, state)
        with pytest.raises(TrialStateError):
            storage.set_trial_intermediate_value(t.trial_id, 1, 0.5)
        with pytest.raises(TrialStateError):
            storage.set_trial_attr(t.trial_id, "u", 1)
        assert storage.get_trial(t.trial_id).values == (1.0,)

    def test_values_and_states(self, storage: BaseStorage) -> None:
        sid = storage.create_study((StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE), "a")
        t1 = storage.create_trial(sid)
        storage.set_trial_state_values(t1.trial_id, TrialState.COMPLETE, [-1e300, float("inf")])
        t2 = storage.create_trial(sid)
        storage.set_trial_state_values(t2.trial_id, TrialState.PRUNED)
        t3 = storage.create_trial(sid)
        storage.set_trial_state_values(t3.trial_id, TrialState.FAIL)
        storage.create_trial(sid)
        got = storage.get_all_trials(sid)
        assert [t.state for t in got] == [TrialState.COMPLETE, TrialState.PRUNED,
                                          TrialState.FAIL, TrialState.RUNNING]
        assert got[0].values == (-1e300, float("inf"))
        assert [t.number for t in storage.get_all_trials(
            sid, states=(TrialState.PRUNED, TrialState.RUNNING))] == [1, 3]
        assert storage.get_n_trials(sid) == 4
        assert storage.get_n_trials(sid, (TrialState.COMPLETE,)) == 1
        assert storage.get_study(sid).n_trials == 4
        assert storage.get_trial_by_number(sid, 2).state == TrialState.FAIL
        with pytest.raises(TrialNotFoundError):
            storage.get_trial_by_number(sid, 99)
        with pytest.raises(TrialNotFoundError):
            storage.get_trial(10**9)

    def test_template_trials_and_waiting_queue(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        fd = FloatDistribution(0, 1)
        done = create_trial(params={"x": 0.5}, distributions={"x": fd}, value=3.0,
                            user_attrs={"u": 1}, intermediate_values={1: 2.0})
        added = storage.create_trial(sid, done)
        assert added.number == 0 and added.state == TrialState.COMPLETE
        assert added.values == (3.0,) and dict(added.params) == {"x": 0.5}
        assert dict(added.intermediate_values) == {1: 2.0}
        w1 = storage.create_trial(sid, create_trial(
            state=TrialState.WAITING, system_attrs={"fixed_params": {"x": 0.1}}))
        w2 = storage.create_trial(sid, create_trial(
            state=TrialState.WAITING, system_attrs={"fixed_params": {"x": 0.2}}))
        assert (w1.number, w2.number) == (1, 2)
        assert w1.state == TrialState.WAITING and w1.datetime_start is None
        c1 = storage.create_trial(sid)
        c2 = storage.create_trial(sid)
        c3 = storage.create_trial(sid)
        assert (c1.trial_id, c2.trial_id) == (w1.trial_id, w2.trial_id)
        assert c1.state == TrialState.RUNNING and c1.datetime_start is not None
        assert c1.system_attrs["fixed_params"] == {"x": 0.1}
        assert c3.number == 3

    def test_snapshots_are_copies(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        t = storage.create_trial(sid)
        storage.set_trial_attr(t.trial_id, "u", [1])
        snap = storage.get_trial(t.trial_id)
        with pytest.raises(TypeError):
            snap.user_attrs["u"] = 2  # type: ignore[index]
        storage.set_trial_attr(t.trial_id, "u", [2])
        assert snap.user_attrs["u"] == [1]  # an old snapshot does not follow the store
        assert storage.get_trial(t.trial_id).user_attrs["u"] == [2]
        info = storage.get_study(sid)
        assert info.n_trials == 1

    # ---- leases --------------------------------------------------------------------------
    def test_heartbeat_and_stale_trials(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        t = storage.create_trial(sid)
        done = _finish(storage, sid, 1.0)
        storage.record_heartbeat([t.trial_id, done.trial_id])
        assert storage.get_stale_trial_ids(sid, 60.0) == []
        import time

        time.sleep(0.05)
        assert storage.get_stale_trial_ids(sid, 0.01) == [t.trial_id]
        storage.record_heartbeat([t.trial_id])
        assert storage.get_stale_trial_ids(sid, 30.0) == []

    def test_fail_stale_trials_and_retry(self, storage: BaseStorage) -> None:
        import time

        storage.heartbeat_interval, storage.grace_period = 0.01, 0.02
        storage.failed_trial_retries = 1
        sid = storage.create_study(MIN, "a")
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", 0.5, FloatDistribution(0, 1))
        storage.record_heartbeat([t.trial_id])
        time.sleep(0.05)
        assert storage.fail_stale_trials(sid) == [0]
        assert storage.fail_stale_trials(sid) == []
        dead = storage.get_trial(t.trial_id)
        assert dead.state == TrialState.FAIL and "heartbeat" in dead.system_attrs["fail_reason"]
        retry = storage.get_trial_by_number(sid, 1)
        assert retry.state == TrialState.WAITING
        assert retry.system_attrs["fixed_params"] == {"x": 0.5}
        assert retry.system_attrs["retry_of"] == 0

    # ---- concurrency (threads; process-level checks live in the multi-process tests) ----
    def test_concurrent_create_trial_numbers_unique(self, storage: BaseStorage) -> None:
        sid = storage.create_study(MIN, "a")
        for _ in range(6):
            storage.create_trial(sid, create_trial(state=TrialState.WAITING))
        got: list[Any] = []
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(10):
                    t = storage.create_trial(sid)
                    storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [1.0])
                    got.append(t)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors
        numbers = sorted(t.number for t in got)
        assert numbers == list(range(40))
        assert len(set(t.trial_id for t in got)) == 40
        trials = storage.get_all_trials(sid)
        assert [t.number for t in trials] == list(range(40))
        assert all(t.state == TrialState.COMPLETE for t in trials)
