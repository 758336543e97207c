"""Exceptions raised by autolearn.

Every error derives from :class:`AutolearnError`; each leaf also subclasses the builtin
exception a Python user would expect (``ValueError`` for bad input, ``KeyError`` for a
missing record, ``RuntimeError`` for an operation in the wrong state), so existing
``except ValueError:`` handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "AutolearnError",
    "ConfigError",
    "DuplicatedStudyError",
    "NoCompletedTrialsError",
    "NonFiniteError",
    "SchemaVersionError",
    "SearchExhausted",
    "SearchSpaceError",
    "StorageError",
    "StudyNotFoundError",
    "TrialNotFoundError",
    "TrialPruned",
    "TrialStateError",
    "NotAStoreError",
]


class AutolearnError(Exception):
    """Root of every error raised by autolearn."""


class ConfigError(AutolearnError, ValueError):
    """An argument or configuration value breaks a documented rule."""


class SearchSpaceError(AutolearnError, ValueError):
    """A distribution or search space is invalid, or a parameter is used inconsistently."""


class SearchExhausted(AutolearnError, RuntimeError):
    """A finite search space has no unvisited point left (for example a finished grid)."""


class DuplicatedStudyError(AutolearnError, ValueError):
    """A study with the requested name already exists in the storage."""


class NoCompletedTrialsError(AutolearnError, ValueError):
    """A best trial was asked for, but no trial of the study has completed yet."""


class StudyNotFoundError(AutolearnError, KeyError):
    """No study with the requested name or id exists in the storage."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class TrialNotFoundError(AutolearnError, KeyError):
    """No trial with the requested id or number exists."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TrialStateError(AutolearnError, RuntimeError):
    """The operation is not allowed in the trial's current state (e.g. it already finished)."""


class StorageError(AutolearnError, RuntimeError):
    """The storage could not complete an operation."""


class SchemaVersionError(StorageError):
    """The storage was written by a different schema version (upgrade it, or upgrade autolearn)."""


class NotAStoreError(StorageError):
    """The file or database is not an autolearn store; it was left untouched."""


class NonFiniteError(AutolearnError, FloatingPointError):
    """A NaN or infinite value was about to enter training (an environment's observations
    or rewards, or a diverging update's gradient); it was refused, so what training had
    built so far (networks, optimiser state, statistics, replay buffer) is unchanged."""


class TrialPruned(AutolearnError):
    """Raised inside an objective to stop the current trial early.

    Not an error: :meth:`autolearn.Study.optimize` records the trial as ``PRUNED`` with its
    last reported value and continues.
    """
