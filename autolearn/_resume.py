"""Comparing the settings a study was started with against those of a resumed run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["jsonable", "settings_diffs"]


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from a storage (tuples become lists; other objects their
    ``str``)."""
    return json.loads(json.dumps(value, default=str))


def settings_diffs(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """``"key: stored X, given Y"`` for every setting that differs (one level of nested
    mappings compared key by key, as ``key.sub``)."""
    diffs = []
    for key in sorted(set(stored) | set(given)):
        old, value = stored.get(key), given.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            diffs += [f"{key}.{k}: stored {old.get(k)!r}, given {value.get(k)!r}"
                      for k in sorted(set(old) | set(value)) if old.get(k) != value.get(k)]
        elif old != value:
            diffs.append(f"{key}: stored {old!r}, given {value!r}")
    return diffs
