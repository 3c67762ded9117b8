"""Compare AdamW, Muon, SOAP, Shampoo and 8-bit AdamW on the digits CNN and a tiny language model.

    python examples/compare_optimizers.py                      # both problems, every optimizer found
    python examples/compare_optimizers.py --steps 50 --tiny    # a quick look (the smoke test runs this)

Each optimizer is built by name from the ``TRANSFORMS`` registry and run as a pure transform
(``tx.update`` on the gradient tree, then ``apply_updates``); one that is not registered in
this installation (SOAP and Shampoo arrive with the preconditioner work) is skipped with a
note. Both problems see the same batches in the same order for every optimizer. The figure
(``compare.png`` in ``--work-dir``) shows the training loss of each problem, the time per
optimizer update and the bytes of optimizer state per parameter, measured from the state's
tensors (torch's AdamW holds 8).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_common import DigitsCNN, load_digits_tensors

import optimtx as otx

ADAMW = dict(type="adamw", lr=3e-3, weight_decay=0.01)
OPTIMIZERS: dict[str, dict[str, Any]] = {
    "AdamW": ADAMW,
    "Muon": dict(type="muon_with_adamw", lr=0.02, adamw_lr=3e-3, weight_decay=0.01, flatten_nd=True),
    "SOAP": dict(type="soap", lr=3e-3),
    "Shampoo": dict(type="shampoo", lr=3e-3),
    "AdamW 8-bit": dict(type="quantize_state", inner=ADAMW, bits=8, min_size=1024),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps per problem (default: %(default)s)")
    parser.add_argument("--optimizers", nargs="*", default=list(OPTIMIZERS), help="names from: %(default)s")
    parser.add_argument("--problems", nargs="*", default=["digits", "lm"], choices=["digits", "lm"])
    parser.add_argument("--tiny", action="store_true", help="small models and batches (seconds in total)")
    parser.add_argument("--work-dir", default="work_dirs/compare_optimizers")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def missing_types(cfg: dict[str, Any]) -> list[str]:
    """The transform types a config names that this installation's registry lacks (nested ones too)."""
    missing = [] if cfg["type"] in otx.TRANSFORMS else [cfg["type"]]
    return missing + [m for v in cfg.values() if isinstance(v, dict) and "type" in v for m in missing_types(v)]


class TinyLM(nn.Module):
    """Predict the next token from the previous ``context`` ones: embedding, two residual MLP blocks, head."""

    def __init__(self, vocab: int, context: int, width: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.mix = nn.Linear(context * width, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(width), nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
            for _ in range(2)
        )
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens: Tensor) -> Tensor:
        h = self.mix(self.embed(tokens).flatten(1))
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def markov_text(vocab: int, n: int, seed: int) -> Tensor:
    """``n`` tokens from a random second-order Markov chain with peaked transitions (learnable, not trivial)."""
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(vocab, vocab, vocab, generator=gen) * 3
    tokens = [0, 1]
    for u in torch.rand(n, generator=gen):
        probs = logits[tokens[-2], tokens[-1]].softmax(0)
        tokens.append(int(torch.searchsorted(probs.cumsum(0), u.clamp(max=probs.sum() - 1e-6))))
    return torch.tensor(tokens[2:])


def problems(tiny: bool, seed: int) -> dict[str, tuple[Any, Any, Any]]:
    """name -> (model factory, batch(step) -> (inputs, targets), eval data)."""
    x, y, x_test, y_test = load_digits_tensors()
    batch = 32 if tiny else 64

    def digits_batch(step: int) -> tuple[Tensor, Tensor]:
        idx = torch.randint(len(y), (batch,), generator=torch.Generator().manual_seed(seed * 100003 + step))
        return x[idx], y[idx]

    vocab, context = (16, 3) if tiny else (32, 4)
    text = markov_text(vocab, 4000 if tiny else 40000, seed)
    windows = text.unfold(0, context + 1, 1)

    def lm_batch(step: int) -> tuple[Tensor, Tensor]:
        idx = torch.randint(len(windows) - 2000, (batch,), generator=torch.Generator().manual_seed(seed + step))
        return windows[idx, :-1], windows[idx, -1]

    held_out = windows[-2000:]
    return {
        "digits": (lambda: DigitsCNN(width=8 if tiny else 32), digits_batch, (x_test, y_test)),
        "lm": (lambda: TinyLM(vocab, context, 16 if tiny else 64), lm_batch, (held_out[:, :-1], held_out[:, -1])),
    }


