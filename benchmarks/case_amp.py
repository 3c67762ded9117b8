"""T1: AMP + clipping + AdamW step; T5: the facade's overhead over a bare optimizer step."""

from __future__ import annotations

import torch
from cases import Case, Target
from params import make_grads, make_params, numel_of, set_grads
from timing import Variant

SCALE = 2.0**16
FLOAT = 4  # bytes per float32 value


def _fused_adamw(params):
    return torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, fused=True)


def _fixture(param_set, device, scale):
    params = make_params(param_set, device)
    grads = make_grads(params, scale)
    return params, grads


def amp_clip_case(param_set: str, device: torch.device) -> Case:
    """T1: facade AMP + clip + AdamW vs fused AdamW + GradScaler + clip_grad_norm_."""
    n = numel_of(param_set)
    case = Case(
        "T1",
        "AMP + clip(max_norm=1) + AdamW step",
        param_set,
        "torch fused+GradScaler+clip",
        bytes_per_step=n * FLOAT * 8,
        bound_note="norm pass reads g; fused AdamW reads p,g,m,v and writes p,m,v (32 B/param)",
    )
    case.add("torch fused+GradScaler+clip", lambda: _torch_amp_clip(param_set, device))
    case.add("torch fused (no AMP/clip)", lambda: _torch_plain(param_set, device, fused=True))
    case.add("torch fused with grad_scale, no norm", lambda: _torch_grad_scale_only(param_set, device))
    case.add("mmengine OptimWrapper(clip, no AMP)", lambda: _mmengine_clip(param_set, device))
    case.add("optimtx AmpOptimWrapper", lambda: _facade_amp_clip(param_set, device), role="optimtx")
    case.add("optimtx fused_amp_step", lambda: _fast_step(param_set, device), role="optimtx")
    case.add("optimtx AmpOptimWrapper+fused_amp_step*", lambda: _facade_fast(param_set, device), role="optimtx")
    case.targets += [
        Target("optimtx AmpOptimWrapper", "torch fused+GradScaler+clip", 1.5),
        Target("optimtx AmpOptimWrapper+fused_amp_step*", "torch fused+GradScaler+clip", 1.5),
        Target("optimtx fused_amp_step", "torch fused+GradScaler+clip", 1.5),
    ]
    return case


def _torch_amp_clip(param_set, device):
    params, grads = _fixture(param_set, device, SCALE)
    opt = _fused_adamw(params)
    scaler = torch.amp.GradScaler(device.type, init_scale=SCALE)
    scaler.scale(torch.ones((), device=device))  # GradScaler builds its scale tensor lazily

    def step():
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        scaler.step(opt)
        scaler.update()

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=True))


def _torch_grad_scale_only(param_set, device):
    """The update pass of the two-pass step alone: fused AdamW unscaling by a ``grad_scale`` tensor.

    With a ``grad_scale`` the fused kernel also writes the unscaled gradients back (one more
    gradient-sized write than without), so this is the floor under optimtx's T1 step, which
    adds only the read-only norm pass to it.
    """
    params, grads = _fixture(param_set, device, SCALE)
    opt = _fused_adamw(params)
    grad_scale = torch.tensor(SCALE, device=device)
    found_inf = torch.zeros((), device=device)

    def step():
        opt.grad_scale, opt.found_inf = grad_scale, found_inf
        opt.step()
        del opt.grad_scale, opt.found_inf

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=True), note="floor of the two-pass step")


def _torch_plain(param_set, device, fused):
    params, grads = _fixture(param_set, device, 1.0)
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01, fused=fused, foreach=None if fused else True)

    def step():
        opt.step()
        opt.zero_grad()

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=False))


def _mmengine_clip(param_set, device):
    from mmengine.optim import OptimWrapper

    params, grads = _fixture(param_set, device, 1.0)
    wrapper = OptimWrapper(optimizer=_fused_adamw(params), clip_grad=dict(max_norm=1.0))
    return Variant("", wrapper.step, setup=lambda: set_grads(params, grads, copy=True))


