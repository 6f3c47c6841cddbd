"""The probe's report: text (a per-layer table, the verdicts, the confirmations), JSON, and
an optional plot of the loss, gradient flow and activation statistics per layer.

The JSON is strict: a non-finite number (a loss that became NaN, an infinite gradient norm)
is written as `null`, and its place is listed in the document's `nonfinite` array
(`"loss[4]"`, `"layers[2].grad_norm"`), so every JSON parser reads the report.
"""

from __future__ import annotations

import json
import math
from typing import Any

from cnnlint.options import RuleOptions
from cnnlint.probe.measure import Measurements
from cnnlint.probe.runner import ProbeError, ProbeReport
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
    shapes = chosen.get("input_shapes")
    inputs = (f"inputs {', '.join(str(tuple(s)) for s in shapes)}" if shapes
              else f"input {tuple(chosen.get('input_shape', ()))}")
    lines = [
        f"Probe of {report.target} on {report.device}: {report.steps} steps, {inputs}, "
        f"{chosen.get('num_classes')} classes",
        f"  {', '.join(trained)}", ""]
    lines.append("  ".join(f"{name:<{width}}" for name, width in COLUMNS).rstrip())
    last = run.weighted()[-1] if run.weighted() else None
    for layer in run.layers:
        row = layer.to_dict()
        ratio = None
        if layer.weighted and last is not None and row.get("grad_norm") is not None:
            bottom = last.to_dict().get("grad_norm")
            ratio = row["grad_norm"] / bottom if bottom else None  # type: ignore[operator]
        cells = [_tail(layer.name, 28), layer.type[:14], _cell(row.get("grad_norm")), _cell(ratio),
                 _cell(row.get("update_ratio")), _cell(row.get("act_mean")),
                 _cell(row.get("act_std")), _cell(row.get("dead_fraction"), True),
                 _cell(row.get("saturated"), True), _cell(row.get("bn_gap"))]
        lines.append("  ".join(f"{c:<{w}}" for c, (_, w) in zip(cells, COLUMNS)).rstrip())
    if run.loss:
        lines.append("")
        lines.append(f"loss: {fmt(run.loss[0])} -> {fmt(run.loss[-1])} over {len(run.loss)} "
                     f"steps (min {fmt(min(run.loss))})")
    held = run.held_out
    if held is not None:
        lines.append(f"held out: loss {fmt(held.train_loss)} (accuracy "
                     f"{held.train_accuracy:.0%}) on {held.train_batches} batches trained on, "
                     f"{fmt(held.held_out_loss)} ({held.held_out_accuracy:.0%}) on "
                     f"{held.samples} samples never trained on")
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


def _tail(name: str, width: int) -> str:
    """A layer path cut to `width` from the left, marked as cut: its end names the layer."""
    return name if len(name) <= width else "..." + name[-(width - 3):]


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
                     f"{fmt(baseline.real_seen)} and {fmt(baseline.zero_seen)}"
                     + (f"; the training on {baseline.diverged} inputs diverged (a "
                        f"non-finite loss): no comparison" if baseline.diverged else "")
                     + f" [{baseline.seconds:.1f} s]")
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
            fastest = f", falls fastest at lr {fmt(measured.steepest_lr)}" \
                if measured.steepest_lr else ""
            found = (f"starts falling at lr {fmt(measured.falling_from)}{fastest}, is lowest "
                     f"at lr {fmt(measured.best_lr)}")
        else:
            found = "does not fall at any rate"
        diverged = f", diverges at lr {fmt(measured.diverged_at)}" if measured.diverged_at \
            else ""
        suggested = f"; suggested lr {fmt(measured.suggested_lr)}" \
            if measured.suggested_lr else ""
        lines.append(f"  LR range test ({measured.optimizer}, {fmt(measured.start_lr)} to "
                     f"{fmt(measured.end_lr)} in {len(measured.lrs)} steps): the loss "
                     f"{found}{diverged}{suggested} [{measured.seconds:.1f} s]")
    return ["", "Sanity checks:", *lines] if lines else []


# --- JSON ------------------------------------------------------------------------------------


