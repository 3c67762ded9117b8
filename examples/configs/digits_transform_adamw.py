"""The digits demo with optimtx's pure ``adamw`` inside ``TransformOptimizer``, fp32 moments.

Compare the two configs ``digits_transform_adamw.py`` and ``digits_bf16_moments.py`` to see what
bfloat16 moments cost in accuracy (docs/optimizers_torch.md, ``mu_dtype``).

``dtype`` is left out of ``optim_wrapper`` on purpose: the script picks bfloat16 on the CPU
and float16 (with dynamic loss scaling) on CUDA. Set it here to force one.
"""

max_epochs = 12
batch_size = 32

optim_wrapper = dict(
    type="AmpOptimWrapper",
    loss_scale="dynamic",
    accumulative_counts=2,
    clip_grad=dict(max_norm=5.0),
    optimizer=dict(type="TransformOptimizer", transform=dict(type="adamw", lr=4e-3, weight_decay=0.05)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            "head": dict(lr_mult=0.5),  # the classifier learns at half the rate
            "head.bias": dict(lr_mult=0.5, decay_mult=0.0),  # custom_keys win over bias_decay_mult: repeat it
        },
    ),
)

# Warm up for one epoch, then a cosine decay to the end; both converted to per-iteration steps.
param_scheduler = [
    dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(
        type="CosineAnnealingLR",
        by_epoch=True,
        begin=1,
        end=max_epochs,
        T_max=max_epochs - 1,
        eta_min=1e-5,
        convert_to_iter_based=True,
    ),
]
