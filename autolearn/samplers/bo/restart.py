"""Leaving a converged basin: restart phases for the BO loop.

A GP search on a multimodal function can descend into the basin nearest its best startup
point, converge there, and never sample near a better basin: away from its data the model
predicts the constant mean, so expected improvement elsewhere is negligible (Hartmann-6:
see ``docs/samplers_gp.md``). A model of *all* the data keeps saying so, whatever the
acquisition or its maximiser. :class:`TrustRegionRestarts` therefore starts, once the
main search has stalled, a fresh search elsewhere, in the manner of TuRBO's restarts
(Eriksson et al. 2019):

1. **Stall.** The incumbent improved by less than ``stall_tol`` of the scale of ``y``
   (median minus minimum) over the last ``stall_window`` complete trials, and the
   expected improvement of the main search's proposal is below ``ei_tol`` of that scale.
2. **Phase.** ``n_design`` space-filling points (each the Sobol candidate farthest from
   every observed point, away from the cube's faces and outside ``exclusion_radius *
   sqrt(D)`` of the incumbent and of earlier phases' best points), then expected
   improvement against the *phase's* best value under a GP fitted to the *phase's trials
   only*, maximised in a box around the phase's best point (the whole cube at first);
   the box's side doubles after ``success_tol`` successive improvements and halves after
   ``failure_tol`` (default: the dimension, at least 4) successive failures. Proposals
   inside the exclusion radius are penalised, so the phase does not slide back into a
   basin already found. The phase ends when the side falls below ``min_side`` or after
   ``max_phase_trials`` trials; after ``main_between`` main trials another phase starts if
   the search is still stalled.
3. **Refinement.** Every ``refine_every``-th trial of a phase refines the incumbent
   instead (expected improvement under the model of all data, in a box of side
   ``refine_side`` around it), so a search that had converged in the best basin still
   reaches its last digits.

A phase's points are ordinary observations: once one is better than the incumbent, the
incumbent moves there and is refined. Everything is a function of the history (the phase
of each trial is recorded in its system attributes), so a resumed study or parallel
workers replay the same state.

References:
    Eriksson, Pearce, Gardner, Turner & Poloczek (2019). Scalable global optimization via
    local Bayesian optimization. NeurIPS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autolearn.samplers.bo._base import Posterior

__all__ = ["PHASE_KEY", "PhaseState", "RestartHistory", "TrustRegionRestarts", "stalled"]

#: System attribute of a trial proposed by the restarts: ``"phase:kind"``, kind ``"design"``
#: or ``"local"`` (phase >= 1), or ``"0:refine"`` for a refinement of the incumbent.
PHASE_KEY = "bo:restart"


def stalled(y: np.ndarray, window: int, tol: float) -> bool:
    """Whether the best of ``y`` (in trial order) improved by less than ``tol`` times
    ``median(y) - min(y)`` over its last ``window`` values (False if too few)."""
    y = np.asarray(y, dtype=float)
    if len(y) <= window:
        return False
    best, before = float(y.min()), float(y[:-window].min())
    scale = float(np.median(y)) - best
    return not before - best > tol * scale


@dataclass(frozen=True)
class PhaseState:
    """A restart phase replayed from its trials.

    Attributes:
        phase: Its number (1 for the first).
        n_design: Design points proposed so far (complete or running).
        n_trials: Trials of the phase (complete or running).
        best_x: ``(D,)`` its best complete point, or None.
        best_y: Its best complete value (``inf`` if none).
        side: The local box's current side on the cube.
        ended: Whether the phase is over (box collapsed or too many trials).
    """

    phase: int
    n_design: int
    n_trials: int
    best_x: np.ndarray | None
    best_y: float
    side: float
    ended: bool


@dataclass(frozen=True)
class TrustRegionRestarts:
    """Configuration and pure logic of the restarts (see the module docstring)."""

    stall_window: int = 10
    stall_tol: float = 1e-2
    ei_tol: float = 1e-3
    main_between: int = 5
    n_design: int = 5
    init_side: float = 1.0
    max_side: float = 1.0
    min_side: float = 0.05
    success_tol: int = 3
    failure_tol: int | None = None
    max_phase_trials: int = 90
    exclusion_radius: float = 0.1
    margin: float = 0.05
    refine_every: int = 3
    refine_side: float = 0.1

    def __post_init__(self) -> None:
        from autolearn.exceptions import ConfigError

        if self.stall_window < 1:
            raise ConfigError(f"`stall_window >= 1` must hold, but got {self.stall_window}")
        if self.refine_every < 0 or self.refine_every == 1:
            raise ConfigError("`refine_every` must be 0 (never) or at least 2, but got "
                              f"{self.refine_every}")
        if not 0.0 < self.refine_side <= 1.0:
            raise ConfigError(f"`0 < refine_side <= 1` must hold, but got {self.refine_side}")
        if self.main_between < 0:
            raise ConfigError(f"`main_between >= 0` must hold, but got {self.main_between}")
        if not 0.0 < self.min_side <= self.init_side <= self.max_side <= 1.0:
            raise ConfigError("`0 < min_side <= init_side <= max_side <= 1` must hold, but got "
                              f"{self.min_side}, {self.init_side}, {self.max_side}")
        if self.n_design < 1 or self.max_phase_trials <= self.n_design:
            raise ConfigError("`1 <= n_design < max_phase_trials` must hold, but got "
                              f"n_design={self.n_design}, "
                              f"max_phase_trials={self.max_phase_trials}")

    def replay(self, phase: int, kinds: list[str], X: np.ndarray, y: np.ndarray,
               complete: np.ndarray, dim: int) -> PhaseState:
        """State of ``phase`` from its trials in trial order: ``kinds`` (``"design"`` /
        ``"local"``), points ``X: (n, D)``, values ``y: (n,)`` and which are complete."""
        fail_tol = self.failure_tol or max(4, dim)
        side, succ, fail = self.init_side, 0, 0
        best_y, best_x = np.inf, None
        scale = 0.0
        ended = len(kinds) >= self.max_phase_trials
        for kind, x, v, done in zip(kinds, X, y, complete, strict=True):
            if not done:
                continue
            if kind == "local" and best_x is not None:
                if best_y - v > 1e-3 * max(abs(best_y), scale, 1e-12):
                    succ, fail = succ + 1, 0
                else:
                    succ, fail = 0, fail + 1
                if succ >= self.success_tol:
                    side, succ = min(2.0 * side, self.max_side), 0
                if fail >= fail_tol:
                    side, fail = side / 2.0, 0
            if v < best_y:
                best_y, best_x = float(v), x
            scale = max(scale, abs(float(v)))
        ended = ended or side < self.min_side
        return PhaseState(phase, sum(k == "design" for k in kinds), len(kinds), best_x, best_y,
                          side, ended)

    def design_point(self, candidates: np.ndarray, X: np.ndarray, centres: np.ndarray,
                     continuous: np.ndarray) -> np.ndarray:
        """The candidate (``(m, D)``, valid points) farthest from every observed point of
        ``X``, among those inside the margin on the continuous coordinates and outside the
        exclusion radius of ``centres`` (falls back to all candidates if none is)."""
        d = candidates.shape[1]
        ok = np.all((candidates[:, continuous] >= self.margin)
                    & (candidates[:, continuous] <= 1.0 - self.margin), axis=1)
        if len(centres):
            dc = np.sqrt(((candidates[:, None, :] - centres[None]) ** 2).sum(-1)).min(1)
            ok &= dc > self.exclusion_radius * np.sqrt(d)
        pool = candidates[ok] if ok.any() else candidates
        dist = np.sqrt(((pool[:, None, :] - X[None]) ** 2).sum(-1)).min(1) if len(X) else \
            np.zeros(len(pool))
        return pool[int(np.argmax(dist))]

    def box(self, centre: np.ndarray, side: float, continuous: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper corners of the local box (continuous coordinates only; the
        others span the cube), shifted to lie inside the cube."""
        lo, hi = np.zeros_like(centre), np.ones_like(centre)
        c = np.clip(centre[continuous], side / 2.0, 1.0 - side / 2.0) if side < 1 else \
            np.full(continuous.sum(), 0.5)
        lo[continuous] = np.maximum(c - side / 2.0, 0.0)
        hi[continuous] = np.minimum(c + side / 2.0, 1.0)
        return lo, hi


