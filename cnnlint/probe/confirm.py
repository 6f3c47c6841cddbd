"""Linking the probe to the static analysis: the defaults it takes from the training
script, and, for each static finding on the probed model, whether the run confirms it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from cnnlint import ir
from cnnlint.findings import Finding
from cnnlint.probe import lr_range
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import fmt

CONFIRMED, NOT_OBSERVED, NOT_MEASURABLE = "CONFIRMED", "NOT OBSERVED", "NOT MEASURABLE"

# static rule -> the verdicts that would confirm it
EVIDENCE = {
    "deep-plain-stack": ("vanishing-gradient",),
    "saturating-activation-deep-stack": ("vanishing-gradient",),
    "relu-everywhere": ("dying-relu",),
    "batchnorm-small-batch": ("batchnorm-noise",),
    # Judged against the LR range test when it ran (below), else by these verdicts.
    "learning-rate-too-low": ("loss-plateau", "update-ratio-too-low"),
    "learning-rate-too-high": ("loss-divergence", "exploding-gradient", "update-ratio-too-high"),
    "bad-weight-init": (),  # judged on the loss at init and the first steps, below
    "softmax-before-crossentropy": ("double-softmax",),
    "weighted-loss-without-resampling": ("minority-class-ignored",),
}
FIRST_STEPS = 3


@dataclass
class StaticContext:
    """What the static analysis knows about the probed model."""

    model: ir.Model | None = None
    findings: list[Finding] = field(default_factory=list)  # on this model, or its training
    batch_size: Any = None  # ir.Setting of the training loader
    optimizer: ir.Optimizer | None = None
    losses: list[str] = field(default_factory=list)  # kinds of the losses it is trained with


def static_context(result: Any, path: str, name: str) -> StaticContext:
    """Pick the model `name` defined in `path` out of a lint result, with its findings and
    the settings of the training code that trains it."""
    real = os.path.realpath(path)
    context = StaticContext()
    for model in result.models:
        if model.name == name and os.path.realpath(model.path) == real:
            context.model = model
    if context.model is None:
        return context
    model = context.model
    runs = [r for r in result.runs if any(model.key in m.keys for m in r.models)]
    places = set()
    for run in runs:
        places.add(_place(run.loc))
        for loader in run.train_loaders:
            places.add(_place(loader.loc))
            if context.batch_size is None and loader.batch_size is not None \
                    and loader.batch_size.known:
                context.batch_size = loader.batch_size
        for optimizer in run.optimizers:
            places.add(_place(optimizer.loc))
            if context.optimizer is None:
                context.optimizer = optimizer
        for loss in run.losses:  # a loss's findings: where it is called and where built
            places.update({_place(loss.loc), _place(loss.made_at)})
            if not loss.evaluating and loss.kind not in context.losses:
                context.losses.append(loss.kind)
    init_places = {_place(i.loc) for i in model.inits if i.loc is not None}
    for finding in result.findings:
        where = (os.path.realpath(finding.path), finding.line)
        own = os.path.realpath(finding.path) == real and finding.symbol == model.name
        if own or where in places or (finding.name == "bad-weight-init" and where in init_places):
            context.findings.append(finding)
    return context


def _place(loc: Any) -> tuple[str, int] | None:
    return (os.path.realpath(loc.path), loc.line) if loc is not None else None


def confirm(context: StaticContext, verdicts: list[Finding], run: Measurements,
            ran_with: dict[str, Any]) -> list[dict[str, str]]:
    """One confirmation per static finding the probe can speak to. `ran_with` holds what
    the probe really used (`batch_size`, `lr`) to tell when it measured something else,
    and `options`, the verdicts' thresholds by name."""
    fired = {f.name: f for f in verdicts}
    out = []
    for finding in context.findings:
        if finding.name not in EVIDENCE:
            continue
        verdict, evidence = _judge(finding, fired, run, context, ran_with)
        out.append({"name": finding.name, "code": finding.code, "verdict": verdict,
                    "evidence": evidence, "path": finding.path, "line": str(finding.line)})
    return out


