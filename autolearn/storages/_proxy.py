"""Share a storage object of one process with its worker processes.

``Study.optimize(n_jobs > 1)`` on an in-memory storage serves the storage from the parent
process over a local socket (authenticated, loopback only: an AF_UNIX socket in a private
temporary directory); each worker talks to it through :class:`StorageClient`, which
implements the storage contract by forwarding calls.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from autolearn.storages._base import BaseStorage

__all__ = ["StorageClient", "StorageServer"]

_FORWARDED = (
    "create_study", "delete_study", "get_study_id", "get_all_studies", "set_study_attr",
    "create_trial", "set_trial_param", "set_trial_state_values",
    "set_trial_intermediate_value", "set_trial_attr", "get_trial", "get_all_trials",
    "record_heartbeat", "get_stale_trial_ids", "get_study", "get_trial_by_number",
    "get_n_trials", "fail_stale_trials",
)


class StorageServer:
    """Serve ``storage`` to other processes until :meth:`close`."""

    def __init__(self, storage: BaseStorage) -> None:
        self._storage = storage
        self._dir = tempfile.mkdtemp(prefix="autolearn-")
        self.address = os.path.join(self._dir, "storage.sock")
        self.authkey = secrets.token_bytes(32)
        self._listener = Listener(self.address, family="AF_UNIX", authkey=self.authkey)
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name="autolearn-storage-server")
        self._thread.start()

    def lease_options(self) -> dict[str, Any]:
        s = self._storage
        return {"heartbeat_interval": s.heartbeat_interval, "grace_period": s.grace_period,
                "failed_trial_retries": s.failed_trial_retries}

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except (OSError, EOFError):
                if self._closed:
                    return
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        with conn:
            while True:
                try:
                    name, args, kwargs = conn.recv()
                except (EOFError, OSError):
                    return
                if name not in _FORWARDED:
                    conn.send((False, AttributeError(f"storage method {name!r} not served")))
                    continue
                try:
                    result = getattr(self._storage, name)(*args, **kwargs)
                except Exception as exc:
                    conn.send((False, exc))
                else:
                    conn.send((True, result))

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)


class StorageClient(BaseStorage):
    """A storage whose calls run in the process that serves it (see StorageServer)."""

    def __init__(self, address: str, authkey: bytes, **lease_options: Any) -> None:
        super().__init__(**lease_options)
        self._address = address
        self._authkey = authkey
        self._conn: Connection | None = None
        self._pid = -1
        self._lock = threading.Lock()

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                self._conn = Client(self._address, family="AF_UNIX", authkey=self._authkey)
                self._pid = os.getpid()
            self._conn.send((name, args, kwargs))
            ok, result = self._conn.recv()
        if ok:
            return result
        raise result

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


def _forwarder(name: str) -> Any:
    def method(self: StorageClient, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = getattr(BaseStorage, name).__doc__
    return method


for _name in _FORWARDED:
    setattr(StorageClient, _name, _forwarder(_name))
StorageClient.__abstractmethods__ = frozenset()
