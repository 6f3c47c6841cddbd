"""The probe's report: text (a per-layer table, the verdicts, the confirmations), JSON, and
an optional plot of gradient flow and activation statistics per layer."""

from __future__ import annotations

import json
import math
from typing import Any

from cnnlint.probe.measure import Measurements
from cnnlint.probe.runner import ProbeReport
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
    momentum = f" momentum {chosen['momentum']:g}" if chosen.get("momentum") is not None else ""
    lines = [
        f"Probe of {report.target} on {report.device}: {report.steps} steps, batch size "
        f"{chosen.get('batch_size')} ({chosen.get('batch_size_from')}), "
        f"{chosen.get('optimizer')} lr {fmt(chosen.get('lr'))} ({chosen.get('lr_from')})"
        f"{momentum}, input {tuple(chosen.get('input_shape', ()))}, "
        f"{chosen.get('num_classes')} classes", ""]
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
    lines.extend(_sanity_lines(run))
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


def _percent(share: float) -> str:
    return f"{fmt(100 * share)}%" if math.isfinite(share) else "-"


def _sanity_lines(run: Measurements) -> list[str]:
    """One line per sanity check and for the LR range test, with its numbers."""
    checks = run.sanity
    lines = []
    initial = checks.initial_loss
    if initial is not None:
        what = f"ln {initial.classes}" if initial.classes > 1 else "ln 2"
        softmax = f"; {initial.probabilities:.0%} of the rows are probabilities" \
            if initial.probabilities else ""
        lines.append(f"  loss at init: {fmt(initial.loss)}, {fmt(initial.ratio)}x {what} = "
                     f"{fmt(initial.expected)}; gradient at the logits "
                     f"{fmt(initial.logit_gradient)} ({fmt(initial.uniform_gradient)} at uniform "
                     f"predictions){softmax} [{initial.seconds:.1f} s]")
    overfit = checks.overfit
    if overfit is not None:
        best, rand = overfit.real, overfit.random
        random = f"; random labels {fmt(rand.start)} -> {fmt(rand.final)} " \
                 f"({_percent(rand.fraction)})" if rand is not None else ""
        lines.append(f"  one batch of {overfit.samples}, Adam lr {fmt(best.lr)}: "
                     f"{fmt(best.start)} -> {fmt(best.final)} ({_percent(best.fraction)}) "
                     f"in {best.steps} steps{random} [{overfit.seconds:.1f} s]")
    baseline = checks.input_baseline
    if baseline is not None:
        lines.append(f"  zeroed inputs ({baseline.steps} steps, {baseline.optimizer}): held "
                     f"loss {fmt(baseline.real_held)} with the inputs, "
                     f"{fmt(baseline.zero_held)} with zeros; on the batches trained on "
                     f"{fmt(baseline.real_seen)} and {fmt(baseline.zero_seen)} "
                     f"[{baseline.seconds:.1f} s]")
    balance = checks.class_balance
    if balance is not None:
        recall = "/".join("-" if r is None else f"{r:.0%}" for r in balance.recall())
        lines.append(f"  class balance: labels {'/'.join(map(str, balance.counts))} "
                     f"(imbalance {fmt(balance.imbalance)}:1); predicted on "
                     f"{sum(balance.held)} held {'/'.join(map(str, balance.predicted))}, "
                     f"recall {recall} [{balance.seconds:.1f} s]")
    measured = run.lr_range
    if measured is not None and measured.lrs:
        if measured.found:
            fastest = f", fastest at {fmt(measured.steepest_lr)}" \
                if measured.steepest_lr else ""
            found = (f"falls from {fmt(measured.falling_from)}{fastest}, lowest at "
                     f"{fmt(measured.best_lr)}")
        else:
            found = "does not fall at any rate"
        diverged = f", diverges at {fmt(measured.diverged_at)}" if measured.diverged_at \
            else ""
        suggested = f"; suggested lr {fmt(measured.suggested_lr)}" \
            if measured.suggested_lr else ""
        lines.append(f"  LR range test ({measured.optimizer}, {fmt(measured.start_lr)} to "
                     f"{fmt(measured.end_lr)} in {len(measured.lrs)} steps): the loss "
                     f"{found}{diverged}{suggested} [{measured.seconds:.1f} s]")
    return ["", "Sanity checks:", *lines] if lines else []


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
