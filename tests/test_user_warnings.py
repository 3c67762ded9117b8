"""Warnings a user must act on reach them through ``warnings.warn``, each with its category, pointing at their line."""

from __future__ import annotations

import warnings

import pytest
import torch

import optimtx as otx


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return caught


def _of(caught, category):
    return [w for w in caught if issubclass(w.category, category)]


def test_bf16_dynamic_loss_scale_says_overflow_skipping_is_off():
    params = [torch.nn.Parameter(torch.ones(2))]

    def amp(**kw):
        return lambda: otx.AmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1), **kw)

    # Only an explicitly written 'dynamic' asks for a scaler that bfloat16 does not get.
    (w,) = _of(_caught(amp(dtype="bfloat16", loss_scale="dynamic")), otx.LossScalingDisabledWarning)
    assert "skipping" in str(w.message) and w.filename == __file__
    # The recommended path (loss_scale left at its default), explicit choices and float16 are silent.
    for kw in [dict(dtype="bfloat16"), dict(dtype="bfloat16", loss_scale=dict(enabled=False)), dict(dtype="float16")]:
        assert not _of(_caught(amp(**kw)), otx.LossScalingDisabledWarning), kw
    default = otx.AmpOptimWrapper(optimizer=torch.optim.SGD(params, lr=0.1), dtype="bfloat16")
    assert not default.loss_scaler.is_enabled()  # the default still means "no scaler" for bfloat16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        otx.build_optim_wrapper(
            torch.nn.Linear(2, 1), dict(type="AmpOptimWrapper", dtype="bfloat16", optimizer=dict(type="SGD", lr=0.1))
        )


@pytest.mark.parametrize("norm", [torch.nn.BatchNorm1d, torch.nn.SyncBatchNorm])
def test_batchnorm_with_accumulation_warns(norm):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), norm(2))
    wrapper = otx.OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=4)
    (w,) = _of(_caught(lambda: wrapper.initialize_count_status(model, 0, 100)), otx.AccumulationBatchNormWarning)
    assert "accumulative_counts=4" in str(w.message) and w.filename == __file__


def test_no_batchnorm_warning_without_accumulation_or_without_batchnorm():
    bn = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    plain = torch.nn.Linear(2, 2)
    one = otx.OptimWrapper(torch.optim.SGD(bn.parameters(), lr=0.1))
    four = otx.OptimWrapper(torch.optim.SGD(plain.parameters(), lr=0.1), accumulative_counts=4)
    assert not _of(_caught(lambda: one.initialize_count_status(bn, 0, 10)), otx.AccumulationBatchNormWarning)
    assert not _of(_caught(lambda: four.initialize_count_status(plain, 0, 10)), otx.AccumulationBatchNormWarning)


def test_every_category_derives_from_the_base():
    for name in [
        "FrozenParameterWarning",
        "AccumulationBatchNormWarning",
        "LossScalingDisabledWarning",
        "AccumulationResumeWarning",
        "UnmatchedCustomKeyWarning",
    ]:
        assert issubclass(getattr(otx, name), otx.OptimtxWarning)
