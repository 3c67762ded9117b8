"""Turning timed cases into summaries (for JSON) and a printed table."""

from __future__ import annotations

import statistics

from cases import Case


def summarize_case(case: Case, bandwidth: dict[str, float]) -> dict[str, object]:
    """Medians, ratios to the baseline, the bandwidth bound, and the targets, as plain data."""
    medians: dict[str, float | None] = {v.name: v.median_ms for v in case.variants}
    medians.update(dict.fromkeys(case.missing))
    minima: dict[str, float | None] = {v.name: min(v.times_ms) for v in case.variants}
    times = {v.name: v.times_ms for v in case.variants}
    base = medians.get(case.baseline)
    rows = []
    for v in case.variants:
        rows.append(
            {
                "name": v.name,
                "role": v.role,
                "median_ms": round(v.median_ms, 3),
                "min_ms": round(min(v.times_ms), 3),
                "vs_baseline": None if base is None else round(v.median_ms / base, 3),
                "note": v.note,
            }
        )
    for name, why in case.missing.items():
        rows.append({"name": name, "role": "n/a", "median_ms": None, "reason": why})
    targets = [
        {
            "target": t.describe(),
            "ratio": _round(t.ratio(medians)),
            "met": t.met(medians),
            "ratio_of_minima": _round(t.ratio(minima)),
            "paired": _round(_paired(t, times)),
        }
        for t in case.targets
    ] + list(case.extra.pop("checks", []))
    summary = {
        "case": case.case_id,
        "title": case.title,
        "params": case.param_set,
        "baseline": case.baseline,
        "bytes_per_step": case.bytes_per_step,
        "bound_note": case.bound_note,
        "variants": rows,
        "targets": targets,
        **case.extra,
    }
    set_bound(summary, bandwidth)
    return summary


def set_bound(summary: dict[str, object], bandwidth: dict[str, float]) -> None:
    """(Re)compute a timed case's bandwidth bound and each variant's fraction of it."""
    if "bytes_per_step" not in summary:
        return
    bound_ms = summary["bytes_per_step"] / (bandwidth["best"] * 1e9) * 1e3
    summary["bound_ms"] = round(bound_ms, 3)
    summary["copy_gbs"] = round(bandwidth["copy"], 1)
    for row in summary["variants"]:
        if row.get("median_ms"):
            row["bound_fraction"] = round(bound_ms / row["median_ms"], 3)
            # What the step achieved: the bytes an ideal step moves over its median time, against a plain copy.
            achieved = summary["bytes_per_step"] / (row["median_ms"] * 1e-3) / 1e9
            row["achieved_gbs"] = round(achieved, 1)
            row["of_copy"] = round(achieved / bandwidth["copy"], 3)


def _paired(target, times: dict[str, list[float]]) -> float | None:
    """The target's ratio per round-robin round (variants timed seconds apart), median over rounds.

    Load from other processes changes within a run; two variants timed in the same round
    see nearly the same load, so this is the steadiest estimate on a shared machine.
    """
    if target.faster not in times or target.slower not in times:
        return None
    ratios = [
        target.ratio({target.faster: a, target.slower: b})
        for a, b in zip(times[target.faster], times[target.slower], strict=True)
    ]
    return statistics.median(ratios)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def print_header(info: dict[str, object], bandwidth: dict[str, float]) -> None:
    print(" | ".join(f"{k}={v}" for k, v in info.items()))
    print(
        f"memory bandwidth: read {bandwidth['read']:.1f}, copy {bandwidth['copy']:.1f}, "
        f"triad {bandwidth['triad']:.1f} GB/s"
    )