def finite_only(value: Any, where: str, flagged: list[str]) -> Any:
    """`value` with every non-finite float replaced by None; their places go to `flagged`."""
    if isinstance(value, float) and not math.isfinite(value):
        flagged.append(where)
        return None
    if isinstance(value, dict):
        return {key: finite_only(item, f"{where}.{key}" if where else str(key), flagged)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_only(item, f"{where}[{i}]", flagged) for i, item in enumerate(value)]
    return value


def as_json(report: ProbeReport, failure: ProbeError | None = None) -> str:
    """The report as strict JSON. With `failure`, the report of a run that broke off: what
    was measured until then, and `error` (the stage and the message)."""
    document = report.to_dict()
    if failure is not None:
        document["error"] = {"stage": failure.stage, "message": f"probe failed at {failure}"}
        document["errors"].append({"path": report.target, "kind": "probe",
                                   "message": f"probe failed at {failure}"})
    flagged: list[str] = []
    document = finite_only(document, "", flagged)
    document["nonfinite"] = flagged
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


# --- plot ------------------------------------------------------------------------------------

MAX_LABELS = 60  # tick labels per panel; more layers than that get every k-th name
LABEL_CHARS = 24  # a layer name's end, as in the text table: deep paths would fill the panel
INCHES_PER_LAYER = 0.12
WIDTH = (9.0, 40.0)  # inches, min and max
PANEL_HEIGHT = 3.2  # inches: the bars and a row of names
PANELS = 6
HEIGHT = PANELS * PANEL_HEIGHT + 1.5  # inches, with the title
USUAL_UPDATE = 1e-3  # the update-to-weight ratio per step of a well-chosen learning rate


def _option(options: dict[str, RuleOptions], verdict: str, name: str) -> float | None:
    value = getattr(options.get(verdict), name, None)
    return float(value) if isinstance(value, (int, float)) else None


def _names(axes: Any, names: list[str]) -> None:
    """Layer names under a panel; every k-th one when there are too many to read."""
    step = max(1, math.ceil(len(names) / MAX_LABELS))
    ticks = list(range(0, len(names), step))
    labels = [names[i] if len(names[i]) <= LABEL_CHARS else "..." + names[i][-LABEL_CHARS:]
              for i in ticks]
    axes.set_xticks(ticks, labels, rotation=90, fontsize=6)
    axes.set_xlim(-0.5, max(len(names), 1) - 0.5)
    if step > 1:
        axes.set_xlabel(f"one name in {step} shown", fontsize=7)


Line = tuple[float | None, str, str]  # a threshold: value, label, colour


def _log_bars(axes: Any, values: list[float | None], colour: str, lines: list[Line]) -> None:
    """Bars on a log axis with threshold lines; exact zeros and non-finite values are
    marked, not drawn as a tiny or missing bar. The axis spans the bars and the lines."""
    drawn = [v if v is not None and math.isfinite(v) and v > 0 else 0.0 for v in values]
    levels = [v for v in drawn if v > 0] + [v for v, _, _ in lines if v is not None and v > 0]
    floor = min(levels) / 10 if levels else 1e-12
    top = max(levels) * 10 if levels else 1.0
    axes.bar(range(len(values)), drawn, color=colour)
    axes.set_yscale("log")
    axes.set_ylim(floor, top)
    zeros = [i for i, v in enumerate(values) if v == 0]
    broken = [i for i, v in enumerate(values) if v is not None and not math.isfinite(v)]
    if zeros:
        axes.plot(zeros, [floor * 2] * len(zeros), "v", color="black", markersize=5,
                  label="exactly 0", linestyle="none")
    if broken:
        axes.plot(broken, [top / 2] * len(broken), "x", color="red", markersize=6,
                  label="non-finite", linestyle="none")
    for value, label, line_colour in lines:
        _threshold(axes, value, label, line_colour)


def _threshold(axes: Any, value: float | None, label: str, colour: str = "red") -> None:
    if value is not None:
        axes.axhline(value, color=colour, linestyle="--", linewidth=1, label=label)