def _facade_amp_clip(param_set, device):
    from optimtx.wrapper import AmpOptimWrapper

    params, grads = _fixture(param_set, device, SCALE)
    wrapper = AmpOptimWrapper(optimizer=_fused_adamw(params), clip_grad=dict(max_norm=1.0), loss_scale="dynamic")
    wrapper.loss_scaler.to(device)  # as after the first scaled backward in training
    return Variant("", wrapper.step, setup=lambda: set_grads(params, grads, copy=True))


def _facade_fast(param_set, device):
    """The facade with the step the lead is asked to adopt (*: a benchmark-local subclass until then)."""
    from optimtx.wrapper import AmpOptimWrapper
    from optimtx.wrapper.fast_step import fused_amp_step, supports_fused_amp_step

    class FastAmpOptimWrapper(AmpOptimWrapper):
        def step(self, **kwargs):
            clip, scaler = self._clip, self.loss_scaler
            fusable = clip is None or (clip.kind == "norm" and not clip.kwargs.get("error_if_nonfinite", False))
            if kwargs or not fusable or not scaler.is_enabled() or not supports_fused_amp_step(self.optimizer):
                return super().step(**kwargs)
            max_norm = None if clip is None else clip.kwargs["max_norm"]
            norm_type = 2.0 if clip is None else clip.kwargs.get("norm_type", 2.0)
            result = fused_amp_step(self.optimizer, scaler._scale, max_norm, norm_type)
            if clip is not None:
                self.last_grad_norm = result.total_norm
            scaler._found_inf = result.found_inf
            scaler.update(self._scale_update_param)

    params, grads = _fixture(param_set, device, SCALE)
    wrapper = FastAmpOptimWrapper(optimizer=_fused_adamw(params), clip_grad=dict(max_norm=1.0))
    wrapper.loss_scaler.to(device)  # as after the first scaled backward in training
    return Variant("", wrapper.step, setup=lambda: set_grads(params, grads, copy=True), note="proposed facade step")


def _fast_step(param_set, device):
    from optimtx.wrapper.fast_step import fused_amp_step

    params, grads = _fixture(param_set, device, SCALE)
    opt = _fused_adamw(params)
    scale = torch.tensor(SCALE, device=device)
    tracker = torch.zeros((), dtype=torch.int32, device=device)

    def step():
        result = fused_amp_step(opt, scale, max_norm=1.0)
        torch._amp_update_scale_(scale, tracker, result.found_inf, 2.0, 0.5, 2000)

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=True))


def overhead_case(param_set: str, device: torch.device) -> Case:
    """T5: ``OptimWrapper.step(); zero_grad()`` with no clip/AMP vs the bare optimizer calls."""
    n = numel_of(param_set)
    case = Case(
        "T5",
        "facade overhead, fused AdamW, no clip/AMP",
        param_set,
        "torch step+zero_grad",
        bytes_per_step=n * FLOAT * 7,
        bound_note="fused AdamW: reads p,g,m,v, writes p,m,v (28 B/param)",
    )
    case.add("torch step+zero_grad", lambda: _torch_plain(param_set, device, fused=True))
    case.add("mmengine OptimWrapper", lambda: _wrapped(param_set, device, "mmengine.optim"))
    case.add("optimtx OptimWrapper", lambda: _wrapped(param_set, device, "optimtx.wrapper"), role="optimtx")
    bound = 1.03 if param_set != "small1000" else 1.10
    case.targets.append(Target("optimtx OptimWrapper", "torch step+zero_grad", bound, kind="within"))
    return case


def _wrapped(param_set, device, module):
    wrapper_cls = __import__(module, fromlist=["OptimWrapper"]).OptimWrapper
    params, grads = _fixture(param_set, device, 1.0)
    wrapper = wrapper_cls(optimizer=_fused_adamw(params))

    def step():
        wrapper.step()
        wrapper.zero_grad()

    return Variant("", step, setup=lambda: set_grads(params, grads, copy=False))
