"""Regenerate timm_param_groups.json: timm's own parameter grouping on several timm models.

timm needs torchvision, which does not install beside the torch release the tests run on, so the
groupings are stored here and tests/test_create_optimizer.py compares ``otx.create_optimizer``
against them on stand-in modules with the same parameter names, shapes, ``group_matcher``,
``no_weight_decay`` and ``pretrained_cfg``. Run in a separate venv (not collected by pytest):

    python -m venv /tmp/venv-timm && . /tmp/venv-timm/bin/activate
    pip install "torch==2.14.1" "torchvision==0.29.1" timm
    python tests/reference_data/make_timm_groups.py
"""

from __future__ import annotations

import json
import pathlib

MODELS = (
    "resnet18",
    "vit_tiny_patch16_224",
    "deit_tiny_distilled_patch16_224",
    "convnext_atto",
    "efficientnet_b0",
    "mobilenetv3_small_050",
)
SETTINGS = {
    "wd": dict(weight_decay=0.05),
    "wd_no_filter": dict(weight_decay=0.05, filter_bias_and_bn=False),
    "no_wd": dict(weight_decay=0.0),
    "layer_decay": dict(weight_decay=0.05, layer_decay=0.75),
    "layer_decay_min_scale": dict(weight_decay=0.05, layer_decay=0.5, layer_decay_min_scale=0.1),
    "layer_decay_no_opt": dict(weight_decay=0.05, layer_decay=0.5, layer_decay_no_opt_scale=0.1),
}
OUT = pathlib.Path(__file__).with_name("timm_param_groups.json")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (tuple, list)):
        return [_jsonable(v) for v in obj]
    return obj


def _plain_models():
    """Modules without a group_matcher: timm falls back to grouping parameters in runs of 12."""
    import torch

    blocks = [torch.nn.Linear(4, 4) for _ in range(15)]
    with_head = torch.nn.Sequential(*blocks, torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    with_head.pretrained_cfg = {"classifier": "16"}
    return {"plain_with_classifier": with_head, "plain_no_classifier": torch.nn.Sequential(torch.nn.Linear(3, 2))}


def _record(model, groups_by_setting):
    matcher = model.group_matcher(coarse=False) if hasattr(model, "group_matcher") else None
    return {
        "params": [[n, list(p.shape)] for n, p in model.named_parameters()],
        "group_matcher": _jsonable(matcher),
        "no_weight_decay": sorted(getattr(model, "no_weight_decay", lambda: set())()),
        "pretrained_cfg": {"classifier": getattr(model, "pretrained_cfg", {}).get("classifier")},
        "groups": groups_by_setting,
    }


def _groups(make_model, setting):
    import timm.optim

    model = make_model()
    names = {id(p): n for n, p in model.named_parameters()}
    optimizer = timm.optim.create_optimizer_v2(model, "adamw", lr=1e-3, **setting)
    return [
        {
            "names": [names[id(p)] for p in g["params"]],
            "weight_decay": g["weight_decay"],
            "lr_scale": g.get("lr_scale"),
            "lr": g["lr"],
        }
        for g in optimizer.param_groups
    ]


def main() -> None:
    import timm
    import torch

    torch.manual_seed(0)
    out = {"timm_version": timm.__version__, "settings": SETTINGS, "models": {}}
    for name in MODELS:
        make = lambda name=name: timm.create_model(name, pretrained=False)  # noqa: E731
        out["models"][name] = _record(make(), {k: _groups(make, s) for k, s in SETTINGS.items()})
    for name, model in _plain_models().items():
        make = lambda name=name: _plain_models()[name]  # noqa: E731
        out["models"][name] = _record(model, {k: _groups(make, s) for k, s in SETTINGS.items()})
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(out['models'])} models)")


if __name__ == "__main__":
    main()
