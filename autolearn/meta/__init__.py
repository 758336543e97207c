"""Meta-learning for few-shot learning: MAML, first-order MAML, Meta-SGD and Reptile.

Importing this package imports torch (install ``autolearn[torch]``); ``import autolearn``
alone never does. Everything works on explicit parameter dicts through
``torch.func.functional_call``, so any ``nn.Module`` can be meta-learned unchanged.

Example:
    >>> from autolearn.meta import MetaConfig, MetaLearner, SinusoidTasks, build_model
    >>> net = build_model({"kind": "mlp", "sizes": [1, 40, 40, 1]}, seed=0)
    >>> learner = MetaLearner(net, MetaConfig(algorithm="maml", meta_batch_size=4), seed=0)
    >>> learner = learner.fit(SinusoidTasks(shots=10), n_steps=10)
    >>> round(learner.evaluate(SinusoidTasks(shots=10), n_tasks=4)["loss"][0], 1) >= 0
    True
"""

from autolearn._imports import optional_import

optional_import("torch")

from autolearn.meta._baselines import pretrain, scratch_init_fn, transfer_init  # noqa: E402
from autolearn.meta._maml import (  # noqa: E402
    ALGORITHMS,
    MetaConfig,
    MetaLearner,
    adaptation_curve,
    evaluate_init,
    inner_loop,
    meta_loss,
    task_losses,
)
from autolearn.meta._models import build_model, default_model_spec, init_parameters  # noqa: E402
from autolearn.meta._tasks import (  # noqa: E402
    CallableTasks,
    FewShotTasks,
    SinusoidTasks,
    Task,
    TaskSampler,
    digits_tasks,
    mint_mnist1d,
    mnist1d_tasks,
    stack_tasks,
)

__all__ = [
    "ALGORITHMS",
    "CallableTasks",
    "FewShotTasks",
    "MetaConfig",
    "MetaLearner",
    "SinusoidTasks",
    "Task",
    "TaskSampler",
    "adaptation_curve",
    "build_model",
    "default_model_spec",
    "digits_tasks",
    "evaluate_init",
    "init_parameters",
    "inner_loop",
    "meta_loss",
    "mint_mnist1d",
    "mnist1d_tasks",
    "pretrain",
    "scratch_init_fn",
    "stack_tasks",
    "task_losses",
    "transfer_init",
]