@dataclass(frozen=True)
class RestartHistory:
    """The complete and running trials as the restarts see them, in trial order.

    Attributes:
        policy: The configuration.
        points: ``(n, D)`` encoded points.
        values: ``(n,)`` values to minimise (nan for running trials).
        complete: ``(n,)`` which trials are complete.
        phase: ``(n,)`` each trial's restart phase (0: the main search).
        kinds: ``"design"`` / ``"local"`` per trial (``""`` for the main search's).
        state: The latest phase, replayed (None before the first).
    """

    policy: TrustRegionRestarts
    points: np.ndarray
    values: np.ndarray
    complete: np.ndarray
    phase: np.ndarray
    kinds: tuple[str, ...]
    state: PhaseState | None

    @classmethod
    def build(cls, policy: TrustRegionRestarts, points: np.ndarray, values: np.ndarray,
              complete: np.ndarray, tags: list[str]) -> RestartHistory:
        """From the trials' ``PHASE_KEY`` tags (``"phase:kind"``, ``""`` if none)."""
        phase = np.array([int(t.split(":")[0]) if t else 0 for t in tags], dtype=int)
        kinds = tuple(t.split(":")[1] if t else "" for t in tags)
        current = int(phase.max()) if len(phase) else 0
        state = None
        if current:
            idx = np.flatnonzero(phase == current)
            state = policy.replay(current, [kinds[i] for i in idx], points[idx], values[idx],
                                  complete[idx], points.shape[1])
        return cls(policy, points, values, complete, phase, kinds, state)

    @property
    def active(self) -> bool:
        """Whether a phase is running (it makes the next proposal)."""
        return self.state is not None and not self.state.ended

    @property
    def refine_due(self) -> bool:
        """Whether a running phase has made its last ``refine_every - 1`` proposals, so the
        next one refines the incumbent."""
        k = self.policy.refine_every
        if not self.active or k < 2 or len(self.phase) < k - 1:
            return False
        return bool(np.all(self.phase[-(k - 1):] == self.state.phase))  # type: ignore[union-attr]

    @property
    def next_phase(self) -> int:
        return int(self.phase.max()) + 1

    def phase_best(self, p: int) -> np.ndarray | None:
        mine = (self.phase == p) & self.complete
        if not mine.any():
            return None
        idx = np.flatnonzero(mine)
        return self.points[idx[int(np.argmin(self.values[idx]))]]

    def centres(self, exclude: np.ndarray | None = None) -> np.ndarray:
        """``(c, D)``: the incumbent and every phase's best point (basins to stay away
        from), without the point ``exclude``."""
        yc = np.where(self.complete, self.values, np.inf)
        out = [self.points[int(np.argmin(yc))]]
        out += [b for p in range(1, self.next_phase) if (b := self.phase_best(p)) is not None]
        if exclude is not None:
            out = [c for c in out if not np.array_equal(c, exclude)]
        return np.array(out).reshape(-1, self.points.shape[1])

    def should_restart(self, posterior: Posterior, x: np.ndarray,
                       warp: Callable[[np.ndarray], np.ndarray] | None = None) -> bool:
        """Whether the main search has stalled: (after ``main_between`` main trials since
        the last phase) the incumbent barely improved over the last ``stall_window``
        trials and the expected improvement of its proposal ``x`` is tiny. ``warp``: the
        monotone map of the values that ``posterior`` was fitted to (the expected
        improvement and its scale are then measured on warped values)."""
        from autolearn.samplers.bo.acquisition import log_ei

        policy = self.policy
        tagged = np.flatnonzero(self.phase > 0)
        if len(tagged) and len(self.phase) - 1 - tagged[-1] < policy.main_between:
            return False
        yc = self.values[self.complete]
        if not stalled(yc, policy.stall_window, policy.stall_tol):
            return False
        if warp is not None:
            yc = warp(yc)
        best = float(yc.min())
        scale = float(np.median(yc)) - best
        if not scale > 0:
            return False
        mean, var = posterior.predict(np.asarray(x, dtype=float)[None, :])
        ei = float(log_ei(mean, var, best)[0])
        return ei < math.log(policy.ei_tol * scale)
