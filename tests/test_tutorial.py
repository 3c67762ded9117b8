"""The MMEngine OptimWrapper tutorial's wrapper blocks, run with ``mmengine`` -> ``optimtx`` on the CPU.

Each section runs its blocks in order in one namespace, as a reader would. CUDA calls are
mapped to the CPU: ``.cuda()`` is dropped and ``torch.cuda.amp.autocast`` becomes CPU
autocast. Printed output is compared with what the tutorial shows; for optimizer state
dicts, torch 2.13 adds keys the tutorial (written for an older torch) does not list, so
those are compared on the tutorial's keys.
"""

from __future__ import annotations

import ast

CUDA_TO_CPU = [
    (".cuda()", ""),
    ("from torch.cuda.amp import autocast", 'import functools\nautocast = functools.partial(torch.autocast, "cpu")'),
]


def run(blocks: list[str], namespace: dict | None = None) -> dict:
    namespace = {} if namespace is None else namespace
    for block in blocks:
        code = block.replace("mmengine", "optimtx")
        for old, new in CUDA_TO_CPU:
            code = code.replace(old, new)
        exec(compile(code, "<tutorial>", "exec"), namespace)
    return namespace


OPTIM_WRAPPER_VS_OPTIMIZER = [
    """
import torch
from torch.optim import SGD
import torch.nn as nn
import torch.nn.functional as F

inputs = [torch.zeros(10, 1, 1)] * 10
targets = [torch.ones(10, 1, 1)] * 10
model = nn.Linear(1, 1)
optimizer = SGD(model.parameters(), lr=0.01)
optimizer.zero_grad()

for input, target in zip(inputs, targets):
    output = model(input)
    loss = F.l1_loss(output, target)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
""",
    """
from mmengine.optim import OptimWrapper

optim_wrapper = OptimWrapper(optimizer=optimizer)

for input, target in zip(inputs, targets):
    output = model(input)
    loss = F.l1_loss(output, target)
    optim_wrapper.update_params(loss)
""",
    """
from torch.cuda.amp import autocast

model = model.cuda()
inputs = [torch.zeros(10, 1, 1, 1)] * 10
targets = [torch.ones(10, 1, 1, 1)] * 10

for input, target in zip(inputs, targets):
    with autocast():
        output = model(input.cuda())
    loss = F.l1_loss(output, target.cuda())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
""",
    """
from mmengine.optim import AmpOptimWrapper

optim_wrapper = AmpOptimWrapper(optimizer=optimizer)

for input, target in zip(inputs, targets):
    with optim_wrapper.optim_context(model):
        output = model(input.cuda())
    loss = F.l1_loss(output, target.cuda())
    optim_wrapper.update_params(loss)
""",
    """
for idx, (input, target) in enumerate(zip(inputs, targets)):
    with autocast():
        output = model(input.cuda())
    loss = F.l1_loss(output, target.cuda())
    loss.backward()
    if idx % 2 == 0:
        optimizer.step()
        optimizer.zero_grad()
""",
    """
optim_wrapper = AmpOptimWrapper(optimizer=optimizer, accumulative_counts=2)

for input, target in zip(inputs, targets):
    with optim_wrapper.optim_context(model):
        output = model(input.cuda())
    loss = F.l1_loss(output, target.cuda())
    optim_wrapper.update_params(loss)
""",
    """
for idx, (input, target) in enumerate(zip(inputs, targets)):
    optimizer.zero_grad()
    with optim_wrapper.optim_context(model):
        output = model(input.cuda())
    loss = F.l1_loss(output, target.cuda())
    optim_wrapper.backward(loss)
    if idx % 2 == 0:
        optim_wrapper.step()
        optim_wrapper.zero_grad()
""",
    """
# based on torch.nn.utils.clip_grad_norm_ method
optim_wrapper = AmpOptimWrapper(
    optimizer=optimizer, clip_grad=dict(max_norm=1))

# based on torch.nn.utils.clip_grad_value_ method
optim_wrapper = AmpOptimWrapper(
    optimizer=optimizer, clip_grad=dict(clip_value=0.2))
""",
]


