"""Helpers for the common case: a training loop that reports once per epoch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autolearn.exceptions import ConfigError, TrialPruned

__all__ = ["fit_partial", "report_and_prune", "run_epochs"]


def report_and_prune(trial: Any, value: float, step: int) -> None:
    """Report ``value`` at ``step`` and raise :class:`~autolearn.TrialPruned` if the
    study's pruner says so.

    Example:
        >>> for epoch in range(n_epochs):                       # doctest: +SKIP
        ...     loss = train_one_epoch(model)
        ...     autolearn.pruners.report_and_prune(trial, loss, epoch)
    """
    trial.report(value, step)
    if trial.should_prune():
        raise TrialPruned(f"pruned at step {step} (value {value:.6g})")


def run_epochs(trial: Any, n_epochs: int, epoch: Callable[[int], float]) -> float:
    """Call ``epoch(i)`` for ``i = 0 .. n_epochs - 1``; each returns the validation value
    to report. Prunes through :func:`report_and_prune`; returns the last value.

    Works for plain Python loops and torch training alike::

        def epoch(i):
            train_one_epoch(model, optimizer, train_loader)
            return evaluate(model, val_loader)     # e.g. validation loss

        return autolearn.pruners.run_epochs(trial, 20, epoch)
    """
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 1:
        raise ConfigError(f"`n_epochs >= 1` must hold, but got {n_epochs!r}")
    value = float("nan")
    for i in range(n_epochs):
        value = float(epoch(i))
        report_and_prune(trial, value, i)
    return value


def fit_partial(
    trial: Any,
    estimator: Any,
    X: Any,
    y: Any,
    X_val: Any,
    y_val: Any,
    *,
    n_epochs: int,
    classes: Any = None,
    score: Callable[[Any, Any, Any], float] | None = None,
) -> float:
    """Train a scikit-learn estimator with ``partial_fit`` one epoch (one pass over
    ``X, y``) at a time, reporting its validation score after each epoch.

    Args:
        trial: The trial to report to.
        estimator: Any estimator with ``partial_fit`` (SGDClassifier, MLPClassifier, ...).
        X, y: Training data.
        X_val, y_val: Validation data.
        n_epochs: Passes over the training data.
        classes: All class labels, needed by classifiers' first ``partial_fit``.
        score: ``score(estimator, X_val, y_val) -> float``; default ``estimator.score``
            (accuracy or R², so create the study with ``direction="maximize"``).

    Returns:
        The validation score after the last epoch.
    """
    if not hasattr(estimator, "partial_fit"):
        raise ConfigError(
            f"{type(estimator).__name__} has no partial_fit(); use an incremental estimator "
            "such as SGDClassifier or MLPClassifier"
        )
    scorer = score or (lambda est, Xv, yv: est.score(Xv, yv))

    def epoch(i: int) -> float:
        if i == 0 and classes is not None:
            estimator.partial_fit(X, y, classes=classes)
        else:
            estimator.partial_fit(X, y)
        return float(scorer(estimator, X_val, y_val))

    return run_epochs(trial, n_epochs, epoch)
