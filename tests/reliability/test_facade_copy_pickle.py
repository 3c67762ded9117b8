"""deepcopy / pickle / torch.save of TransformOptimizer and the wrappers keep everything and stay independent."""

from __future__ import annotations

import copy
import io
import pickle
import threading

import pytest
import torch
from torch import nn

import optimtx as otx
from optimtx import function_pickle
from tests.reliability.facade_helpers import same


def _torch_roundtrip(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


ROUNDTRIPS = {
    "deepcopy": copy.deepcopy,
    "pickle": lambda obj: pickle.loads(pickle.dumps(obj)),
    "torch.save": _torch_roundtrip,
}
TRANSFORMS = {
    "config": lambda: dict(type="adamw", lr=1e-2, weight_decay=0.1),
    "chain": lambda: otx.chain(otx.clip_by_global_norm(1.0), otx.inject_hyperparams(otx.adamw)(lr=1e-2)),
    "lambda": lambda: otx.chain(
        otx.GradientTransformation(
            lambda p: otx.EmptyState(), lambda u, s, p=None, **k: ({n: 2 * g for n, g in u.items()}, s)
        ),
        otx.sgd(0.1, momentum=0.9),
    ),
}


def _train(model, opt, steps=2):
    for _ in range(steps):
        opt.zero_grad()
        model(torch.ones(2, 3)).pow(2).sum().backward()
        opt.step()


@pytest.mark.parametrize("roundtrip", ROUNDTRIPS)
@pytest.mark.parametrize("transform", TRANSFORMS)
def test_transform_optimizer_roundtrip_keeps_transform_and_state(roundtrip, transform):
    model = nn.Linear(3, 2)
    # in_place=False: the pure step round-trips bit for bit; the in-place step resumes bit for bit through
    # state_dict, but a pickled optimizer can differ from the original in the last bit (known, noted).
    opt = otx.TransformOptimizer(model.parameters(), TRANSFORMS[transform](), in_place=False)
    _train(model, opt)
    model2, opt2 = ROUNDTRIPS[roundtrip]((model, opt))
    assert opt2.param_groups[0]["params"][0] is model2.weight
    assert same(opt2.state_dict(), opt.state_dict())
    _train(model, opt)
    _train(model2, opt2)  # today's bug: AttributeError 'transform'
    torch.testing.assert_close(model2.weight, model.weight, rtol=0, atol=0)


@pytest.mark.parametrize("roundtrip", ROUNDTRIPS)
def test_wrapper_copies_are_independent(roundtrip):
    model = nn.Linear(3, 2)
    wrapper = otx.AmpOptimWrapper(
        optimizer=otx.TransformOptimizer(model.parameters(), dict(type="sgd", lr=0.1, momentum=0.9)),
        loss_scale=dict(init_scale=4.0, growth_interval=1),
        accumulative_counts=2,
        clip_grad=dict(max_norm=1.0),
    )
    wrapper.update_params(model(torch.ones(1, 3)).sum())
    before_model, before_state = copy.deepcopy(model.state_dict()), copy.deepcopy(wrapper.state_dict())
    model2, wrapper2 = ROUNDTRIPS[roundtrip]((model, wrapper))
    for _ in range(3):
        wrapper2.update_params(model2(torch.ones(1, 3)).sum())
    assert same(model.state_dict(), before_model)
    assert same(wrapper.state_dict(), before_state)
    assert wrapper2.inner_count == 4 and wrapper.inner_count == 1
    assert not torch.equal(model2.weight, model.weight)


def test_unpicklable_transform_is_refused_with_what_to_do():
    lock = threading.Lock()

    def update(u, s, p=None, **k):
        with lock:
            return dict(u), s

    opt = otx.TransformOptimizer(
        [nn.Parameter(torch.ones(1))], otx.GradientTransformation(lambda p: otx.EmptyState(), update)
    )
    with pytest.raises(TypeError, match=r"config dict.*state_dict"):
        pickle.dumps(opt)
    copy.deepcopy(opt)  # deepcopy shares the (pure) functions, so it still works


def test_function_pickle_refuses_another_python_version():
    data = pickle.dumps(((2, 7), b""))
    with pytest.raises(ValueError, match=r"Python 2.7"):
        function_pickle.loads(data)


def test_recursive_closure_roundtrips():
    def make():
        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)

        return fact

    assert function_pickle.loads(function_pickle.dumps(make()))(5) == 120
