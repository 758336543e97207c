"""The pruner contract."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autolearn.study import FrozenTrial, Study

__all__ = ["BasePruner", "NopPruner"]


class BasePruner(abc.ABC):
    """Decides from a running trial's reported values whether to stop it.

    ``prune`` is called by :meth:`autolearn.Trial.should_prune` with a read-only snapshot
    of the running trial (its ``intermediate_values`` include the latest report). It must
    not mutate the study; state shared between workers belongs in the storage.
    """

    @abc.abstractmethod
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        """True if the trial should stop now."""


class NopPruner(BasePruner):
    """Never prunes."""

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        return False