def plot(report: ProbeReport, path: str, options: dict[str, RuleOptions] | None = None) -> None:
    """Loss, gradient flow, update sizes, activation statistics, dead or saturated units
    and BatchNorm gaps, as a PNG (matplotlib, Agg). `options`: the verdicts' thresholds by
    verdict name, drawn as lines; the defaults for verdicts not given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from cnnlint.verdict import load_verdicts

    options = {**{cls.name: cls.Options() for cls in load_verdicts().values()},
               **(options or {})}
    run = report.measurements
    rows = [layer.to_dict() for layer in run.layers]
    # A weighted layer's later call sites carry no gradient of their own: left out.
    weighted = [r for r in rows if r.get("grad_norm") is not None or r.get("grad_nonfinite")]
    activations = [r for r in rows if "dead_fraction" in r or "saturated" in r]
    norms = [r for r in rows if "bn_gap" in r]
    widest = max(len(rows), len(run.loss) / 4, 1)
    width = min(max(WIDTH[0], INCHES_PER_LAYER * widest), WIDTH[1])
    figure, axes = plt.subplots(PANELS, 1, figsize=(width, HEIGHT))

    loss = axes[0]
    finite = [(i + 1, v) for i, v in enumerate(run.loss) if math.isfinite(v)]
    loss.plot([s for s, _ in finite], [v for _, v in finite], marker=".", label="training loss")
    bad = [i + 1 for i, v in enumerate(run.loss) if not math.isfinite(v)]
    if bad:
        loss.plot(bad, [max((v for _, v in finite), default=1.0)] * len(bad), "x",
                  color="red", label="non-finite", linestyle="none")
    if run.held_out is not None:
        loss.axhline(run.held_out.held_out_loss, color="purple", linestyle=":",
                     label="held-out batch, after the run")
    loss.set_title("loss per step")
    loss.set_xlabel("step", fontsize=7)
    loss.xaxis.set_major_locator(MaxNLocator(integer=True))

    grads = axes[1]
    _log_bars(grads, [math.inf if r.get("grad_nonfinite") else r["grad_norm"]  # type: ignore[misc]
                      for r in weighted], "tab:blue", [
        (_option(options, "exploding-gradient", "grad_norm_above"),
         "exploding-gradient threshold", "red"),
        (_option(options, "vanishing-gradient", "first_norm_below"),
         "vanishing-gradient threshold (first layer)", "orange")])
    grads.set_title("weight-gradient norm per layer (mean over steps)")
    _names(grads, [str(r["name"]) for r in weighted])

    updates = axes[2]
    _log_bars(updates, [r.get("update_ratio") for r in weighted], "tab:green", [  # type: ignore[misc]
        (_option(options, "update-ratio-too-high", "ratio_above"),
         "update-ratio-too-high threshold", "red"),
        (_option(options, "update-ratio-too-low", "ratio_below"),
         "update-ratio-too-low threshold", "orange"),
        (USUAL_UPDATE, "usual", "grey")])
    updates.set_title("update / weight norm per step (mean over steps)")
    _names(updates, [str(r["name"]) for r in weighted])

    outputs = axes[3]
    means = [r["act_mean"] if r["act_mean"] is not None else 0.0 for r in rows]
    stds = [r["act_std"] if r["act_std"] is not None else 0.0 for r in rows]
    outputs.errorbar(range(len(rows)), means, yerr=stds, fmt="o", markersize=3)
    outputs.set_title("output mean +/- std per layer")
    _names(outputs, [str(r["name"]) for r in rows])

    dead = axes[4]
    shares = [r.get("dead_fraction") if r.get("dead_fraction") is not None
              else r.get("saturated") or 0.0 for r in activations]
    dead.bar(range(len(activations)), shares, color="tab:red")
    dead.set_ylim(0, 1.05)
    _threshold(dead, _option(options, "dying-relu", "dead_above"), "dying-relu threshold")
    _threshold(dead, _option(options, "saturated-activation", "saturated_above"),
               "saturated-activation threshold", "orange")
    dead.set_title("dead units (ReLU) / saturated inputs (sigmoid, tanh)")
    _names(dead, [str(r["name"]) for r in activations])

    gaps = axes[5]
    gaps.bar(range(len(norms)), [r["bn_gap"] or 0.0 for r in norms], color="tab:purple")
    _threshold(gaps, _option(options, "batchnorm-noise", "gap_above"),
               "batchnorm-noise threshold")
    gaps.set_title("BatchNorm train/eval output gap per layer")
    _names(gaps, [str(r["name"]) for r in norms])

    for panel in axes:
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize=6, loc="upper right")
    figure.suptitle(f"cnnlint probe: {report.target}")
    figure.tight_layout(rect=(0, 0, 1, 0.985))
    figure.savefig(path, dpi=100)
    plt.close(figure)
