from __future__ import annotations

import json
import multiprocessing
import os
import pickle
from pathlib import Path

import pytest

from autolearn._records import StudyDirection, TrialState, create_trial
from autolearn.exceptions import NotAStoreError, SchemaVersionError, TrialStateError
from autolearn.space import CategoricalDistribution, FloatDistribution
from autolearn.storages import get_storage
from autolearn.storages._journal import FORMAT_VERSION, JournalStorage
from autolearn.testing.storages import StorageConformance

MIN = (StudyDirection.MINIMIZE,)


class TestJournalStorage(StorageConformance):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> JournalStorage:
        return JournalStorage(tmp_path / "journal.jsonl")


def _finish(storage: JournalStorage, sid: int, value: float) -> int:
    t = storage.create_trial(sid)
    storage.set_trial_param(t.trial_id, "x", value, FloatDistribution(-100, 100))
    storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [value])
    return t.trial_id


def test_url_and_get_storage(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    s = get_storage(str(path))
    assert isinstance(s, JournalStorage)
    assert s.url == "journal://" + str(path.resolve())
    s2 = get_storage(s.url)
    assert isinstance(s2, JournalStorage) and s2.path == s.path
    header = json.loads(path.read_text().splitlines()[0])
    assert header == {"format": "autolearn-journal", "version": FORMAT_VERSION}


@pytest.mark.parametrize(
    "content",
    [b"hello world\n", b"SQLite format 3\x00" + bytes(range(256)) * 40, b'{"a": 1}\n',
     b"not a journal, no newline"],
)
def test_not_a_journal_is_left_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "other.jsonl"
    path.write_bytes(content)
    stat = path.stat()
    with pytest.raises(NotAStoreError):
        JournalStorage(path)
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


def test_directory_is_not_a_journal(tmp_path: Path) -> None:
    with pytest.raises(NotAStoreError):
        JournalStorage(tmp_path)


def test_newer_format_version(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    content = (json.dumps({"format": "autolearn-journal", "version": FORMAT_VERSION + 1})
               + "\n").encode()
    path.write_bytes(content)
    with pytest.raises(SchemaVersionError, match="upgrade autolearn"):
        JournalStorage(path)
    assert path.read_bytes() == content


def test_empty_file_and_torn_header_become_journals(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    JournalStorage(empty).create_study(MIN, "a")
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(b'{"format":"autolearn-jour')
    s = JournalStorage(torn)
    s.create_study(MIN, "a")
    assert JournalStorage(torn).get_study_id("a") == 0


def test_reopen_sees_everything(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    s = JournalStorage(path)
    sid = s.create_study(MIN, "a")
    s.set_study_attr(sid, "k", [1, 2])
    done = _finish(s, sid, 1.5)
    running = s.create_trial(sid)
    s.set_trial_param(running.trial_id, "c", 1.0, CategoricalDistribution(["a", "b"]))
    s.set_trial_intermediate_value(running.trial_id, 2, float("-inf"))
    s.set_trial_attr(running.trial_id, "u", {"x": 1})
    s.create_trial(sid, create_trial(state=TrialState.WAITING,
                                     system_attrs={"fixed_params": {"x": 3.0}}))
    s.close()

    r = JournalStorage(path)
    assert r.get_study(sid).user_attrs == {"k": [1, 2]}
    assert r.get_trial(done) == s.get_trial(done)
    assert r.get_trial(running.trial_id) == s.get_trial(running.trial_id)
    assert r.get_trial(running.trial_id).params == {"c": "b"}
    assert [t.state for t in r.get_all_trials(sid)] == [
        TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING]
    claimed = r.create_trial(sid)
    assert claimed.number == 2 and claimed.system_attrs["fixed_params"] == {"x": 3.0}
    assert r.create_trial(sid).number == 3
    # The closed storage reopens lazily and catches up.
    assert s.get_n_trials(sid) == 4


def test_partial_last_line_is_ignored_then_repaired(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    s = JournalStorage(path)
    sid = s.create_study(MIN, "a")
    first = _finish(s, sid, 1.0)
    running = s.create_trial(sid).trial_id
    s.close()
    intact = path.read_bytes()
    # A writer killed mid-write: the finishing line of `running` is cut short.
    with open(path, "ab") as f:
        f.write(b'["f",%d,1,[2.0' % running)

    reader = JournalStorage(path)
    assert reader.get_trial(running).state == TrialState.RUNNING
    assert reader.get_trial(first).values == (1.0,)
    assert path.read_bytes().endswith(b"[2.0")  # reading never modifies the file

    writer = JournalStorage(path)
    second = _finish(writer, sid, 3.0)
    data = path.read_bytes()
    assert data.startswith(intact) and data.endswith(b"\n") and b"[2.0\n" not in data
    for line in data.splitlines():
        json.loads(line)
    writer.set_trial_state_values(running, TrialState.FAIL)

    again = JournalStorage(path)
    trials = again.get_all_trials(sid)
    assert [t.number for t in trials] == [0, 1, 2]
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL,
                                         TrialState.COMPLETE]
    assert again.get_trial(second).values == (3.0,)
    # The reader that saw the torn line catches up with the repaired file.
    assert reader.get_trial(second).values == (3.0,)
    assert reader.get_trial(running).state == TrialState.FAIL


def test_two_storages_in_one_process_see_each_other(tmp_path: Path) -> None:
    a = JournalStorage(tmp_path / "j.jsonl")
    b = JournalStorage(tmp_path / "j.jsonl")
    sid = a.create_study(MIN, "s")
    assert b.get_study_id("s") == sid
    ta = a.create_trial(sid)
    tb = b.create_trial(sid)
    assert (ta.number, tb.number) == (0, 1) and ta.trial_id != tb.trial_id
    b.set_trial_state_values(ta.trial_id, TrialState.COMPLETE, [1.0])
    with pytest.raises(TrialStateError):
        a.set_trial_state_values(ta.trial_id, TrialState.FAIL)
    with pytest.raises(TrialStateError):
        a.set_trial_param(ta.trial_id, "x", 0.5, FloatDistribution(0, 1))
    assert a.get_trial(ta.trial_id).values == (1.0,)
    # A WAITING trial is claimed exactly once.
    a.create_trial(sid, create_trial(state=TrialState.WAITING))
    claimed = b.create_trial(sid)
    fresh = a.create_trial(sid)
    assert claimed.number == 2 and claimed.state == TrialState.RUNNING
    assert fresh.number == 3


def test_pickle_reopens(tmp_path: Path) -> None:
    s = JournalStorage(tmp_path / "j.jsonl", heartbeat_interval=2.0, failed_trial_retries=3)
    sid = s.create_study(MIN, "a")
    _finish(s, sid, 1.0)
    c = pickle.loads(pickle.dumps(s))
    assert (c.url, c.heartbeat_interval, c.grace_period, c.failed_trial_retries) == (
        s.url, 2.0, 8.0, 3)
    assert c.get_all_trials(sid) == s.get_all_trials(sid)
    _finish(c, sid, 2.0)
    assert s.get_n_trials(sid) == 2


def _worker(url: str, study_name: str, n: int) -> None:
    storage = get_storage(url)
    sid = storage.get_study_id(study_name)
    dist = FloatDistribution(0, 1000)
    for _ in range(n):
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", float(t.number), dist)
        storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [t.number * 2.0])
    storage.close()


def _check_complete(storage: JournalStorage, sid: int, n: int) -> None:
    trials = storage.get_all_trials(sid)
    assert [t.number for t in trials] == list(range(n))
    assert len({t.trial_id for t in trials}) == n
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert [t.values for t in trials] == [(2.0 * i,) for i in range(n)]
    assert [t.params["x"] for t in trials] == [float(i) for i in range(n)]


def test_many_processes(tmp_path: Path) -> None:
    storage = JournalStorage(tmp_path / "j.jsonl")
    sid = storage.create_study(MIN, "mp")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(storage.url, "mp", 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    _check_complete(storage, sid, 100)
    _check_complete(JournalStorage(storage.path), sid, 100)


def _forked_worker(storage: JournalStorage, sid: int, n: int) -> None:
    dist = FloatDistribution(0, 1000)
    for _ in range(n):
        t = storage.create_trial(sid)
        storage.set_trial_param(t.trial_id, "x", float(t.number), dist)
        storage.set_trial_state_values(t.trial_id, TrialState.COMPLETE, [t.number * 2.0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_children_reopen_the_file(tmp_path: Path) -> None:
    storage = JournalStorage(tmp_path / "j.jsonl")
    sid = storage.create_study(MIN, "f")
    storage.get_all_trials(sid)  # the parent has an open descriptor and replayed state
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_forked_worker, args=(storage, sid, 20)) for _ in range(3)]
    for p in procs:
        p.start()
    _forked_worker(storage, sid, 20)
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    _check_complete(storage, sid, 80)
