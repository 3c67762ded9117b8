"""Building schedulers from configs the way MMEngine's Runner does.

`build_scheduler_from_cfg` is the build function of the ``PARAM_SCHEDULERS``
registry: a config with ``convert_to_iter_based=True`` is built by the class's
``build_iter_from_epoch`` with the ``epoch_length`` from the config or the default
arguments; otherwise ``epoch_length`` is dropped and the class is called.
[`build_param_schedulers`][optimtx.build_param_schedulers] is the Runner's ``build_param_scheduler``.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from optimtx.core.registry import Registry, build_from_cfg, merge_cfg, resolve_type
from optimtx.core.validation import check_bool, check_int_at_least
from optimtx.param_scheduler import SCHEDULER_CLASSES
from optimtx.param_scheduler.base import _ParamScheduler, check_optimizer
from optimtx.wrapper.optim_wrapper_dict import OptimWrapperDict

__all__ = ["PARAM_SCHEDULERS", "build_param_schedulers", "build_scheduler_from_cfg", "register_param_schedulers"]


def build_scheduler_from_cfg(
    cfg: Mapping[str, Any], registry: Any, default_args: Mapping[str, Any] | None = None
) -> _ParamScheduler:
    """Build one scheduler from ``cfg``; ``default_args`` fills missing keys (``optimizer``, ``epoch_length``).

    A ``_scope_`` key (MMEngine's registry scope) is ignored.

    Raises:
        ValueError: ``convert_to_iter_based=True`` without an ``epoch_length``, or with ``by_epoch=False``;
            an ``epoch_length`` in ``cfg`` itself without ``convert_to_iter_based=True``.
        TypeError: ``convert_to_iter_based`` is not a bool.

    Example:
        >>> import torch
        >>> from optimtx.config.registries import PARAM_SCHEDULERS
        >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> cfg = dict(type="MultiStepLR", milestones=[1, 2], convert_to_iter_based=True)
        >>> sched = PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=opt, epoch_length=10))
        >>> sched.milestones, sched.by_epoch
        ({10: 1, 20: 1}, False)
    """
    args = merge_cfg(cfg, registry, default_args)
    args.pop("_scope_", None)  # MMEngine's registry scope: optimtx has one scope, its names are MMEngine's
    convert = check_bool("convert_to_iter_based", args.pop("convert_to_iter_based", False))
    if not convert and "epoch_length" in cfg:  # the entry's own, not the Runner's default: it would do nothing
        raise ValueError(
            f"{args['type']!r} sets epoch_length={cfg['epoch_length']!r} without convert_to_iter_based=True, where it "
            "has no effect: add convert_to_iter_based=True or remove epoch_length."
        )
    if not convert:
        args.pop("epoch_length", None)
        return build_from_cfg(args, registry)
    if args.get("epoch_length") is None:
        raise ValueError(
            f"{args['type']!r} has convert_to_iter_based=True but no epoch_length: pass it in the config or in "
            "default_args (the Runner passes len(train_dataloader)), e.g. build_param_schedulers(..., epoch_length=n)."
        )
    if args.get("by_epoch", True) is not True:
        raise ValueError(
            f"Only epoch-based schedulers (by_epoch=True) can be converted to iteration-based ones; "
            f"{args['type']!r} has by_epoch={args['by_epoch']!r}."
        )
    scheduler_cls = resolve_type(args, registry)
    args.pop("type")
    return scheduler_cls.build_iter_from_epoch(**args)  # type: ignore[attr-defined]


def build_param_schedulers(
    wrapper: Any,
    cfgs: Any,
    epoch_length: int | None = None,
    *,
    max_epochs: int | None = None,
    max_iters: int | None = None,
) -> list[_ParamScheduler] | dict[str, list[_ParamScheduler]]:
    """Build the parameter schedulers of ``wrapper`` as MMEngine's ``Runner.build_param_scheduler`` does.

    Args:
        wrapper: an ``OptimWrapper`` (or optimizer), or an ``OptimWrapperDict``.
        cfgs: a scheduler config (a dict with ``type``) or built scheduler, or a list of them.
            For an ``OptimWrapperDict``: a dict ``{wrapper name: list}`` (every name, no other
            key), or one list built once for every wrapper.
        epoch_length: iterations per epoch (the Runner's ``len(train_dataloader)``); needed by
            configs with ``convert_to_iter_based=True``.
        max_epochs, max_iters: the default ``end`` of configs without one, chosen by their
            ``by_epoch`` (as the Runner does with its train loop's length).

    Returns:
        A list of schedulers, or for an ``OptimWrapperDict`` a dict of lists by wrapper name.
        If any config fails, the optimizers are left as they were.

    Example:
        >>> import torch
        >>> from optimtx import OptimWrapper
        >>> wrapper = OptimWrapper(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0))
        >>> schedulers = build_param_schedulers(wrapper, [
        ...     dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=4),
        ...     dict(type="CosineAnnealingLR", by_epoch=True, begin=0, end=3, convert_to_iter_based=True),
        ... ], epoch_length=4)
        >>> [type(s).__name__ for s in schedulers], schedulers[1].T_max
        (['LinearLR', 'CosineAnnealingLR'], 12)
    """
    for name, value in (("epoch_length", epoch_length), ("max_epochs", max_epochs), ("max_iters", max_iters)):
        if value is not None:
            check_int_at_least(name, value, 1)
    limits = (epoch_length, max_epochs, max_iters)
    if not isinstance(wrapper, OptimWrapperDict):
        check_optimizer(wrapper)
        items = _config_list(cfgs, "cfgs", epoch_length)
        with _restored_on_error([wrapper]):
            return _build_list(wrapper, items, *limits)
    per_wrapper = _per_wrapper_configs(wrapper, cfgs, epoch_length)
    with _restored_on_error(list(wrapper.values())):
        return {name: _build_list(wrapper[name], items, *limits) for name, items in per_wrapper.items()}


def _per_wrapper_configs(wrappers: Any, cfgs: Any, epoch_length: int | None) -> dict[str, list[Any]]:
    names = list(wrappers.keys())
    if not (isinstance(cfgs, Mapping) and "type" not in cfgs):
        return {name: _config_list(cfgs, "cfgs", epoch_length) for name in names}
    unknown = sorted(set(cfgs) - set(names))
    missing = [name for name in names if name not in cfgs]
    if unknown or missing:
        raise KeyError(
            f"The scheduler dict must have one entry per wrapper of the OptimWrapperDict {names}; "
            f"unknown key(s) {unknown}, missing {missing}."
        )
    return {name: _config_list(cfgs[name], f"cfgs[{name!r}]", epoch_length) for name in names}


def _config_list(cfgs: Any, where: str, epoch_length: int | None) -> list[Any]:
    """``cfgs`` as a list of configs / schedulers, each checked before anything is built."""
    if isinstance(cfgs, (Mapping, _ParamScheduler)):
        items = [cfgs]
    elif isinstance(cfgs, Sequence) and not isinstance(cfgs, (str, bytes)):
        items = list(cfgs)
    else:
        raise TypeError(f"{where} must be a scheduler config (a dict), a scheduler or a list of them, got {cfgs!r}.")
    for i, item in enumerate(items):
        if isinstance(item, _ParamScheduler):
            continue
        if not isinstance(item, Mapping) or "type" not in item:
            raise TypeError(f"{where}[{i}] must be a scheduler or a config dict with a 'type' key, got {item!r}.")
        convert = check_bool(f"{where}[{i}]['convert_to_iter_based']", item.get("convert_to_iter_based", False))
        if convert and epoch_length is None and item.get("epoch_length") is None:
            raise ValueError(
                f"{where}[{i}] ({item['type']!r}) has convert_to_iter_based=True but no epoch_length was given; "
                "pass epoch_length=len(train_dataloader)."
            )
    return items


def _build_list(
    optimizer: Any, items: list[Any], epoch_length: int | None, max_epochs: int | None, max_iters: int | None
) -> list[_ParamScheduler]:
    default_args: dict[str, Any] = {"optimizer": optimizer}
    if epoch_length is not None:
        default_args["epoch_length"] = epoch_length
    built = []
    for item in items:
        if isinstance(item, _ParamScheduler):
            built.append(item)
            continue
        cfg = dict(item)
        default_end = max_epochs if cfg.get("by_epoch", True) else max_iters
        if default_end is not None:
            cfg.setdefault("end", default_end)
        built.append(PARAM_SCHEDULERS.build(cfg, default_args=default_args))
    return built


@contextlib.contextmanager
def _restored_on_error(optimizers: list[Any]) -> Iterator[None]:
    """Put every param group and the step counter back as they were if the block raises."""
    saved = [([(group, dict(group)) for group in opt.param_groups], dict(vars(opt))) for opt in optimizers]
    try:
        yield
    except BaseException:
        for opt, (groups, attrs) in zip(optimizers, saved, strict=True):
            for group, content in groups:
                group.clear()
                group.update(content)
            for key in ("step", "_global_step", "_optimtx_skip_cache"):
                vars(opt).pop(key, None)
                if key in attrs:
                    vars(opt)[key] = attrs[key]
        raise


PARAM_SCHEDULERS = Registry("parameter scheduler", build_func=build_scheduler_from_cfg, accepts=inspect.isclass)


def register_param_schedulers(registry: Registry = PARAM_SCHEDULERS) -> list[str]:
    """Register the MMEngine-style parameter schedulers (``LinearLR``, ``CosineAnnealingMomentum``...).

    Example:
        >>> "LinearLR" in register_param_schedulers()
        True
    """
    for cls in SCHEDULER_CLASSES:
        registry.register_module(module=cls, force=True)
    return [cls.__name__ for cls in SCHEDULER_CLASSES]


register_param_schedulers()
