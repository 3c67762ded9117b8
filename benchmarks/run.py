"""Run optimtx's performance benchmarks next to their torch / MMEngine anchors.

    python benchmarks/run.py --quick            # a few minutes on 2 CPU cores
    python benchmarks/run.py                    # every case on every parameter set
    python benchmarks/run.py --device cuda      # same scripts on a GPU

Every case times its variants in this one process, interleaved, after warm-up; the
table shows medians, the ratio to the case's baseline, and the memory-bandwidth bound
(bytes an ideal step must move / measured bandwidth). Results go to
benchmarks/results/latest.json. Pieces of optimtx that are missing show as "n/a".
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's optimtx, not an installed one
sys.path.insert(0, str(HERE))

import torch  # noqa: E402
from case_amp import amp_clip_case, overhead_case  # noqa: E402
from case_memory import accumulation_case  # noqa: E402
from case_paramwise import paramwise_case  # noqa: E402
from case_pure import pure_case  # noqa: E402
from case_rule_memory import rule_memory_case  # noqa: E402
from case_rules import RULES, count_faults, one_thread, rule_case  # noqa: E402
from report import markdown, print_case, print_header, set_bound, summarize_case  # noqa: E402
from timing import probe_bandwidth, time_round_robin  # noqa: E402

QUICK_PLAN = [
    ("T1", "resnet50"),
    ("T2", "small1000"),
    ("T3", "resnet50"),
    ("T4", "resnet50"),
    ("T5", "resnet50"),
    ("T5", "small1000"),
    ("T6", "mid20"),
    ("T7", "mid20"),
]
FULL_SETS = ("resnet50", "small1000", "large4")
FULL_PLAN = [(c, s) for c in ("T1", "T3", "T5") for s in FULL_SETS] + [("T2", "small1000"), ("T4", "resnet50")]
FULL_PLAN += [("T6", "mid20"), ("T6", "resnet50"), ("T7", "mid20")]
# glibc: serve blocks up to 32 MiB from the heap and never hand freed memory back (docs/performance.md).
KEEP_FREED_MEMORY_ENV = (("MALLOC_MMAP_THRESHOLD_", "33554432"), ("MALLOC_TRIM_THRESHOLD_", "68719476736"))
KEEP_FREED_MEMORY = tuple(k for k, _ in KEEP_FREED_MEMORY_ENV)
BUILDERS = {"T1": amp_clip_case, "T2": paramwise_case, "T3": pure_case, "T5": overhead_case}


def machine_info(device: torch.device) -> dict[str, object]:
    """What the numbers depend on: cores, CPU model, torch version, device."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu": cpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def run_rule_cases(param_set, device, args, bandwidth):
    """T6: one case per rule (one thread), each timed round-robin, then its page faults counted."""
    summaries = []
    with one_thread(device):
        for rule in RULES:
            case = rule_case(rule, param_set, device)
            time_round_robin(case.variants, device, args.warmup, args.repeats)
            count_faults(case.variants, device)
            summaries.append(summarize_case(case, bandwidth))
            del case
            gc.collect()
    return summaries


def run_case(case_id, param_set, device, args, bandwidth):
    if case_id == "T4":
        return accumulation_case(param_set, device, quick=args.quick)
    if case_id == "T7":
        return rule_memory_case(param_set, device, quick=args.quick)
    case = (
        BUILDERS[case_id](param_set, device, quick=args.quick)
        if case_id == "T3"
        else BUILDERS[case_id](param_set, device)
    )
    time_round_robin(case.variants, device, args.warmup, args.repeats)
    summary = summarize_case(case, bandwidth)
    del case
    gc.collect()
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the short plan (a few minutes on 2 cores)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=None, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps per variant first")
    parser.add_argument("--cases", default=None, help="comma-separated case ids to run, e.g. T1,T3")
    parser.add_argument("--sets", default=None, help="comma-separated parameter sets to run the chosen cases on")
    parser.add_argument("--output", default=str(HERE / "results" / "latest.json"))
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="rerun this command with glibc told to keep freed blocks (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_),"
        " so that the pure path's fresh buffers stop page-faulting; must be set before the process starts",
    )
    args = parser.parse_args(argv)
    if args.keep_freed_memory and KEEP_FREED_MEMORY[0] not in os.environ:
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **dict(KEEP_FREED_MEMORY_ENV)})
    sys.stdout.reconfigure(line_buffering=True)  # show each case as it finishes, even when piped
    args.repeats = args.repeats or (15 if args.quick else 31)
    args.warmup = args.warmup or (2 if args.quick else 4)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device!r} needs a GPU and a CUDA build of torch; this torch sees none.")
    plan = QUICK_PLAN if args.quick else FULL_PLAN
    if args.cases:
        wanted = {c.strip().upper() for c in args.cases.split(",")}
        plan = [p for p in plan if p[0] in wanted]
    if args.sets:
        cases = list(dict.fromkeys(c for c, _ in plan))
        plan = [(c, s.strip()) for c in cases for s in args.sets.split(",")]

    started = time.time()
    info = machine_info(device)
    info["keep_freed_memory"] = all(k in os.environ for k in KEEP_FREED_MEMORY)
    bandwidth = probe_bandwidth(device)
    print_header(info, bandwidth)
    results = []
    for case_id, param_set in plan:
        if case_id == "T6":
            summaries = run_rule_cases(param_set, device, args, bandwidth)
        else:
            summaries = [run_case(case_id, param_set, device, args, bandwidth)]
        for summary in summaries:
            print_case(summary)
            results.append(summary)
        # Other load on the machine makes one probe unreliable: keep the best seen in the run.
        later = probe_bandwidth(device)
        bandwidth = {k: max(v, later[k]) for k, v in bandwidth.items()}
    for summary in results:
        set_bound(summary, bandwidth)
    out = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "bandwidth_gbs": bandwidth,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "wall_s": round(time.time() - started, 1),
        "cases": results,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=1) + "\n")
    Path(args.output).with_suffix(".md").write_text(markdown(out))
    print(f"\nwrote {args.output} ({out['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
