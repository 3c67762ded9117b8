"""Default config of examples/train_digits.py (MMEngine style: plain Python, read with optimtx.cli.load_config).

``dtype`` and ``loss_scale`` are left out of ``optim_wrapper`` on purpose: the script picks
bfloat16 on the CPU (no loss scaling, which bfloat16 does not need) and float16 on CUDA, where
the default ``loss_scale`` is dynamic scaling. Set ``dtype`` here to force one.
"""

max_epochs = 12
batch_size = 32

optim_wrapper = dict(
    type="AmpOptimWrapper",
    accumulative_counts=2,
    clip_grad=dict(max_norm=5.0),
    optimizer=dict(type="AdamW", lr=4e-3, weight_decay=0.05),
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