def train(make_model: Any, batch: Any, held_out: Any, tx: otx.GradientTransformation, steps: int, seed: int) -> dict:
    """Pure loop: loss curve, median time of an optimizer update (after the first), state bytes, held-out metric."""
    torch.manual_seed(seed)
    model = make_model()
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = dict(model.named_buffers())

    def loss_fn(p: dict[str, Tensor], inputs: Tensor, targets: Tensor) -> Tensor:
        return nn.functional.cross_entropy(functional_call(model, (p, buffers), (inputs,)), targets)

    state, losses, seconds = tx.init(params), [], []
    for step in range(steps):
        leaves = {k: v.requires_grad_() for k, v in params.items()}
        loss = loss_fn(leaves, *batch(step))  # plain autograd: batch norm updates its running stats in place
        grads = dict(zip(params, torch.autograd.grad(loss, list(leaves.values())), strict=True))
        params = {k: v.detach() for k, v in leaves.items()}
        start = time.perf_counter()
        updates, state = tx.update(grads, state, params)
        params = otx.apply_updates(params, updates)
        seconds.append(time.perf_counter() - start)
        losses.append(loss.detach())
    model.eval()
    with torch.no_grad():
        logits = functional_call(model, (params, buffers), (held_out[0],))
    n_params = sum(p.numel() for p in params.values())
    return dict(
        loss=torch.stack(losses).tolist(),
        step_ms=1000 * float(torch.tensor(seconds[1:] or seconds).median()),  # median: robust to a busy machine
        bytes_per_param=otx.state_nbytes(state) / n_params,
        accuracy=float((logits.argmax(1) == held_out[1]).float().mean()),
        held_out_loss=float(nn.functional.cross_entropy(logits, held_out[1])),
    )


def save_plot(results: dict[str, dict[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({name for runs in results.values() for name in runs}, key=list(OPTIMIZERS).index)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    for ax, (problem, runs) in zip(axes[0], results.items(), strict=False):
        for name, run in runs.items():
            window = max(1, len(run["loss"]) // 30)
            smooth = torch.tensor(run["loss"]).unfold(0, window, 1).mean(1) if len(run["loss"]) >= window else []
            ax.plot(smooth, label=f"{name} ({run['step_ms']:.2f} ms/step)")
        ax.set(title=f"{problem}: training loss", xlabel="step", yscale="log")
        ax.legend(fontsize="small")
    for i, problem in enumerate(results):
        axes[1, 0].bar(
            [j + 0.4 * i for j in range(len(names))],
            [results[problem].get(n, {}).get("step_ms", 0.0) for n in names],
            width=0.4,
            label=problem,
        )
    axes[1, 0].set(title="time per optimizer update (ms)", xticks=range(len(names)), xticklabels=names)
    axes[1, 0].legend(fontsize="small")
    first = next(iter(results.values()))
    axes[1, 1].bar(names, [first.get(n, {}).get("bytes_per_param", math.nan) for n in names])
    axes[1, 1].axhline(8.0, color="gray", ls="--", label="torch.optim.AdamW (8)")
    axes[1, 1].set(title="optimizer state, bytes per parameter")
    axes[1, 1].legend(fontsize="small")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, dict[str, dict]]:
    args = parse_args(argv)
    unknown = [n for n in args.optimizers if n not in OPTIMIZERS]
    if unknown:
        raise SystemExit(f"unknown optimizers {unknown}; choose from {list(OPTIMIZERS)}")
    chosen = {}
    for name in args.optimizers:
        missing = missing_types(OPTIMIZERS[name])
        if missing:
            print(f"skipping {name}: {missing} is not in otx.TRANSFORMS in this installation")
        else:
            chosen[name] = OPTIMIZERS[name]
    setups = problems(args.tiny, args.seed)
    results: dict[str, dict[str, dict]] = {}
    for problem in args.problems:
        make_model, batch, held_out = setups[problem]
        results[problem] = {}
        for name, cfg in chosen.items():
            run = train(make_model, batch, held_out, otx.TRANSFORMS.build(cfg), args.steps, args.seed)
            results[problem][name] = run
            base = results[problem].get("AdamW", run)["step_ms"]
            print(
                f"{problem:6s} {name:12s} final loss {run['loss'][-1]:.4f}  held-out acc {run['accuracy']:.3f}  "
                f"held-out loss {run['held_out_loss']:.4f}  {run['step_ms']:.2f} ms/update "
                f"({run['step_ms'] / base:.2f}x AdamW)  state {run['bytes_per_param']:.2f} B/param",
                flush=True,
            )
    if not args.no_plot and results:
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
        save_plot(results, Path(args.work_dir) / "compare.png")
        print(f"wrote {Path(args.work_dir) / 'compare.png'}")
    return results


if __name__ == "__main__":
    main()