def print_case(summary: dict[str, object]) -> None:
    """One block per case: a row per variant, then the targets."""
    print(f"\n{summary['case']} {summary['title']} [{summary['params']}]")
    if "bound_ms" in summary:
        print(f"  bandwidth bound {summary['bound_ms']:.2f} ms ({summary['bound_note']})")
    unit = summary.get("unit", "ms")
    for row in summary["variants"]:
        value = row.get("median_ms") if unit == "ms" else row.get("value")
        if value is None:
            print(f"  {row['name']:<42} {'n/a':>10}   ({row.get('reason', '')})")
            continue
        ratio = row.get("vs_baseline")
        ratio_s = "" if ratio is None else f"x{ratio:.2f}"
        frac = row.get("bound_fraction")
        frac_s = "" if frac is None else f"{100 * frac:5.0f}% of bound"
        low = "" if row.get("min_ms") is None else f"(min {row['min_ms']:.2f})"
        bw_s = (
            ""
            if row.get("achieved_gbs") is None
            else f"{row['achieved_gbs']:7.1f} GB/s ({100 * row['of_copy']:.0f}% of copy)"
        )
        head = f"  {row['name']:<42} {value:>9.2f} {unit:<3}{low:>15} {ratio_s:>7}"
        print(f"{head}  {frac_s}  {bw_s}  {row.get('note', '')}")
    for t in summary["targets"]:
        verdict = {True: "MET", False: "not met", None: "n/a"}[t["met"]]
        ratio = "n/a" if t["ratio"] is None else f"{t['ratio']:.2f}"
        low = (
            ""
            if t.get("ratio_of_minima") is None
            else f" (minima {t['ratio_of_minima']:.2f}, paired {t['paired']:.2f})"
        )
        print(f"  target {t['target']}: {ratio}{low} -> {verdict}")


def markdown(out: dict[str, object]) -> str:
    """The run as Markdown: the machine, then one table row per variant and one line per target."""
    m = out["machine"]
    bw = out["bandwidth_gbs"]
    lines = [
        f"Machine: {m['cpu']}, nproc={m['nproc']}, torch {m['torch']}, device {m['device']}; "
        f"bandwidth probe (best of the run): read {bw['read']:.1f}, copy {bw['copy']:.1f}, "
        f"triad {bw['triad']:.1f} GB/s. "
        f"Mode {out['mode']}, {out['repeats']} timed steps per variant after {out['warmup']} warm-up"
        f"{'; glibc keeps freed memory (--keep-freed-memory)' if m.get('keep_freed_memory') else ''}.",
        "",
        "| case | params | variant | median | min | vs baseline | of bound | achieved GB/s (of copy) |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for case in out["cases"]:
        unit = case.get("unit", "ms")
        for row in case["variants"]:
            value = row.get("median_ms") if unit == "ms" else row.get("value")
            shown = "n/a" if value is None else f"{value:.2f} {unit}"
            ratio = "" if row.get("vs_baseline") is None else f"x{row['vs_baseline']:.2f}"
            frac = "" if row.get("bound_fraction") is None else f"{100 * row['bound_fraction']:.0f}%"
            low = "" if row.get("min_ms") is None else f"{row['min_ms']:.2f}"
            achieved = (
                "" if row.get("achieved_gbs") is None else f"{row['achieved_gbs']:.1f} ({100 * row['of_copy']:.0f}%)"
            )
            cells = [case["case"], case["params"], row["name"], shown, low, ratio, frac, achieved]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += [
        "",
        "| case | params | target | from medians | from minima | paired | verdict |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for case in out["cases"]:
        for t in case["targets"]:
            verdict = {True: "met", False: "not met", None: "n/a"}[t["met"]]
            ratio = "n/a" if t["ratio"] is None else f"{t['ratio']:.2f}"
            low = "" if t.get("ratio_of_minima") is None else f"{t['ratio_of_minima']:.2f}"
            paired = "" if t.get("paired") is None else f"{t['paired']:.2f}"
            lines.append(
                f"| {case['case']} | {case['params']} | {t['target']} | {ratio} | {low} | {paired} | {verdict} |"
            )
    return "\n".join(lines) + "\n"
