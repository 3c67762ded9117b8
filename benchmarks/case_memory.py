"""T4: peak memory of gradient accumulation, the facade vs a plain torch loop (one subprocess each).

Run as a script it is the child: it builds one variant, runs accumulation cycles and
prints the peak memory growth over the settled state (params, grads, optimizer state) as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "torch loop (loss/k).backward": "torch",
    "mmengine OptimWrapper(accumulative_counts=k)": "mmengine",
    "optimtx OptimWrapper(accumulative_counts=k)": "optimtx",
}
FLOAT = 4


def accumulation_case(param_set: str, device, quick: bool = False) -> dict[str, object]:
    """Peak memory growth per variant, each measured in its own fresh process."""
    from params import numel_of

    k = 4
    grad_mb = numel_of(param_set) * FLOAT / 2**20
    rows, values = [], {}
    for name, kind in VARIANTS.items():
        result = _child(kind, param_set, str(device), k)
        if "error" in result:
            rows.append({"name": name, "role": "n/a", "value": None, "reason": result["error"]})
            continue
        values[name] = result["peak_mb"]
        rows.append(
            {
                "name": name,
                "role": "optimtx" if kind == "optimtx" else "anchor",
                "value": round(result["peak_mb"], 1),
                "note": result["how"],
            }
        )
    base = values.get("torch loop (loss/k).backward")
    for row in rows:
        if row.get("value") is not None and base:
            row["vs_baseline"] = round(row["value"] / base, 3)
    ours = values.get("optimtx OptimWrapper(accumulative_counts=k)")
    extra = None if ours is None or base is None else round((ours - base) / grad_mb, 3)
    return {
        "case": "T4",
        "title": f"gradient accumulation (k={k}) peak memory growth",
        "params": param_set,
        "unit": "MB",
        "baseline": "torch loop (loss/k).backward",
        "grad_mb": round(grad_mb, 1),
        "variants": rows,
        "targets": [
            {
                "target": "(optimtx - torch) peak < 0.5 x gradient size",
                "ratio": extra,
                "met": None if extra is None else extra < 0.5,
            }
        ],
    }


def _child(kind: str, param_set: str, device: str, k: int) -> dict[str, object]:
    cmd = [sys.executable, str(Path(__file__)), kind, param_set, device, str(k)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1][:160]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


class PeakMeter:
    """Peak memory growth: CUDA allocator stats, or Linux's VmHWM after resetting it via clear_refs."""

    def __init__(self, device):
        self.device = device

    def reset(self) -> None:
        if self.device.type == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = torch.cuda.memory_allocated(self.device)
            return
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self.start = _status_kb("VmRSS") * 1024

    def peak_growth_mb(self) -> float:
        if self.device.type == "cuda":
            import torch

            return (torch.cuda.max_memory_allocated(self.device) - self.start) / 2**20
        return (_status_kb("VmHWM") * 1024 - self.start) / 2**20

    @property
    def how(self) -> str:
        return "cuda max_memory_allocated" if self.device.type == "cuda" else "VmHWM - VmRSS after clear_refs"


def _trainer(kind: str, params, k: int):
    import torch

    opt = torch.optim.AdamW(params, lr=1e-3, fused=True)
    # Gradients stay allocated between cycles (set_to_none=False), so any growth is extra memory.
    loss_of = lambda: sum((p * p).sum() for p in params)  # noqa: E731 - grads 2p, nothing param-sized saved
    if kind == "torch":

        def cycle():
            for _ in range(k):
                (loss_of() / k).backward()
            opt.step()
            opt.zero_grad(set_to_none=False)

        return cycle
    module = "mmengine.optim" if kind == "mmengine" else "optimtx"
    wrapper = __import__(module, fromlist=["OptimWrapper"]).OptimWrapper(optimizer=opt, accumulative_counts=k)

    def cycle():
        for _ in range(k):
            wrapper.update_params(loss_of(), zero_kwargs=dict(set_to_none=False))

    return cycle


def main(kind: str, param_set: str, device: str, k: int) -> None:
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    import torch
    from params import make_params

    dev = torch.device(device)
    params = make_params(param_set, dev)
    cycle = _trainer(kind, params, k)
    cycle()  # settle: optimizer state and allocator caches exist before measuring
    meter = PeakMeter(dev)
    meter.reset()
    for _ in range(2):
        cycle()
    print(json.dumps({"peak_mb": meter.peak_growth_mb(), "how": meter.how}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
