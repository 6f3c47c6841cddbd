"""The probe's report: text (a per-layer table, the verdicts, the confirmations), JSON, and
an optional plot of gradient flow and activation statistics per layer."""

from __future__ import annotations

import json
from typing import Any

from cnnlint.probe.runner import ProbeReport
from cnnlint.probe.settings import describe
from cnnlint.verdict import fmt

COLUMNS = (("layer", 28), ("type", 14), ("grad norm", 10), ("/ last", 9), ("update", 9),
           ("act mean", 9), ("act std", 9), ("dead", 6), ("sat.", 6), ("bn gap", 8))


def _cell(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if percent else fmt(value)


def text(report: ProbeReport) -> str:
    from cnnlint.report.text import render

    chosen = report.settings
    run = report.measurements
    trained = [describe(chosen, "batch_size", "batch size ", str(chosen.get("batch_size"))),
               describe(chosen, "optimizer", "", str(chosen.get("optimizer"))),
               describe(chosen, "lr", "lr ", fmt(chosen.get("lr")))]
    trained += [describe(chosen, key, label, fmt(chosen[key]))
                for key, label in (("momentum", "momentum "), ("weight_decay", "weight decay "))
                if chosen.get(key) is not None]
    lines = [
        f"Probe of {report.target} on {report.device}: {report.steps} steps, input "
        f"{tuple(chosen.get('input_shape', ()))}, {chosen.get('num_classes')} classes",
        f"  {', '.join(trained)}", ""]
    lines.append("  ".join(f"{name:<{width}}" for name, width in COLUMNS).rstrip())
    last = run.weighted()[-1] if run.weighted() else None
    for layer in run.layers:
        row = layer.to_dict()
        ratio = None
        if layer.weighted and last is not None and row.get("grad_norm") is not None:
            bottom = last.to_dict().get("grad_norm")
            ratio = row["grad_norm"] / bottom if bottom else None  # type: ignore[operator]
        cells = [layer.name[-28:], layer.type[:14], _cell(row.get("grad_norm")), _cell(ratio),
                 _cell(row.get("update_ratio")), _cell(row.get("act_mean")),
                 _cell(row.get("act_std")), _cell(row.get("dead_fraction"), True),
                 _cell(row.get("saturated"), True), _cell(row.get("bn_gap"))]
        lines.append("  ".join(f"{c:<{w}}" for c, (_, w) in zip(cells, COLUMNS)).rstrip())
    if run.loss:
        lines.append("")
        lines.append(f"loss: {fmt(run.loss[0])} -> {fmt(run.loss[-1])} over {len(run.loss)} "
                     f"steps (min {fmt(min(run.loss))})")
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append("")
    if report.confirmations:
        lines.append("Static findings on this model:")
        width = max(len(c["verdict"]) for c in report.confirmations)
        for c in report.confirmations:
            lines.append(f"  {c['verdict']:<{width}}  {c['code']} {c['name']}: {c['evidence']}")
        lines.append("")
    # The findings and errors as lint prints them, without lint's closing summary line.
    lines.extend(render(report.findings, report.errors, 1).rstrip("\n").split("\n")[:-1])
    lines.append(f"Probe: {len(report.findings)} verdict"
                 f"{'s' if len(report.findings) != 1 else ''} in {report.steps} steps"
                 f"{f', {len(report.errors)} errors' if report.errors else ''}.")
    return "\n".join(lines) + "\n"


def as_json(report: ProbeReport) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def plot(report: ProbeReport, path: str) -> None:
    """Gradient flow and activation statistics per layer, as a PNG (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = report.measurements
    rows = [layer.to_dict() for layer in run.layers]
    weighted = [r for r in rows if r.get("grad_norm") is not None]
    activations = [r for r in rows if "dead_fraction" in r or "saturated" in r]
    figure, axes = plt.subplots(3, 1, figsize=(max(8.0, 0.25 * len(rows)), 11))
    norms = [max(float(r["grad_norm"]), 1e-30) for r in weighted]  # type: ignore[arg-type]
    axes[0].bar(range(len(weighted)), norms)
    axes[0].set_yscale("log")
    axes[0].set_title("weight-gradient norm per layer (mean over steps)")
    axes[0].set_xticks(range(len(weighted)), [r["name"] for r in weighted], rotation=90,
                       fontsize=6)
    means = [r["act_mean"] if r["act_mean"] is not None else 0.0 for r in rows]
    stds = [r["act_std"] if r["act_std"] is not None else 0.0 for r in rows]
    axes[1].errorbar(range(len(rows)), means, yerr=stds, fmt="o", markersize=3)
    axes[1].set_title("output mean +/- std per layer")
    axes[1].set_xticks(range(len(rows)), [r["name"] for r in rows], rotation=90, fontsize=6)
    dead = [r.get("dead_fraction") or r.get("saturated") or 0.0 for r in activations]
    axes[2].bar(range(len(activations)), dead)
    axes[2].set_ylim(0, 1)
    axes[2].set_title("dead units (ReLU) / saturated inputs (sigmoid, tanh)")
    axes[2].set_xticks(range(len(activations)), [r["name"] for r in activations],
                       rotation=90, fontsize=6)
    figure.suptitle(f"cnnlint probe: {report.target}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
