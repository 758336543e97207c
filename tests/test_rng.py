"""Seeds: every command and API takes ``int | Generator | None``; bad ones are ConfigErrors."""

from __future__ import annotations

import numpy as np
import pytest

from autolearn._rng import as_generator
from autolearn.exceptions import ConfigError


def test_seeds_are_checked():
    assert as_generator(3).integers(1 << 30) == np.random.default_rng(3).integers(1 << 30)
    g = np.random.default_rng(0)
    assert as_generator(g) is g
    assert isinstance(as_generator(None), np.random.Generator)
    with pytest.raises(ConfigError, match="`seed` must be >= 0"):
        as_generator(-1)
    for bad in (1.5, "3", True):
        with pytest.raises(ConfigError, match="must be an int"):
            as_generator(bad)  # type: ignore[arg-type]
