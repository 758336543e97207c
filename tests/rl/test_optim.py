"""Flat-buffer optimisers against torch's own."""

import pytest
import torch

from autolearn.rl.common.optim import FLUSH_EVERY, FlatAdam, FlatRMSprop
from autolearn.rl.common.policies import ActorCritic


def _net(seed: int = 0) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    return ActorCritic(5, 3, hidden=(16, 8), generator=g)


def _loss(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    head, v = net(x)
    return head.pow(2).sum() + (v - 1).pow(2).sum()


def _pairs(flat_cls, torch_cls, kwargs, fused=True):
    a, b = _net(), _net()
    opt_a = flat_cls(a.parameters(), **kwargs)
    if not fused:
        opt_a._fused = None
    opt_b = torch_cls(b.parameters(), foreach=False, **kwargs)
    return a, b, opt_a, opt_b


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("flat_cls,torch_cls,kwargs", [
    (FlatAdam, torch.optim.Adam, {"lr": 1e-2, "eps": 1e-5}),
    (FlatRMSprop, torch.optim.RMSprop, {"lr": 1e-2, "alpha": 0.99, "eps": 1e-5}),
])
def test_flat_optimisers_follow_torch(flat_cls, torch_cls, kwargs, fused):
    a, b, opt_a, opt_b = _pairs(flat_cls, torch_cls, kwargs, fused)
    gen = torch.Generator().manual_seed(1)
    for step in range(25):
        x = torch.randn(32, 5, generator=gen)
        opt_a.zero_grad()
        _loss(a, x).backward()
        norm_a = opt_a.clip_grad_norm_(0.5)
        opt_a.step() if step % 2 else opt_a.flat_step()
        opt_b.zero_grad()
        _loss(b, x).backward()
        norm_b = torch.nn.utils.clip_grad_norm_(b.parameters(), 0.5)
        opt_b.step()
        assert float(norm_a) == pytest.approx(float(norm_b), rel=1e-5)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_flat_adam_state_dict_is_torchs_and_round_trips():
    a, b, opt_a, opt_b = _pairs(FlatAdam, torch.optim.Adam, {"lr": 1e-2, "eps": 1e-5})
    x = torch.randn(8, 5)
    for net, opt in ((a, opt_a), (b, opt_b)):
        for _ in range(3):
            opt.zero_grad()
            _loss(net, x).backward()
            opt.step()
    sd = opt_a.state_dict()
    assert sd["state"].keys() == opt_b.state_dict()["state"].keys()
    assert float(sd["state"][1]["step"]) == 3.0
    # torch's checkpoint into a flat optimiser: the state lands in the flat buffers
    c = _net()
    opt_c = FlatAdam(c.parameters(), lr=1e-2, eps=1e-5)
    opt_c.load_state_dict(opt_b.state_dict())
    torch.testing.assert_close(opt_c._buffers["exp_avg"], opt_a._buffers["exp_avg"])
    assert opt_c._t == 3
    # and a flat optimiser's state into torch's Adam
    d = _net()
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-2)
    opt_d.load_state_dict(opt_a.state_dict())
    assert float(opt_d.state_dict()["state"][1]["step"]) == 3.0


def test_replaced_gradients_are_gathered():
    net = _net()
    opt = FlatAdam(net.parameters(), lr=1e-2)
    x = torch.randn(4, 5)
    for p in net.parameters():
        p.grad = None  # what zero_grad(set_to_none=True) of another optimiser would do
    _loss(net, x).backward()
    expected = torch.cat([p.grad.reshape(-1) for p in net.parameters() if p.requires_grad])
    torch.testing.assert_close(opt._gather_grads(), expected)
    assert all(p.grad.data_ptr() >= opt._flat_grad.data_ptr()
               for p in net.parameters() if p.requires_grad)


def test_subnormal_moments_are_flushed():
    p = torch.nn.Parameter(torch.ones(3))
    opt = FlatAdam([p], lr=1e-3)
    opt._buffers["exp_avg"].fill_(1e-40)  # subnormal in float32
    for _ in range(FLUSH_EVERY):
        p.grad = torch.zeros_like(p)
        opt.step()
    assert float(opt._buffers["exp_avg"].abs().max()) == 0.0


def test_gradients_accumulate_without_zero_grad():
    net = _net()
    opt = FlatAdam(net.parameters(), lr=1e-2)
    x = torch.randn(4, 5)
    _loss(net, x).backward()
    once = opt._gather_grads().clone()
    _loss(net, x).backward()  # .grad now points into the flat buffer: accumulates there
    torch.testing.assert_close(opt._gather_grads(), 2 * once)
    opt.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.pi_head.weight.grad = torch.ones_like(net.pi_head.weight)  # only one gradient set
    _loss(net, x).backward()
    flat = opt._gather_grads()
    assert float(flat.abs().sum()) > 0
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