def _judge(finding: Finding, fired: dict[str, Finding], run: Measurements,
           context: StaticContext, ran_with: dict[str, Any]) -> tuple[str, str]:
    name = finding.name
    if name == "bad-weight-init":
        return _initialisation(run, ran_with["options"])
    if name == "batchnorm-small-batch":
        script = context.batch_size.value if context.batch_size is not None else None
        if script is not None and script != ran_with["batch_size"]:
            return NOT_MEASURABLE, (f"the probe ran at batch size {ran_with['batch_size']}, "
                                    f"the training script uses {script}")
    if name.startswith("learning-rate"):
        lr = context.optimizer.lr if context.optimizer is not None else None
        script = float(lr.value) if lr is not None and lr.known else None  # type: ignore[arg-type]
        if script is not None and run.lr_range is not None and run.lr_range.lrs:
            return _against_range(name, script, run.lr_range, context, ran_with)
        if script is None or script != ran_with["lr"]:
            return NOT_MEASURABLE, (f"the probe ran at lr {fmt(ran_with['lr'])}, not the "
                                    f"script's {fmt(float(script)) if script is not None else '?'}")
    for verdict in EVIDENCE[name]:
        if verdict in fired:
            return CONFIRMED, fired[verdict].message
    return _not_observed(name, run, ran_with)


def _against_range(name: str, script: float, measured: lr_range.LRRange,
                   context: StaticContext, ran_with: dict[str, Any]) -> tuple[str, str]:
    """The script's rate against the LR range test's, which the probe ran with the same
    optimizer kind: what the probe itself trained at does not matter."""
    kind = context.optimizer.kind if context.optimizer is not None else None
    if kind is not None and kind != ran_with.get("optimizer"):
        return NOT_MEASURABLE, (f"the LR range test ran with {measured.optimizer}, the "
                                f"training script uses {kind}")
    factor = ran_with["options"]["learning-rate-outside-range"].below_factor
    place, evidence = lr_range.judge(script, measured, factor)
    if place == lr_range.UNKNOWN:
        return NOT_MEASURABLE, evidence
    wanted = lr_range.BELOW if name == "learning-rate-too-low" else lr_range.ABOVE
    return (CONFIRMED if place == wanted else NOT_OBSERVED), f"the script's {evidence}"


