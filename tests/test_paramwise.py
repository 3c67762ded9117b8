"""paramwise rules -> labels: MMEngine's expected tables (spec section 3.4), grouping, errors, warnings."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
from torch import nn

import optimtx as otx
from optimtx.config.paramwise import label_of, paramwise_labels, resolve
from optimtx.config.paramwise_rules import is_depthwise_conv, is_norm
from tests.approx import approx_nested, flat
from tests.paramwise_cases import SIX_MULTS, ExampleModel, SharedModel, TransformerBlock

LR, WD = 0.01, 0.9


def effective(model, cfg, lr=LR, wd=WD):
    labels, hparams = paramwise_labels(model, cfg, lr=lr, weight_decay=wd)
    return {name: hparams.get(label) for name, label in labels.items()}


def lr_wd(table):
    return {name: (hp["lr"], hp.get("weight_decay")) if hp else None for name, hp in table.items()}


SIX_MULTS_TABLE = {
    "param1": (LR, WD * 0.3),
    "conv1.weight": (LR, WD),
    "conv2.weight": (LR, WD),
    "conv2.bias": (LR * 2, WD * 0.5),
    "bn.weight": (LR, 0.0),
    "bn.bias": (LR, 0.0),
    "sub.param1": (LR, WD * 0.3),
    "sub.conv1.weight": (LR, WD * 0.1),
    "sub.conv1.bias": (LR * 2, WD * 0.5),
    "sub.gn.weight": (LR, 0.0),
    "sub.gn.bias": (LR, 0.0),
}


def test_six_multipliers_table():
    assert flat(lr_wd(effective(ExampleModel(), SIX_MULTS))) == approx_nested(SIX_MULTS_TABLE)


def test_custom_keys_table():
    cfg = dict(
        custom_keys={
            "param1": dict(lr_mult=10),
            "sub": dict(lr_mult=0.1, decay_mult=0),
            "sub.gn": dict(lr_mult=0.01),
            "non_exist_key": dict(lr_mult=0.0),
        },
        norm_decay_mult=0.5,
    )
    with pytest.warns(otx.UnmatchedCustomKeyWarning, match="non_exist_key"):
        table = lr_wd(effective(ExampleModel(), cfg))
    assert flat(table) == approx_nested(
        {
            "param1": (0.1, WD),
            "conv1.weight": (LR, WD),
            "conv2.weight": (LR, WD),
            "conv2.bias": (LR, WD),
            "bn.weight": (LR, WD * 0.5),
            "bn.bias": (LR, WD * 0.5),
            "sub.param1": (0.1, WD),
            "sub.conv1.weight": (LR * 0.1, 0.0),
            "sub.conv1.bias": (LR * 0.1, 0.0),
            "sub.gn.weight": (LR * 0.01, WD),
            "sub.gn.bias": (LR * 0.01, WD),
        }
    )


def test_custom_keys_without_weight_decay_only_scale_lr():
    table = effective(ExampleModel(), dict(custom_keys={"param1": dict(lr_mult=10)}), wd=None)
    assert {n: hp["lr"] for n, hp in table.items() if hp["lr"] != LR} == pytest.approx(
        {"param1": 0.1, "sub.param1": 0.1}
    )
    assert all("weight_decay" not in hp for hp in table.values())


def test_custom_entries_become_group_keys_and_literals_win():
    labels, hparams = paramwise_labels(
        TransformerBlock(), dict(custom_keys={"head": dict(lr_mult=3.0, lr=0.5, fix_lr=True)}), lr=LR, weight_decay=WD
    )
    assert labels["head.weight"] == labels["decode_head.bias"] == "custom:head"  # substring: 'head' in 'decode_head'
    assert hparams["custom:head"] == {"lr": 0.5, "weight_decay": WD, "lr_mult": 3.0, "fix_lr": True}


def test_longest_key_wins_then_alphabetical():
    cfg = dict(custom_keys={"ab": dict(lr_mult=2), "b.": dict(lr_mult=3), "ab.": dict(lr_mult=5)})
    model = nn.Module()
    model.ab = nn.Linear(1, 1)
    labels, hparams = paramwise_labels(model, cfg, lr=1.0)
    assert hparams[labels["ab.weight"]]["lr"] == 5  # 'ab.' is longest
    cfg = dict(custom_keys={"b.": dict(lr_mult=3), "ab": dict(lr_mult=2)})
    labels, hparams = paramwise_labels(model, cfg, lr=1.0)
    assert hparams[labels["ab.bias"]]["lr"] == 2  # equal length: alphabetical first


def test_top_level_params_match_with_a_leading_dot():
    model = TransformerBlock()
    labels, hparams = paramwise_labels(
        model, dict(custom_keys={".scale": dict(decay_mult=0.0)}), lr=LR, weight_decay=WD
    )
    assert hparams[labels["scale"]]["weight_decay"] == 0.0
    assert labels["norm.weight"] == "default"


def test_custom_keys_override_every_other_rule():
    cfg = dict(custom_keys={"bn": dict(lr_mult=1.0)}, norm_decay_mult=0.0, bias_decay_mult=0.0)
    table = lr_wd(effective(ExampleModel(), cfg))
    assert table["bn.weight"] == (LR, WD) and table["bn.bias"] == (LR, WD)
    assert table["sub.gn.weight"] == (LR, 0.0)


def test_norm_params_fall_through_to_bias_and_flat_rules_when_norm_mult_unset():
    table = lr_wd(effective(ExampleModel(), dict(bias_decay_mult=0.5, flat_decay_mult=0.3)))
    assert table["bn.bias"] == pytest.approx((LR, WD * 0.5))
    assert table["bn.weight"] == pytest.approx((LR, WD * 0.3))


def test_same_hyperparameters_share_a_label():
    labels, hparams = paramwise_labels(ExampleModel(), SIX_MULTS, lr=LR, weight_decay=WD)
    assert len(hparams) == len({tuple(sorted(hp.items())) for hp in hparams.values()})
    assert labels["bn.weight"] == labels["sub.gn.bias"] == "norm"
    assert labels["conv2.bias"] == labels["sub.conv1.bias"] == "bias"
    assert labels["param1"] == labels["sub.param1"] == "flat"
    assert set(hparams) == {"default", "norm", "bias", "flat", "dwconv"}


def test_frozen_parameters_are_labelled_and_logged_once(caplog):
    model = ExampleModel()
    model.conv1.requires_grad_(False)
    model.bn.requires_grad_(False)
    with caplog.at_level(logging.WARNING, logger="optimtx"), pytest.warns(otx.FrozenParameterWarning):
        labels, hparams = paramwise_labels(model, SIX_MULTS, lr=LR, weight_decay=WD)
    assert [n for n, lb in labels.items() if lb == "frozen"] == ["conv1.weight", "bn.weight", "bn.bias"]
    assert "frozen" not in hparams
    warnings_logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings_logged == [
        "3 parameters left out of the optimizer since requires_grad=False: conv1.weight, bn.weight, bn.bias"
    ]


def test_shared_modules_need_bypass_duplicate(caplog):
    with pytest.raises(ValueError, match=r"some parameters appear in more than one parameter group.*bypass_duplicate"):
        paramwise_labels(SharedModel(), SIX_MULTS, lr=LR, weight_decay=WD)
    with caplog.at_level(logging.WARNING, logger="optimtx"):
        labels, _ = paramwise_labels(SharedModel(), dict(SIX_MULTS, bypass_duplicate=True), lr=LR, weight_decay=WD)
    assert list(labels) == [n for n, _ in SharedModel().named_parameters()]
    assert any("bypass_duplicate=True: conv3.0.weight, conv3.0.bias" in r.getMessage() for r in caplog.records)


def test_frozen_shared_module_is_skipped_without_error():
    model = SharedModel()
    model.conv1[0].requires_grad_(False)
    with pytest.warns(otx.FrozenParameterWarning):
        labels, _ = paramwise_labels(model, SIX_MULTS, lr=LR, weight_decay=WD)
    assert labels["conv1.0.weight"] == "frozen"


def test_validation_errors():
    model = ExampleModel()
    with pytest.raises(TypeError, match="paramwise_cfg should be None or a dict"):
        paramwise_labels(model, ["error"], lr=LR)
    with pytest.raises(TypeError, match="custom_keys must be a dict"):
        paramwise_labels(model, dict(custom_keys=[0.1, 1e-4]), lr=LR)
    with pytest.raises(
        ValueError, match=r"custom_keys\['.backbone'\] sets decay_mult but the optimizer has no weight_decay"
    ):
        paramwise_labels(model, dict(custom_keys={".backbone": dict(decay_mult=0.5)}), lr=LR)
    for mult in ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult"):
        with pytest.raises(ValueError, match=f"sets {mult} but the optimizer has no weight_decay"):
            paramwise_labels(model, {mult: 1.0}, lr=LR)
    with pytest.raises(ValueError, match="bias_lr_mult scales the learning rate, but the optimizer config has no lr"):
        paramwise_labels(model, dict(bias_lr_mult=2.0))


def test_flat_decay_mult_without_weight_decay_is_ignored_like_mmengine():
    labels, hparams = paramwise_labels(ExampleModel(), dict(flat_decay_mult=0.0), lr=LR)
    assert set(labels.values()) == {"default"} and hparams == {"default": {"lr": LR}}


def test_unmatched_custom_key_warning_suggests_close_names():
    with pytest.warns(otx.UnmatchedCustomKeyWarning, match="Closest parameter names: .*decode_head"):
        paramwise_labels(TransformerBlock(), dict(custom_keys={"decoder_head": dict(lr_mult=0.1)}), lr=LR)


def test_no_warning_when_every_key_matches():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paramwise_labels(TransformerBlock(), dict(custom_keys={"head": dict(lr_mult=0.1)}), lr=LR)


def test_resolve_reports_the_deciding_rule():
    rules = {d.name: d.rule for d in resolve(ExampleModel(), SIX_MULTS, LR, WD)}
    assert rules["conv2.bias"] == "bias_lr_mult+bias_decay_mult"
    assert rules["sub.conv1.weight"] == "dwconv_decay_mult"
    assert rules["conv1.weight"] == "default"


def test_layer_detection():
    assert is_norm(nn.LayerNorm(2)) and is_norm(nn.InstanceNorm2d(2)) and not is_norm(nn.RMSNorm(2))
    assert is_depthwise_conv(nn.Conv2d(1, 1, 1)) and not is_depthwise_conv(nn.Conv1d(3, 3, 1, groups=3))


def test_label_of():
    assert label_of("custom_keys['a.b']") == "custom:a.b"
    assert label_of("bias_lr_mult+dwconv_decay_mult") == "bias+dwconv"
    assert label_of("default") == "default"


def test_functional_paramwise_matches_per_label_factories():
    model = ExampleModel()
    model.conv1.requires_grad_(False)
    with pytest.warns(otx.FrozenParameterWarning):
        tx = otx.paramwise(otx.sgd, model, SIX_MULTS, lr=LR, weight_decay=WD, momentum=0.9)
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    grads = {n: torch.randn_like(p) for n, p in params.items()}
    updates, _ = tx.update(grads, tx.init(params), params)
    assert torch.count_nonzero(updates["conv1.weight"]) == 0
    for name, (lr, wd) in SIX_MULTS_TABLE.items():
        if name == "conv1.weight":
            continue
        single = otx.sgd(lr=lr, weight_decay=wd, momentum=0.9)
        one = {name: params[name]}
        want, _ = single.update({name: grads[name]}, single.init(one), one)
        torch.testing.assert_close(updates[name], want[name])


def test_functional_paramwise_rejects_keys_the_factory_lacks():
    with pytest.raises(TypeError, match="sets fix_lr=True, which the transform factory does not accept"):
        otx.paramwise(otx.sgd, TransformerBlock(), dict(custom_keys={"head": dict(fix_lr=True)}), lr=LR)
