"""Locks shared by forked processes, taken with a time limit.

A process killed while it holds a ``multiprocessing`` lock (the OOM killer, ``kill -9``)
never releases it: every other process waiting on it would wait forever. The shared
critical sections of the asynchronous agents (the global step counter, the shared
normalisation statistics) last microseconds, so a lock still taken after
:data:`LOCK_TIMEOUT_S` seconds is one a dead process holds: :func:`acquire` then raises
:class:`SharedLockTimeout` instead of hanging.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LOCK_TIMEOUT_S", "SharedLockTimeout", "acquire"]

#: Seconds a process waits for a shared lock before giving up.
LOCK_TIMEOUT_S = 30.0


class SharedLockTimeout(RuntimeError):
    """A lock shared between processes stayed taken for :data:`LOCK_TIMEOUT_S` seconds."""


def acquire(lock: Any, what: str) -> None:
    """Take ``lock`` (then release it in a ``finally``), or raise :class:`SharedLockTimeout`
    naming ``what`` after :data:`LOCK_TIMEOUT_S` seconds. (A plain function, not a context
    manager: it runs several times per env step on the asynchronous agents' hot path.)"""
    if not lock.acquire(True, LOCK_TIMEOUT_S):
        raise SharedLockTimeout(
            f"{what} stayed locked for {LOCK_TIMEOUT_S:g} s: a worker process most likely "
            "died while holding it (killed inside its few-microsecond critical section), "
            "so training stopped instead of waiting forever. The shared parameters keep "
            "every finished update; a lock a dead process holds stays taken, so rebuild "
            "the agent (e.g. load its last save) before training it again")