def _not_observed(name: str, run: Measurements, ran_with: dict[str, Any]
                  ) -> tuple[str, str]:
    """NOT OBSERVED with the numbers that were measured, or NOT MEASURABLE when the probe
    had nothing to measure it with."""
    if name in ("deep-plain-stack", "saturating-activation-deep-stack"):
        ratios = run.gradient_ratios()
        if not ratios:
            return NOT_MEASURABLE, "fewer than two weighted layers received gradients"
        ratio = sorted(r for r, _ in ratios)[len(ratios) // 2]
        first = sorted(n for _, n in ratios)[len(ratios) // 2]
        return NOT_OBSERVED, (f"first/last layer gradient-norm ratio {fmt(ratio)}, first-layer "
                              f"norm {fmt(first)} (medians over {len(ratios)} steps)")
    if name == "relu-everywhere":
        relus = [layer for layer in run.layers if layer.dead_fraction is not None]
        if not relus:
            return NOT_MEASURABLE, "no ReLU output could be observed"
        most = max(relus, key=lambda layer: layer.dead_fraction or 0.0)
        return NOT_OBSERVED, (f"at most {most.dead_fraction:.0%} dead units (`{most.name}`) "
                              f"over {run.steps} steps")
    if name == "batchnorm-small-batch":
        norms = [layer for layer in run.layers if layer.family == "batchnorm"]
        if not norms:
            return NOT_MEASURABLE, "no BatchNorm layer ran"
        if all(layer.bn_gap is None for layer in norms):
            # (the measurement was left out: a time budget spent before it)
            return NOT_MEASURABLE, ("the gap between batch and population statistics was "
                                    "not measured")
        most = max(norms, key=lambda layer: layer.bn_gap or 0.0)
        reference = f", {fmt(most.bn_gap_reference)} at batch size {run.bn_reference_batch}" \
            if most.bn_gap_reference is not None else ""
        return NOT_OBSERVED, (f"largest train/population-statistics gap {fmt(most.bn_gap)} "
                              f"(`{most.name}`) at batch size {run.batch_size}{reference}")
    if name == "softmax-before-crossentropy":
        return _no_double_softmax(run)
    if name == "weighted-loss-without-resampling":
        balance = run.sanity.class_balance
        if ran_with.get("data") is None:
            return NOT_MEASURABLE, ("the probe ran on its own balanced synthetic data: give "
                                    "the training data with --data")
        if balance is None:
            return NOT_MEASURABLE, "the labels are not one class index per image"
        recall = ", ".join("-" if r is None else f"{r:.0%}" for r in balance.recall())
        return NOT_OBSERVED, (f"imbalance {fmt(balance.imbalance)}:1 over the labels the run "
                              f"saw; recall per class after the run {recall}")
    if not run.loss:
        return NOT_MEASURABLE, "no training step completed"
    return NOT_OBSERVED, (f"loss {fmt(run.loss[0])} -> {fmt(run.loss[-1])} in {run.steps} "
                          f"steps at lr {fmt(run.lr)}")


def _no_double_softmax(run: Measurements) -> tuple[str, str]:
    initial = run.sanity.initial_loss
    if initial is None:
        return NOT_MEASURABLE, "the loss at initialisation was not measured"
    if initial.log_probabilities > 0.5:
        return NOT_OBSERVED, ("the model returns log-probabilities, which CrossEntropyLoss's "
                              "own log-softmax leaves unchanged: the loss trains as on logits "
                              "(NLLLoss would say what is meant)")
    if initial.probabilities > 0.5:
        return NOT_OBSERVED, (f"{initial.probabilities:.0%} of the output rows are "
                              f"probabilities; the loss starts at {fmt(initial.loss)}")
    return NOT_MEASURABLE, ("the model returns raw scores: a softmax applied in the training "
                            "script is outside what the probe runs")


def _initialisation(run: Measurements, options: dict[str, Any]) -> tuple[str, str]:
    """A bad initialization shows as a loss far above ln C before any update, or in the
    first steps' gradients."""
    initial = run.sanity.initial_loss
    if initial is not None and initial.ratio > options["initial-loss-too-high"].ratio_above:
        return CONFIRMED, (f"the loss before any update is {fmt(initial.loss)}, "
                           f"{fmt(initial.ratio)}x the {fmt(initial.expected)} of uniform "
                           f"predictions")
    verdict, evidence = _first_steps(run, options)
    if initial is None or verdict == CONFIRMED:
        return verdict, evidence
    at_init = (f"the loss before any update is {fmt(initial.loss)}, {fmt(initial.ratio)}x "
               f"that of uniform predictions")
    if verdict == NOT_MEASURABLE:
        return NOT_OBSERVED, at_init
    return verdict, f"{evidence}; {at_init}"


def _first_steps(run: Measurements, options: dict[str, Any]) -> tuple[str, str]:
    """A bad initialization shows in the first steps: gradients that vanish or explode
    from the start (the verdicts' thresholds), or ReLU units dead before any update."""
    vanishing, exploding = options["vanishing-gradient"], options["exploding-gradient"]
    ratios = run.gradient_ratios(first_steps=FIRST_STEPS)
    dead = [layer for layer in run.layers if layer.dead_first_step is not None
            and layer.dead_first_step >= options["dying-relu"].dead_above]
    if dead:
        return CONFIRMED, (f"{dead[0].dead_first_step:.0%} of `{dead[0].name}`'s units are "
                           f"dead in the first step")
    if not ratios:
        return NOT_MEASURABLE, "fewer than two weighted layers received gradients"
    ratio, first = ratios[0]
    if (ratio < vanishing.ratio_below and first < vanishing.first_norm_below) \
            or ratio > exploding.ratio_above:
        return CONFIRMED, (f"first-step gradient norm at the first layer {fmt(first)}, "
                           f"{fmt(ratio)} of the last layer's")
    return NOT_OBSERVED, (f"first-step gradient norm at the first layer {fmt(first)}, "
                          f"{fmt(ratio)} of the last layer's")
