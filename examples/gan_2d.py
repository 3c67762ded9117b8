"""A tiny GAN on a 2-D ring of eight Gaussians: one OptimWrapperDict holds the generator's and discriminator's wrappers.

    python examples/gan_2d.py                 # writes work_dirs/gan_2d/samples.png (real vs generated)

Each network gets its own config (different lr and betas, AMP: bfloat16 on the CPU, float16 on
CUDA); the dict reports both learning rates and saves / loads both states at once.
"""

from __future__ import annotations

import argparse
import copy
import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import optimtx as otx

GENERATOR_CFG = dict(
    type="AmpOptimWrapper",
    optimizer=dict(type="Adam", lr=1e-3, betas=(0.5, 0.999)),
    clip_grad=dict(max_norm=10.0),
)
DISCRIMINATOR_CFG = dict(
    type="AmpOptimWrapper",
    optimizer=dict(type="AdamW", lr=2e-3, betas=(0.5, 0.999), weight_decay=1e-4),
    paramwise_cfg=dict(bias_decay_mult=0.0),
)


def real_samples(n: int, generator: torch.Generator) -> Tensor:
    """Points around eight modes on the unit circle (std 0.05)."""
    modes = torch.randint(0, 8, (n,), generator=generator).float() * (2 * math.pi / 8)
    centers = torch.stack([modes.cos(), modes.sin()], dim=1)
    return centers + 0.05 * torch.randn(n, 2, generator=generator)


def mlp(n_in: int, n_out: int, width: int = 64) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_in, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, n_out)
    )


def with_dtype(cfg: dict[str, Any], device: str) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    cfg.setdefault("dtype", "float16" if device.startswith("cuda") else "bfloat16")
    return cfg


def distance_to_modes(x: Tensor) -> float:
    """Mean distance from each point to the nearest of the eight modes (0 for a perfect generator)."""
    angles = torch.arange(8).float() * (2 * math.pi / 8)
    centers = torch.stack([angles.cos(), angles.sin()], dim=1)
    return float(torch.cdist(x.float(), centers).min(dim=1).values.mean())


def train(steps: int, seed: int = 0, device: str = "cpu", batch: int = 256, reports: int = 10) -> dict[str, Any]:
    """Train both networks for ``steps`` steps, printing one plain progress line ``reports`` times."""
    torch.manual_seed(seed)
    data_gen = torch.Generator().manual_seed(seed)
    gen, disc = mlp(2, 2).to(device), mlp(2, 1).to(device)
    wrappers = otx.OptimWrapperDict(
        generator=otx.build_optim_wrapper(gen, with_dtype(GENERATOR_CFG, device)),
        discriminator=otx.build_optim_wrapper(disc, with_dtype(DISCRIMINATOR_CFG, device)),
    )
    g_wrap, d_wrap = wrappers["generator"], wrappers["discriminator"]
    bce = nn.functional.binary_cross_entropy_with_logits
    fixed_noise = torch.randn(1000, 2, generator=data_gen).to(device)
    start = distance_to_modes(gen(fixed_noise).detach().cpu())
    report_every = max(1, steps // reports) if reports else 0
    for step in range(1, steps + 1):
        real = real_samples(batch, data_gen).to(device)
        noise = torch.randn(batch, 2, device=device)
        with d_wrap.optim_context(disc):  # discriminator: real -> 1, fake -> 0
            fake = gen(noise).detach()
            logits = disc(torch.cat([real, fake]))
            target = torch.cat([torch.ones(batch, 1), torch.zeros(batch, 1)]).to(device)
            d_loss = bce(logits.float(), target)
        d_wrap.update_params(d_loss)
        with g_wrap.optim_context(gen):  # generator: make the discriminator say 1 (non-saturating loss)
            g_loss = bce(disc(gen(noise)).float(), torch.ones(batch, 1, device=device))
        g_wrap.update_params(g_loss)
        disc.zero_grad(set_to_none=True)  # the generator's backward also reached the discriminator
        if report_every and (step % report_every == 0 or step == steps):  # plain lines: readable in any log
            with torch.no_grad():
                distance = distance_to_modes(gen(fixed_noise).float().cpu())
            losses = f"d_loss {float(d_loss.detach()):.3f}  g_loss {float(g_loss.detach()):.3f}"
            print(
                f"step {step:>{len(str(steps))}}/{steps}  {losses}  distance to modes {distance:.3f}",
                flush=True,
            )
    samples = gen(fixed_noise).detach().float().cpu()
    return {
        "gen": gen,
        "disc": disc,
        "wrappers": wrappers,
        "samples": samples,
        "start_distance": start,
        "distance": distance_to_modes(samples),
        "d_loss": float(d_loss.detach()),
        "g_loss": float(g_loss.detach()),
    }


def save_plot(samples: Tensor, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = real_samples(len(samples), torch.Generator().manual_seed(1))
    fig, ax = plt.subplots(figsize=(5, 5), constrained_layout=True)
    ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.4, label="real")
    ax.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.4, label="generated")
    ax.set(aspect="equal", xlim=(-1.6, 1.6), ylim=(-1.6, 1.6), title="8 Gaussians: real vs generated")
    ax.legend(markerscale=4)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", default="work_dirs/gan_2d")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args(argv)
    result = train(args.steps, args.seed, args.device)
    for name, model in (("generator", result["gen"]), ("discriminator", result["disc"])):
        wrapper = result["wrappers"][name]
        groups = zip(otx.param_group_names(model, wrapper), wrapper.optimizer.param_groups, strict=True)
        print(f"{name} lr: " + ", ".join(f"{label} {group['lr']:.2e}" for label, group in groups))
    out = Path(args.work_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_plot(result["samples"], out / "samples.png")
    torch.save(result["wrappers"].state_dict(), out / "wrappers.pth")  # both states in one dict
    print(f"mean distance to the nearest mode: {result['start_distance']:.3f} -> {result['distance']:.3f}")
    print(f"wrote {out / 'samples.png'}")
    return result


if __name__ == "__main__":
    main()
