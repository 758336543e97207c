"""Learned optimizers: "Learning to learn by gradient descent by gradient descent".

A coordinatewise two-layer LSTM (Andrychowicz et al. 2016) maps each coordinate's
preprocessed gradient to its update. :func:`meta_train` fits it by truncated BPTT on a
family of optimisee problems (:class:`QuadraticProblem`, :class:`MLPProblem`, or your own
:class:`FunctionProblem`); :class:`LearnedOptimizer` then uses it as a torch optimizer on
any model; :func:`tune_baseline` gives the hand-designed optimizers a fair, tuned learning
rate to compare against. Trained weights ship for quadratics (``"quadratic"``) and the
digits MLP (``"mlp"``).

Importing this package imports torch (install ``autolearn[torch]``); ``import autolearn``
alone never does.

Example:
    >>> import torch
    >>> from autolearn.learned_optim import LearnedOptimizer
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Sigmoid(),
    ...                             torch.nn.Linear(16, 2))
    >>> opt = LearnedOptimizer(model.parameters(), weights="mlp")

References:
    Andrychowicz, Denil, Gomez, Hoffman, Pfau, Schaul, Shillingford, de Freitas. Learning
    to learn by gradient descent by gradient descent. NIPS 2016.
"""

from autolearn._imports import optional_import

optional_import("torch")

from autolearn.learned_optim._baselines import (  # noqa: E402
    BASELINES,
    BaselineResult,
    run_baseline,
    tune_baseline,
)
from autolearn.learned_optim._io import (  # noqa: E402
    SHIPPED_WEIGHTS,
    load_weights,
    save_weights,
    weights_metadata,
)
from autolearn.learned_optim._lstm import (  # noqa: E402
    LSTMOptimizerConfig,
    LSTMOptimizerNet,
    preprocess_gradients,
)
from autolearn.learned_optim._optimizer import LearnedOptimizer  # noqa: E402
from autolearn.learned_optim._problems import (  # noqa: E402
    PROBLEMS,
    FunctionProblem,
    MLPProblem,
    Problem,
    QuadraticProblem,
    Task,
    make_problem,
)
from autolearn.learned_optim._train import (  # noqa: E402
    MetaTrainConfig,
    MetaTrainResult,
    meta_train,
    optimize,
    unroll,
)

__all__ = [
    "BASELINES",
    "BaselineResult",
    "FunctionProblem",
    "LSTMOptimizerConfig",
    "LSTMOptimizerNet",
    "LearnedOptimizer",
    "MLPProblem",
    "MetaTrainConfig",
    "MetaTrainResult",
    "PROBLEMS",
    "Problem",
    "QuadraticProblem",
    "SHIPPED_WEIGHTS",
    "Task",
    "load_weights",
    "make_problem",
    "meta_train",
    "optimize",
    "preprocess_gradients",
    "run_baseline",
    "save_weights",
    "tune_baseline",
    "unroll",
    "weights_metadata",
]
