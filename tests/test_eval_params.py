"""eval_params: the facade's switch to evaluation weights, its errors, and exact restores."""

from __future__ import annotations

import pytest
import torch

import optimtx as otx
from optimtx.wrapper.eval_params import evaluation_params


def _stepped(cfg, groups=1, group_lr=True):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 1))
    params = (
        [{"params": model[0].parameters()}, {"params": model[1].parameters(), **({"lr": 0.01} if group_lr else {})}]
        if groups == 2
        else model.parameters()
    )
    opt = otx.TransformOptimizer(params, cfg)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    return model, opt


def test_refuses_optimizers_without_evaluation_weights_and_torch_optimizers():
    _, opt = _stepped(dict(type="adamw", lr=0.01))
    with pytest.raises(ValueError, match="found no evaluation weights"), otx.eval_params(opt):
        pass
    with (
        pytest.raises(TypeError, match="needs a TransformOptimizer"),
        otx.eval_params(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)),
    ):
        pass


def test_refuses_two_kinds_of_evaluation_weights():
    tx = otx.chain(otx.schedule_free_sgd(0.1), otx.ema_params(0.9))
    with pytest.raises(ValueError, match="2 sets of evaluation weights"):
        evaluation_params(tx.init({"w": torch.ones(1)}), {"w": torch.ones(1)})


def test_several_param_groups_each_swap_their_own_weights():
    model, opt = _stepped(dict(type="schedule_free_sgd", lr=0.1), groups=2)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    want = []
    for group, state in zip(opt.param_groups, opt.transform_states, strict=True):
        tree = {str(i): p.detach() for i, p in enumerate(group["params"])}
        want += list(otx.schedule_free_eval_params(state, tree).values())
    before = [p.detach().clone() for p in model.parameters()]
    with otx.eval_params(opt):
        for p, w in zip(model.parameters(), want, strict=True):
            assert torch.equal(p.detach(), w)
    assert all(torch.equal(p.detach(), b) for p, b in zip(model.parameters(), before, strict=True))


def test_a_transform_without_injected_hyperparameters_runs_shared_and_still_swaps():
    model, opt = _stepped(otx.chain(otx.sgd(0.1), otx.ema_params(0.5)))
    ema = list(otx.get_ema_params(opt._shared_state).values())
    with otx.eval_params(opt):
        assert all(torch.equal(p.detach(), e) for p, e in zip(model.parameters(), ema, strict=True))


def test_optim_wrapper_dict_swaps_the_wrappers_that_hold_evaluation_weights():
    gen, disc = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    gen_opt = otx.TransformOptimizer(gen.parameters(), dict(type="schedule_free_sgd", lr=0.1))
    wrappers = otx.OptimWrapperDict(
        gen=otx.OptimWrapper(gen_opt), disc=otx.OptimWrapper(torch.optim.SGD(disc.parameters(), lr=0.1))
    )
    for _ in range(2):
        gen_opt.zero_grad()
        disc(gen(torch.ones(3, 2))).sum().backward()
        gen_opt.step()
        wrappers["disc"].step()
    disc_before = [p.detach().clone() for p in disc.parameters()]
    want = otx.schedule_free_eval_params(
        gen_opt.transform_states[0], {str(i): p.detach() for i, p in enumerate(gen.parameters())}
    )
    with otx.eval_params(wrappers):
        assert all(torch.equal(p.detach(), w) for p, w in zip(gen.parameters(), want.values(), strict=True))
        assert all(torch.equal(p.detach(), b) for p, b in zip(disc.parameters(), disc_before, strict=True))


@pytest.mark.parametrize("groups", [1, 2])
def test_schedule_free_built_without_injection_runs_shared_and_swaps_x(groups):
    # Nothing injected: a group lr would be refused (it could not be honoured), so the groups set none.
    model, opt = _stepped(otx.schedule_free_sgd(0.1, momentum=0.5), groups=groups, group_lr=False)
    assert opt._shared_tx is not None  # nothing injected: the whole transform runs once over all groups
    tree = opt._all_params()
    want = otx.schedule_free_eval_params(opt._shared_state, {k: p.detach() for k, p in tree.items()})
    before = [p.detach().clone() for p in model.parameters()]
    with otx.eval_params(opt):
        assert all(torch.equal(p.detach(), w) for p, w in zip(tree.values(), want.values(), strict=True))
    assert all(torch.equal(p.detach(), b) for p, b in zip(model.parameters(), before, strict=True))
