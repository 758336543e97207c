"""MAML / FOMAML / Meta-SGD / Reptile: meta-gradients, updates, persistence, config."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from autolearn.exceptions import ConfigError  # noqa: E402
from autolearn.meta import (  # noqa: E402
    MetaConfig,
    MetaLearner,
    SinusoidTasks,
    Task,
    build_model,
    inner_loop,
    meta_loss,
    pretrain,
    scratch_init_fn,
    stack_tasks,
    task_losses,
    transfer_init,
)
from autolearn.meta._maml import LOSSES  # noqa: E402

MSE = LOSSES["mse"]


def _tiny(dtype: torch.dtype = torch.float64) -> nn.Module:
    torch_gen = torch.Generator().manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1)).to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=torch_gen, dtype=dtype))
    return net


def _batch(n_tasks: int = 3, dtype: torch.dtype = torch.float64) -> list[torch.Tensor]:
    tasks = SinusoidTasks(shots=5, n_query=6).sample(n_tasks, np.random.default_rng(0))
    return [t.to(dtype) for t in stack_tasks(tasks)]


def _flat_meta_loss(net: nn.Module, batch: list[torch.Tensor], *, first_order: bool,
                    lrs: float | dict[str, torch.Tensor] = 0.1, steps: int = 2
                    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    params = {k: v.detach().clone().requires_grad_(True) for k, v in net.named_parameters()}
    loss, _ = meta_loss(net, params, {}, batch, loss_fn=MSE, steps=steps, lrs=lrs,
                        first_order=first_order)
    return params, loss


def test_second_order_meta_gradient_matches_finite_differences() -> None:
    net, batch = _tiny(), _batch()
    params, loss = _flat_meta_loss(net, batch, first_order=False)
    grads = torch.autograd.grad(loss, list(params.values()))
    eps = 1e-6
    for (name, p), g in zip(params.items(), grads, strict=True):
        for i in range(p.numel()):
            shifted = []
            for sign in (1, -1):
                q = {k: v.detach().clone() for k, v in params.items()}
                q[name].view(-1)[i] += sign * eps
                loss_q, _ = meta_loss(net, {k: v.requires_grad_(True) for k, v in q.items()},
                                      {}, batch, loss_fn=MSE, steps=2, lrs=0.1,
                                      first_order=False)
                shifted.append(float(loss_q.detach()))
            fd = (shifted[0] - shifted[1]) / (2 * eps)
            assert abs(fd - float(g.view(-1)[i])) <= 1e-6 + 1e-5 * abs(fd), (name, i)


def test_metasgd_step_size_gradient_matches_finite_differences() -> None:
    net, batch = _tiny(), _batch()
    lrs = {k: torch.full_like(v, 0.1).requires_grad_(True) for k, v in net.named_parameters()}
    params, loss = _flat_meta_loss(net, batch, first_order=False, lrs=lrs, steps=1)
    g = torch.autograd.grad(loss, [lrs["2.weight"]])[0]
    eps = 1e-6
    for i in range(g.numel()):
        vals = []
        for sign in (1, -1):
            shifted = {k: v.detach().clone() for k, v in lrs.items()}
            shifted["2.weight"].view(-1)[i] += sign * eps
            vals.append(float(_flat_meta_loss(net, batch, first_order=False, lrs=shifted,
                                              steps=1)[1].detach()))
        fd = (vals[0] - vals[1]) / (2 * eps)
        assert abs(fd - float(g.view(-1)[i])) <= 1e-6 + 1e-5 * abs(fd)


def test_first_order_gradient_is_the_query_gradient_at_the_adapted_params() -> None:
    net, batch = _tiny(), _batch()
    params, loss = _flat_meta_loss(net, batch, first_order=True)
    fo = torch.autograd.grad(loss, list(params.values()))
    # The same adaptation, then the query gradient w.r.t. phi with the inner loop cut off.
    phi, _ = inner_loop(net, {k: v.detach() for k, v in params.items()}, {}, batch[0],
                        batch[1], loss_fn=MSE, steps=2, lrs=0.1, first_order=True)
    phi = {k: v.detach().requires_grad_(True) for k, v in phi.items()}
    q = task_losses(net, phi, {}, batch[2], batch[3], loss_fn=MSE).mean()
    at_phi = torch.autograd.grad(q, list(phi.values()))
    for a, b in zip(fo, at_phi, strict=True):
        torch.testing.assert_close(a, b.sum(0))
    # ... and it is not the true (second-order) meta-gradient.
    params2, loss2 = _flat_meta_loss(net, batch, first_order=False)
    so = torch.autograd.grad(loss2, list(params2.values()))
    diff = sum(float((a - b).norm()) for a, b in zip(fo, so, strict=True))
    assert diff > 1e-3 * sum(float(b.norm()) for b in so)


def test_vectorized_and_looped_meta_gradients_agree() -> None:
    net, batch = _tiny(), _batch()
    grads = []
    for vectorize in (True, False):
        params = {k: v.detach().clone().requires_grad_(True) for k, v in net.named_parameters()}
        loss, _ = meta_loss(net, params, {}, batch, loss_fn=MSE, steps=2, lrs=0.1,
                            first_order=False, vectorize=vectorize)
        grads.append(torch.autograd.grad(loss, list(params.values())))
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)


def test_reptile_update_moves_theta_toward_the_mean_adapted_params() -> None:
    net = _tiny(torch.float32)
    cfg = MetaConfig(algorithm="reptile", inner_steps=3, inner_lr=0.05, meta_batch_size=4,
                     outer_optimizer="sgd", outer_lr=0.3)
    learner = MetaLearner(net, cfg, seed=0)
    tasks = SinusoidTasks(shots=5).sample(4, np.random.default_rng(1))
    theta = {k: v.detach().clone() for k, v in learner.params.items()}
    sx, sy, qx, qy = stack_tasks(tasks)
    phi, _ = inner_loop(net, theta, {}, torch.cat([sx, qx], 1), torch.cat([sy, qy], 1),
                        loss_fn=MSE, steps=3, lrs=0.05, first_order=True)
    learner.meta_step(tasks, loss_fn=MSE)
    for k, v in learner.params.items():
        expected = theta[k] - 0.3 * (theta[k] - phi[k].mean(0))
        torch.testing.assert_close(v.detach(), expected)


@pytest.mark.parametrize("algorithm", ["maml", "fomaml", "metasgd", "reptile"])
def test_one_meta_step_changes_the_init_and_lowers_post_adaptation_loss(algorithm: str
                                                                        ) -> None:
    net = build_model({"kind": "mlp", "sizes": [1, 16, 1]}, seed=0)
    cfg = MetaConfig(algorithm=algorithm, meta_batch_size=8, inner_lr=0.02, outer_lr=0.01,
                     outer_optimizer="sgd", inner_steps=2)
    learner = MetaLearner(net, cfg, seed=0, loss="mse")
    tasks = SinusoidTasks(shots=10).sample(8, np.random.default_rng(3))
    batch = list(stack_tasks(tasks))
    lrs = 0.02

    def post() -> float:
        params = {k: v.detach() for k, v in learner.params.items()}
        return float(meta_loss(net, params, {}, batch, loss_fn=MSE, steps=2, lrs=lrs,
                               first_order=True)[0].detach())

    before_params = {k: v.detach().clone() for k, v in learner.params.items()}
    before = post()
    learner.meta_step(tasks, loss_fn=MSE)
    assert any(not torch.equal(before_params[k], v) for k, v in learner.params.items())
    assert post() < before


def test_fit_is_reproducible_and_records_history() -> None:
    histories = []
    for _ in range(2):
        net = build_model({"kind": "mlp", "sizes": [1, 8, 1]}, seed=1)
        learner = MetaLearner(net, MetaConfig(meta_batch_size=3), seed=7)
        rows: list[dict] = []
        learner.fit(SinusoidTasks(shots=5), n_steps=4, callback=lambda _, row, rows=rows:
                    rows.append(row))
        histories.append([(r["step"], r["loss_before"], r["loss_after"])
                          for r in learner.history])
        assert len(rows) == 4 and learner.meta_steps == 4
    assert histories[0] == histories[1]


def test_callback_returning_false_stops_training() -> None:
    net = build_model({"kind": "mlp", "sizes": [1, 8, 1]}, seed=1)
    learner = MetaLearner(net, MetaConfig(meta_batch_size=2), seed=0)
    learner.fit(SinusoidTasks(shots=5), n_steps=50, callback=lambda lr, row: row["step"] < 3)
    assert learner.meta_steps == 3


def test_evaluate_reports_one_score_per_inner_step_and_adaptation_helps() -> None:
    net = build_model({"kind": "mlp", "sizes": [1, 40, 40, 1]}, seed=0)
    learner = MetaLearner(net, MetaConfig(meta_batch_size=5, eval_inner_steps=5), seed=0)
    scores = learner.evaluate(SinusoidTasks(shots=10), n_tasks=12, inner_lr=0.01, seed=0)
    assert len(scores["loss"]) == 6 and scores["per_task_loss"].shape == (12, 6)
    assert scores["loss"][5] < scores["loss"][0]


def test_save_load_round_trip(tmp_path) -> None:
    spec = {"kind": "mlp", "sizes": [1, 8, 1]}
    learner = MetaLearner(build_model(spec, seed=0), MetaConfig(algorithm="metasgd",
                          meta_batch_size=2), seed=0, model_spec=spec)
    learner.fit(SinusoidTasks(shots=5), n_steps=3)
    path = tmp_path / "learner.pt"
    learner.save(path)
    back = MetaLearner.load(path)
    assert back.config == learner.config and back.meta_steps == 3
    assert back.history == learner.history and back.task_spec == {"name": "sinusoid",
                                                                   "shots": 5, "n_query": 5}
    for k, v in learner.params.items():
        torch.testing.assert_close(back.params[k].detach(), v.detach())
        torch.testing.assert_close(back.inner_lrs[k].detach(), learner.inner_lrs[k].detach())
    a = learner.evaluate(SinusoidTasks(shots=5), n_tasks=4, inner_steps=2, seed=3)
    b = back.evaluate(SinusoidTasks(shots=5), n_tasks=4, inner_steps=2, seed=3)
    assert a["loss"] == b["loss"]
    net = back.init_model()
    x = torch.zeros(2, 1)
    torch.testing.assert_close(net(x), learner.init_model()(x))


def test_load_without_spec_needs_the_model(tmp_path) -> None:
    learner = MetaLearner(_tiny(torch.float32), MetaConfig(meta_batch_size=2), seed=0)
    learner.save(tmp_path / "l.pt")
    with pytest.raises(ConfigError, match="`model`"):
        MetaLearner.load(tmp_path / "l.pt")
    back = MetaLearner.load(tmp_path / "l.pt", model=_tiny(torch.float32))
    assert back.params.keys() == learner.params.keys()


def test_adapted_model_fits_its_support_set() -> None:
    net = build_model({"kind": "mlp", "sizes": [1, 40, 1]}, seed=0)
    learner = MetaLearner(net, MetaConfig(eval_inner_steps=20, inner_lr=0.02), loss="mse")
    task: Task = SinusoidTasks(shots=10).sample(1, np.random.default_rng(0))[0]
    adapted = learner.adapted_model(task.support_x, task.support_y)
    before = MSE(learner.init_model()(task.support_x), task.support_y)
    assert MSE(adapted(task.support_x), task.support_y) < before


@pytest.mark.parametrize("field, value", [
    ("algorithm", "maml2"), ("inner_steps", 0), ("inner_lr", -0.1), ("eval_inner_steps", 1.5),
    ("meta_batch_size", 0), ("outer_optimizer", "rmsprop"), ("outer_lr", float("nan")),
    ("max_grad_norm", 0.0), ("vectorize", "yes"),
])
def test_bad_config_raises_config_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"`{field}`"):
        MetaConfig(**{field: value})


def test_bad_fit_arguments_raise_config_error() -> None:
    learner = MetaLearner(_tiny(torch.float32), MetaConfig(meta_batch_size=2))
    with pytest.raises(ConfigError, match="`n_steps`"):
        learner.fit(SinusoidTasks(), n_steps=0)
    with pytest.raises(ConfigError, match="`loss`"):
        MetaLearner(_tiny(torch.float32), loss="hinge")


def test_baselines_pretrain_transfer_and_scratch() -> None:
    net = build_model({"kind": "mlp", "sizes": [1, 8, 1]}, seed=0)
    before = {k: v.detach().clone() for k, v in net.named_parameters()}
    params = pretrain(net, SinusoidTasks(shots=5), n_steps=3, seed=0)
    assert any(not torch.equal(before[k], params[k]) for k in params)
    assert all(torch.equal(before[k], v) for k, v in net.named_parameters())  # not mutated
    wide = build_model({"kind": "mlp", "sizes": [1, 8, 3]}, seed=0)
    moved = transfer_init(params, wide)
    torch.testing.assert_close(moved["0.weight"], params["0.weight"])
    assert moved["2.weight"].shape == (3, 8) and not moved["2.weight"].any()
    inits = scratch_init_fn(net, seed=0)(3)
    assert inits["0.weight"].shape == (3, 8, 1)
    assert not torch.equal(inits["0.weight"][0], inits["0.weight"][1])


class _NanAfter(SinusoidTasks):
    """Sinusoid tasks whose query targets turn NaN from the ``after``-th batch on."""

    def __init__(self, after: int, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.after, self.calls = after, 0

    def sample(self, n_tasks, rng):  # type: ignore[no-untyped-def]
        tasks = super().sample(n_tasks, rng)
        self.calls += 1
        if self.calls > self.after:
            t = tasks[0]
            tasks[0] = t._replace(query_y=torch.full_like(t.query_y, float("nan")))
        return tasks


@pytest.mark.parametrize("algorithm", ["maml", "reptile"])
def test_a_nan_task_is_refused_and_the_learner_kept(algorithm: str) -> None:
    from autolearn.exceptions import NonFiniteError

    net = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1))
    learner = MetaLearner(net, MetaConfig(meta_batch_size=2, algorithm=algorithm), seed=0)
    kept: list[dict[str, torch.Tensor]] = []
    learner.fit(_NanAfter(3, shots=5), n_steps=3,
                callback=lambda lr, row: kept.append(
                    {k: v.detach().clone() for k, v in lr.params.items()}) or None)
    state = copy.deepcopy(learner.optimizer.state_dict())
    with pytest.raises(NonFiniteError, match="MetaLearner: an update produced a non-finite "
                                            "gradient .* after 3 meta-steps"):
        learner.fit(_NanAfter(0, shots=5), n_steps=5)
    assert learner.meta_steps == 3
    for k, v in learner.params.items():
        assert torch.equal(v.detach(), kept[-1][k])
    for key, st in learner.optimizer.state_dict()["state"].items():
        for name, value in st.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state["state"][key][name]))
