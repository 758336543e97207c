"""LSTM optimizer: preprocessing, meta-gradients, meta-training, the torch wrapper, I/O."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from autolearn.exceptions import ConfigError  # noqa: E402
from autolearn.learned_optim import (  # noqa: E402
    FunctionProblem,
    LearnedOptimizer,
    LSTMOptimizerConfig,
    LSTMOptimizerNet,
    MetaTrainConfig,
    MLPProblem,
    QuadraticProblem,
    load_weights,
    meta_train,
    optimize,
    preprocess_gradients,
    save_weights,
    tune_baseline,
    unroll,
    weights_metadata,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _net(seed: int = 0, dtype=torch.float32, **kw) -> LSTMOptimizerNet:
    net = LSTMOptimizerNet(LSTMOptimizerConfig(**kw)).to(dtype)
    net.reset_parameters(torch.Generator().manual_seed(seed))
    return net


# --------------------------------------------------------------------------- preprocessing


def test_preprocessing_large_gradient_branch_is_log_magnitude_and_sign() -> None:
    g = torch.tensor([1.0, -math.e, 2e-4, -0.5], dtype=torch.float64)
    out = preprocess_gradients(g, p=10.0)
    expected = torch.tensor([[0.0, 1.0], [0.1, -1.0], [math.log(2e-4) / 10, 1.0],
                             [math.log(0.5) / 10, -1.0]], dtype=torch.float64)
    torch.testing.assert_close(out, expected)


def test_preprocessing_small_gradient_branch_is_minus_one_and_scaled_gradient() -> None:
    p = 10.0
    g = torch.tensor([1e-6, -2e-5, 0.0], dtype=torch.float64)  # all below e^-10 ~ 4.5e-5
    out = preprocess_gradients(g, p=p)
    expected = torch.tensor([[-1.0, math.exp(p) * 1e-6], [-1.0, -math.exp(p) * 2e-5],
                             [-1.0, 0.0]], dtype=torch.float64)
    torch.testing.assert_close(out, expected)
    # The threshold itself belongs to the log branch; p changes where it lies.
    edge = preprocess_gradients(torch.tensor([math.exp(-5.0)], dtype=torch.float64), p=5.0)
    torch.testing.assert_close(edge, torch.tensor([[-1.0, 1.0]], dtype=torch.float64))


# --------------------------------------------------------------------------- meta-gradient


def _unroll_loss(net: LSTMOptimizerNet, task, *, second_order: bool) -> torch.Tensor:
    theta = task.theta0.clone().requires_grad_(True)
    loss, _, _ = unroll(net, task, theta, net.initial_state(theta.numel(), dtype=theta.dtype),
                        start=0, n_steps=4, second_order=second_order)
    return loss


def _finite_difference(net, task, eps=1e-6):
    flat = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    grads = torch.empty_like(flat)
    for i in range(flat.numel()):
        vals = []
        for sign in (1, -1):
            shifted = flat.clone()
            shifted[i] += sign * eps
            torch.nn.utils.vector_to_parameters(shifted, net.parameters())
            with torch.enable_grad():
                vals.append(float(_unroll_loss(net, task, second_order=True).detach()))
        grads[i] = (vals[0] - vals[1]) / (2 * eps)
    torch.nn.utils.vector_to_parameters(flat, net.parameters())
    return grads


def _meta_grad(net, task, second_order):
    net.zero_grad()
    _unroll_loss(net, task, second_order=second_order).backward()
    return torch.cat([p.grad.flatten() for p in net.parameters()])


def test_second_order_meta_gradient_matches_finite_differences() -> None:
    net = _net(0, torch.float64, hidden_size=3, output_scale=0.1)
    task = QuadraticProblem(dim=2, n_functions=2, init_std=0.5,
                            dtype=torch.float64).sample_task(0)
    torch.testing.assert_close(_meta_grad(net, task, True), _finite_difference(net, task),
                               rtol=1e-5, atol=1e-7)
    # On a quadratic the dropped second-order terms are not zero: the paper's first-order
    # meta-gradient is a different vector.
    assert not torch.allclose(_meta_grad(net, task, False), _meta_grad(net, task, True),
                              rtol=1e-3)


def test_first_order_meta_gradient_is_exact_on_a_linear_problem() -> None:
    """A linear loss has no Hessian, so dropping second-order terms loses nothing."""
    c = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    problem = FunctionProblem(lambda theta, batch: (c * theta).sum() + 0.0 * batch,
                              init=lambda rng: torch.tensor(rng.normal(size=3)),
                              sample_batch=lambda rng: 0.0)
    net = _net(1, torch.float64, hidden_size=3)
    task = problem.sample_task(0)
    torch.testing.assert_close(_meta_grad(net, task, False), _finite_difference(net, task),
                               rtol=1e-5, atol=1e-7)


# --------------------------------------------------------------------------- meta-training


def test_meta_training_lowers_held_out_loss_on_quadratics(tmp_path: Path) -> None:
    problem = QuadraticProblem(n_functions=32)
    config = MetaTrainConfig(n_tasks=12, horizon=40, unroll=20, learning_rate=1e-2,
                             eval_every=4, n_eval_tasks=2)
    held_out = [problem.sample_task(1000 + i) for i in range(3)]
    untrained = _net(0)  # meta_train(seed=0) starts from other weights; any init is chance

    def final(net):
        return sum(t.evaluate(optimize(net, t, 40)[0])["loss"] for t in held_out) / 3

    result = meta_train(problem, config=config, seed=0)
    assert result.tasks_done == 12 and len(result.history) == 3
    assert final(result.net) < 0.5 * final(untrained)
    assert result.best_validation_loss == min(h["validation_loss"] for h in result.history)


def test_meta_training_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    problem = QuadraticProblem(n_functions=8)
    ckpt = tmp_path / "run.pt"
    short = MetaTrainConfig(n_tasks=2, horizon=20, eval_every=2, n_eval_tasks=1)
    meta_train(problem, config=short, seed=3, checkpoint=ckpt)
    full = MetaTrainConfig(n_tasks=4, horizon=20, eval_every=2, n_eval_tasks=1)
    resumed = meta_train(problem, config=full, seed=3, checkpoint=ckpt)
    straight = meta_train(problem, config=full, seed=3)
    assert resumed.tasks_done == 4 and [h["tasks"] for h in resumed.history] == [2, 4]
    for a, b in zip(resumed.net.parameters(), straight.net.parameters(), strict=True):
        torch.testing.assert_close(a, b)


# --------------------------------------------------------------------------- torch wrapper


def test_learned_optimizer_trains_a_small_model() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=gen)
    y = (x[:, :2].sum(-1) > 0).long()
    with torch.random.fork_rng():  # a reproducible model init that leaves the global RNG be
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Sigmoid(),
                                    torch.nn.Linear(16, 2))
    opt = LearnedOptimizer(model.parameters(), weights="mlp")
    loss_fn = torch.nn.CrossEntropyLoss()
    first = float(loss_fn(model(x), y).detach())
    for _ in range(100):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    assert float(loss_fn(model(x), y).detach()) < 0.5 * first
    state = opt.state[model[0].weight]
    assert state["h"].shape == (2, 8 * 16, 20) and state["step"] == 100


def test_learned_optimizer_step_matches_the_functional_update_and_runs_under_no_grad() -> None:
    net = load_weights("quadratic")
    task = QuadraticProblem(n_functions=4).sample_task(5)
    expected, _ = optimize(net, task, 10)
    theta = torch.nn.Parameter(task.theta0.clone())
    opt = LearnedOptimizer([theta], weights=net)
    for t in range(10):
        with torch.enable_grad():
            theta.grad = torch.autograd.grad(task.loss(theta, t), theta)[0]
        with torch.inference_mode():
            opt.step()
    torch.testing.assert_close(theta.detach(), expected)


def test_save_load_round_trip(tmp_path: Path) -> None:
    net = _net(7, hidden_size=5, num_layers=1, output_scale=0.05)
    path = save_weights(net, tmp_path / "w.pt", metadata={"problem": "test"})
    loaded = load_weights(path)
    assert loaded.config == net.config
    for a, b in zip(loaded.parameters(), net.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    assert weights_metadata(path) == {"problem": "test"}
    g = torch.randn(6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loaded(g, loaded.initial_state(6))[0],
                               net(g, net.initial_state(6))[0])


def test_optimizer_state_dict_round_trip_continues_identically() -> None:
    task = QuadraticProblem(n_functions=2).sample_task(1)

    def run(opt, theta, steps):
        for t in steps:
            theta.grad = torch.autograd.grad(task.loss(theta, t), theta)[0]
            opt.step()

    a = torch.nn.Parameter(task.theta0.clone())
    opt_a = LearnedOptimizer([a], weights="quadratic")
    run(opt_a, a, range(5))
    b = torch.nn.Parameter(a.detach().clone())
    opt_b = LearnedOptimizer([b], weights="quadratic")
    opt_b.load_state_dict(opt_a.state_dict())
    run(opt_a, a, range(5, 10))
    run(opt_b, b, range(5, 10))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ["quadratic", "mlp"])
def test_shipped_weights_load_and_say_how_they_were_trained(name: str) -> None:
    assert load_weights(name).config.hidden_size == 20
    assert weights_metadata(name)["problem"]


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("make", "field"), [
    (lambda: LSTMOptimizerConfig(hidden_size=0), "hidden_size"),
    (lambda: LSTMOptimizerConfig(output_scale=-1.0), "output_scale"),
    (lambda: LSTMOptimizerConfig(p=float("nan")), "p"),
    (lambda: MetaTrainConfig(horizon=30, unroll=20), "horizon"),
    (lambda: MetaTrainConfig(loss_transform="sqrt"), "loss_transform"),
    (lambda: MetaTrainConfig(second_order=1), "second_order"),
    (lambda: MetaTrainConfig(cosine_decay="yes"), "cosine_decay"),
    (lambda: MetaTrainConfig(clip_grad_norm=0.0), "clip_grad_norm"),
    (lambda: MLPProblem(activation="gelu"), "activation"),
    (lambda: MLPProblem(dataset="mnist"), "dataset"),
    (lambda: QuadraticProblem(dim=0), "dim"),
    (lambda: FunctionProblem("f", init=lambda r: 0, sample_batch=lambda r: 0), "loss_fn"),
    (lambda: LearnedOptimizer([torch.zeros(1, requires_grad=True)], weights=3), "weights"),
    (lambda: load_weights("/no/such/file.pt"), "weights"),
    (lambda: tune_baseline(QuadraticProblem(), "adagrad", n_steps=1, tuning_seeds=[0]),
     "name"),
])
def test_bad_configuration_raises_config_error_naming_the_field(make, field) -> None:
    with pytest.raises(ConfigError, match=f"`{field}`"):
        make()


def test_tuned_baseline_picks_a_learning_rate_that_converges() -> None:
    best = tune_baseline(QuadraticProblem(n_functions=8), "sgd", n_steps=30,
                         tuning_seeds=[0, 1], grid=[1e-4, 0.1, 1e3])
    assert best.learning_rate == 0.1
    assert best.scores[1e3] == math.inf and best.scores[0.1] < best.scores[1e-4]


# --------------------------------------------------------------------------- example


def test_example_runs_with_a_tiny_budget(tmp_path: Path) -> None:
    cmd = [sys.executable, str(ROOT / "examples" / "learned_optimizer_quadratic.py"),
           "--n-tasks", "2", "--eval-tasks", "1", "--out", str(tmp_path / "w.pt")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "final loss after 100 steps" in out.stdout
    assert (tmp_path / "w.pt").exists()


def test_loading_weights_from_a_file_of_something_else_is_a_config_error(tmp_path):
    from autolearn.exceptions import ConfigError
    from autolearn.learned_optim import load_weights

    bad = tmp_path / "w.pt"
    bad.write_text("junk")
    with pytest.raises(ConfigError, match="is not an autolearn LSTM-optimizer file"):
        load_weights(bad)
