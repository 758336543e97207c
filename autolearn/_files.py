"""Writing files so that a crash never leaves a half-written one in place.

A checkpoint overwritten in place (an agent's ``save``, ``EvalCallback``'s
``best_model.pt``, a replay buffer, a learned optimiser) is lost if the process dies
during the write: the old file is already truncated and the new one incomplete.
:func:`atomic_write` writes a temporary file beside the target and renames it over the
target only once it is complete (``os.replace``: atomic on POSIX and Windows), so the
target is always either the old file or the new one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(fh)`` on a temporary file beside ``path`` (same folder, so the rename
    stays on one file system), flush it to disk, then move it over ``path``; if ``write``
    raises, ``path`` is left as it was and the temporary file removed (what ``write``
    returns is ignored). Returns ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
