"""The storage contract every study store implements.

A storage keeps studies and their trials and is the single source of truth: samplers,
pruners, the CLI and every worker process read and write through it. Implementations
must make the following atomic, also across processes when the storage is shared:

* :meth:`BaseStorage.create_trial` allocates trial numbers 0, 1, 2, ... without gaps or
  duplicates, and hands each WAITING trial to exactly one caller;
* :meth:`BaseStorage.set_trial_state_values` finishes a trial at most once: finishing a
  trial that is no longer RUNNING raises :class:`~autolearn.exceptions.TrialStateError`
  (so a worker that was presumed dead can never overwrite the verdict).

Parameters are stored by internal value (see :mod:`autolearn.space`) together with their
distribution; returned :class:`~autolearn.study.FrozenTrial` records carry external values
and are copies: changing them never changes the store.

Call order for one trial: ``create_trial`` -> (``set_trial_param`` |
``set_trial_intermediate_value`` | ``set_trial_attr`` | ``record_heartbeat``)* ->
``set_trial_state_values``.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from autolearn._records import FrozenTrial, StudyDirection, TrialState
from autolearn.exceptions import ConfigError
from autolearn.space import BaseDistribution

__all__ = ["BaseStorage", "StudyInfo"]

_logger = logging.getLogger(__name__)

#: System attribute holding the parameters a WAITING (enqueued) trial must use.
FIXED_PARAMS_KEY = "fixed_params"
#: System attribute holding why a trial failed.
FAIL_REASON_KEY = "fail_reason"
#: System attribute on a re-queued trial: number of the trial it retries.
RETRY_OF_KEY = "retry_of"


@dataclass(frozen=True)
class StudyInfo:
    """What a storage knows about one study (a copy)."""

    study_id: int
    study_name: str
    directions: tuple[StudyDirection, ...]
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    system_attrs: Mapping[str, Any] = field(default_factory=dict)
    n_trials: int = 0
    datetime_start: _dt.datetime | None = None


class BaseStorage(ABC):
    """Abstract study store.

    Args:
        heartbeat_interval: Seconds between lease renewals of RUNNING trials; None turns
            leases off (a dead worker's trial then stays RUNNING).
        grace_period: A RUNNING trial whose lease is older than this is considered dead and
            marked FAIL by the next worker that looks (default: 4 x heartbeat_interval).
        failed_trial_retries: How many times a trial that failed because its worker died
            is re-queued (as a WAITING trial with the same parameters). 0 disables.
    """

    #: URL this storage can be re-opened from in another process, or None.
    url: str | None = None

    def __init__(
        self,
        *,
        heartbeat_interval: float | None = 10.0,
        grace_period: float | None = None,
        failed_trial_retries: int = 0,
    ) -> None:
        if heartbeat_interval is not None and not heartbeat_interval > 0:
            raise ConfigError(
                f"`heartbeat_interval > 0` must hold (or pass None), but got {heartbeat_interval}"
            )
        if grace_period is None and heartbeat_interval is not None:
            grace_period = 4.0 * heartbeat_interval
        if grace_period is not None and heartbeat_interval is not None and (
            grace_period <= heartbeat_interval
        ):
            raise ConfigError(
                "`grace_period > heartbeat_interval` must hold, but got "
                f"grace_period={grace_period}, heartbeat_interval={heartbeat_interval}"
            )
        if isinstance(failed_trial_retries, bool) or failed_trial_retries < 0:
            raise ConfigError(
                f"`failed_trial_retries >= 0` must hold, but got {failed_trial_retries}"
            )
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.failed_trial_retries = int(failed_trial_retries)

    # ---- studies ---------------------------------------------------------------------
    @abstractmethod
    def create_study(self, directions: Sequence[StudyDirection], study_name: str) -> int:
        """Create a study and return its id; raises DuplicatedStudyError if the name exists."""

    @abstractmethod
    def delete_study(self, study_id: int) -> None:
        """Delete a study with all its trials; raises StudyNotFoundError."""

    @abstractmethod
    def get_study_id(self, study_name: str) -> int:
        """Id of the study named ``study_name``; raises StudyNotFoundError."""

    @abstractmethod
    def get_all_studies(self) -> list[StudyInfo]:
        """Every study, ordered by id."""

    @abstractmethod
    def set_study_attr(self, study_id: int, key: str, value: Any, *, system: bool = False) -> None:
        """Set a JSON-serialisable user (or system) attribute of a study."""

    # ---- trials ----------------------------------------------------------------------
    @abstractmethod
    def create_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        """Create a trial and return it.

        Without ``template``: claim the oldest WAITING trial of the study (it becomes
        RUNNING, its start time is set) or, if there is none, create a fresh RUNNING one.
        With ``template``: store a copy of that record (WAITING, COMPLETE, PRUNED or FAIL)
        under a new number; its ``number`` and ``trial_id`` are ignored.
        """

    @abstractmethod
    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        """Record a parameter of a RUNNING trial."""

    @abstractmethod
    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> None:
        """Finish a RUNNING trial (COMPLETE with values, PRUNED or FAIL).

        Raises TrialStateError if the trial is not RUNNING.
        """

    @abstractmethod
    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        """Record the value reported at ``step`` (any float, NaN and inf included)."""

    @abstractmethod
    def set_trial_attr(self, trial_id: int, key: str, value: Any, *, system: bool = False) -> None:
        """Set a JSON-serialisable user (or system) attribute of a trial."""

    @abstractmethod
    def get_trial(self, trial_id: int) -> FrozenTrial:
        """A snapshot of one trial; raises TrialNotFoundError."""

    @abstractmethod
    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """Snapshots of the study's trials (optionally only ``states``), ordered by number."""

    # ---- leases ----------------------------------------------------------------------
    @abstractmethod
    def record_heartbeat(self, trial_ids: Sequence[int]) -> None:
        """Renew the lease of each RUNNING trial in ``trial_ids`` to now."""

    @abstractmethod
    def get_stale_trial_ids(self, study_id: int, grace_period: float) -> list[int]:
        """RUNNING trials whose last heartbeat is older than ``grace_period`` seconds.

        Trials that never recorded a heartbeat are never stale.
        """

    # ---- derived (implementations may override for speed) ----------------------------
    def get_study(self, study_id: int) -> StudyInfo:
        """Info of one study; raises StudyNotFoundError."""
        from autolearn.exceptions import StudyNotFoundError

        for info in self.get_all_studies():
            if info.study_id == study_id:
                return info
        raise StudyNotFoundError(f"no study with id {study_id} in this storage")

    def get_trial_by_number(self, study_id: int, number: int) -> FrozenTrial:
        """The trial numbered ``number`` in the study; raises TrialNotFoundError."""
        from autolearn.exceptions import TrialNotFoundError

        for t in self.get_all_trials(study_id):
            if t.number == number:
                return t
        raise TrialNotFoundError(f"study {study_id} has no trial number {number}")

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        return len(self.get_all_trials(study_id, states))

    def fail_stale_trials(self, study_id: int) -> list[int]:
        """Mark trials whose worker died as FAIL; re-queue them if configured.

        Returns the numbers of the trials this call failed. Safe to call from any number of
        workers at once: each dead trial is failed (and re-queued) exactly once.
        """
        from autolearn.exceptions import TrialStateError

        if self.heartbeat_interval is None or self.grace_period is None:
            return []
        failed: list[int] = []
        for trial_id in self.get_stale_trial_ids(study_id, self.grace_period):
            try:
                self.set_trial_state_values(trial_id, TrialState.FAIL)
            except TrialStateError:
                continue  # another worker got there first, or the trial just finished
            trial = self.get_trial(trial_id)
            try:
                self.set_trial_attr(
                    trial_id,
                    FAIL_REASON_KEY,
                    f"worker stopped sending heartbeats for more than {self.grace_period:g} s "
                    "(process killed or machine lost)",
                    system=True,
                )
            except TrialStateError:
                pass
            failed.append(trial.number)
            _logger.warning("Trial %d marked FAIL: its worker died.", trial.number)
            retries = int(trial.system_attrs.get("retry_count", 0))
            if retries < self.failed_trial_retries:
                from autolearn._records import FrozenTrial as _FT

                root = trial.system_attrs.get(RETRY_OF_KEY, trial.number)
                self.create_trial(
                    study_id,
                    _FT(
                        number=-1,
                        trial_id=-1,
                        state=TrialState.WAITING,
                        values=None,
                        params={},
                        distributions={},
                        user_attrs=dict(trial.user_attrs),
                        system_attrs={
                            FIXED_PARAMS_KEY: dict(trial.params),
                            RETRY_OF_KEY: root,
                            "retry_count": retries + 1,
                        },
                    ),
                )
        return failed

    def close(self) -> None:
        """Release connections and file handles (the storage may be reopened from its URL)."""

    def _now(self) -> float:
        return time.time()
