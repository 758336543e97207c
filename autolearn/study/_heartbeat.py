"""Lease renewal for RUNNING trials: one daemon thread per (process, storage)."""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autolearn.storages import BaseStorage

__all__ = ["register", "unregister"]

_logger = logging.getLogger(__name__)


class _Heartbeat:
    """Renews the leases of the trials this process is running on one storage."""

    def __init__(self, storage: BaseStorage, interval: float) -> None:
        self._storage_ref = weakref.ref(storage)
        self._interval = interval
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="autolearn-heartbeat", daemon=True)
        self._thread.start()

    def add(self, trial_id: int) -> None:
        with self._lock:
            self._ids.add(trial_id)

    def discard(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def _run(self) -> None:
        while not self._wake.wait(self._interval):
            storage = self._storage_ref()
            if storage is None:
                return
            with self._lock:
                ids = list(self._ids)
            if not ids:
                continue
            try:
                storage.record_heartbeat(ids)
            except Exception:  # a transient storage error must not kill the lease thread
                _logger.warning("Could not renew trial leases; retrying.", exc_info=True)
            del storage


_registry: dict[int, _Heartbeat] = {}
_registry_pid = os.getpid()
_registry_lock = threading.Lock()


def _get(storage: BaseStorage) -> _Heartbeat | None:
    global _registry_pid
    interval = storage.heartbeat_interval
    if interval is None:
        return None
    with _registry_lock:
        if os.getpid() != _registry_pid:  # forked: the parent's threads did not come along
            _registry.clear()
            _registry_pid = os.getpid()
        hb = _registry.get(id(storage))
        if hb is None or hb._storage_ref() is not storage:
            hb = _registry[id(storage)] = _Heartbeat(storage, interval)
        return hb


def register(storage: BaseStorage, trial_id: int) -> None:
    """Keep renewing ``trial_id``'s lease until :func:`unregister`."""
    hb = _get(storage)
    if hb is not None:
        hb.add(trial_id)


def unregister(storage: BaseStorage, trial_id: int) -> None:
    """Stop renewing ``trial_id``'s lease."""
    if storage.heartbeat_interval is None:
        return
    hb = _registry.get(id(storage))
    if hb is not None and os.getpid() == _registry_pid:
        hb.discard(trial_id)