def test_optim_wrapper_vs_optimizer_section():
    ns: dict = {}
    run(OPTIM_WRAPPER_VS_OPTIMIZER[:2], ns)
    first = ns["optim_wrapper"]
    assert first.inner_count == 10
    run(OPTIM_WRAPPER_VS_OPTIMIZER[2:4], ns)
    amp = ns["optim_wrapper"]
    assert type(amp).__name__ == "AmpOptimWrapper" and amp.inner_count == 10
    assert all(p.grad is None for p in ns["model"].parameters())
    run(OPTIM_WRAPPER_VS_OPTIMIZER[4:6], ns)
    assert ns["optim_wrapper"]._accumulative_counts == 2 and ns["optim_wrapper"].inner_count == 10
    run(OPTIM_WRAPPER_VS_OPTIMIZER[6:7], ns)
    assert ns["optim_wrapper"].inner_count == 20
    # clip_grad=dict(clip_value=0.2) has no type: MMEngine would take it for a norm clip and
    # fail when clipping; optimtx infers a value clip from the keys.
    run(OPTIM_WRAPPER_VS_OPTIMIZER[7:], ns)
    assert ns["optim_wrapper"].grad_name == "grad_value"
    assert ns["optim_wrapper"].clip_grad_kwargs == {"clip_value": 0.2}


GET_LR = """
import torch.nn as nn
from torch.optim import SGD

from mmengine.optim import OptimWrapper

model = nn.Linear(1, 1)
optimizer = SGD(model.parameters(), lr=0.01)
optim_wrapper = OptimWrapper(optimizer)

print(optimizer.param_groups[0]['lr'])  # 0.01
print(optimizer.param_groups[0]['momentum'])  # 0
print(optim_wrapper.get_lr())  # {'lr': [0.01]}
print(optim_wrapper.get_momentum())  # {'momentum': [0]}
"""


def test_get_lr_and_momentum_section(capsys):
    run([GET_LR])
    assert capsys.readouterr().out == "0.01\n0\n{'lr': [0.01]}\n{'momentum': [0]}\n"


STATE_DICTS = """
import torch.nn as nn
from torch.optim import SGD
from mmengine.optim import OptimWrapper, AmpOptimWrapper

model = nn.Linear(1, 1)
optimizer = SGD(model.parameters(), lr=0.01)

optim_wrapper = OptimWrapper(optimizer=optimizer)
amp_optim_wrapper = AmpOptimWrapper(optimizer=optimizer)

# export state dicts
optim_state_dict = optim_wrapper.state_dict()
amp_optim_state_dict = amp_optim_wrapper.state_dict()

print(optim_state_dict)
print(amp_optim_state_dict)
optim_wrapper_new = OptimWrapper(optimizer=optimizer)
amp_optim_wrapper_new = AmpOptimWrapper(optimizer=optimizer)

# load state dicts
amp_optim_wrapper_new.load_state_dict(amp_optim_state_dict)
optim_wrapper_new.load_state_dict(optim_state_dict)
"""
TUTORIAL_GROUP = {
    "lr": 0.01, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False,
    "maximize": False, "foreach": None, "params": [0, 1],
}  # fmt: skip
TUTORIAL_SCALER = {
    "scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000, "_growth_tracker": 0,
}  # fmt: skip


def test_export_and_load_state_dicts_section(capsys):
    run([STATE_DICTS])
    plain, amp = (ast.literal_eval(line) for line in capsys.readouterr().out.splitlines())
    for printed in (plain, amp):
        assert printed["state"] == {} and len(printed["param_groups"]) == 1
        group = printed["param_groups"][0]
        assert {k: group[k] for k in TUTORIAL_GROUP} == TUTORIAL_GROUP
    assert set(plain) == {"state", "param_groups"}
    assert set(amp) == {"state", "param_groups", "loss_scaler"}
    assert amp["loss_scaler"] == TUTORIAL_SCALER


MULTIPLE_OPTIMIZERS = """
from torch.optim import SGD
import torch.nn as nn

from mmengine.optim import OptimWrapper, OptimWrapperDict

gen = nn.Linear(1, 1)
disc = nn.Linear(1, 1)
optimizer_gen = SGD(gen.parameters(), lr=0.01)
optimizer_disc = SGD(disc.parameters(), lr=0.01)

optim_wapper_gen = OptimWrapper(optimizer=optimizer_gen)
optim_wapper_disc = OptimWrapper(optimizer=optimizer_disc)
optim_dict = OptimWrapperDict(gen=optim_wapper_gen, disc=optim_wapper_disc)

print(optim_dict.get_lr())  # {'gen.lr': [0.01], 'disc.lr': [0.01]}
print(optim_dict.get_momentum())  # {'gen.momentum': [0], 'disc.momentum': [0]}
"""


def test_multiple_optimizers_section(capsys):
    ns = run([MULTIPLE_OPTIMIZERS])
    assert capsys.readouterr().out == (
        "{'gen.lr': [0.01], 'disc.lr': [0.01]}\n{'gen.momentum': [0], 'disc.momentum': [0]}\n"
    )
    assert ns["optim_dict"]["gen"] is ns["optim_wapper_gen"]
