from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import median
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    ratio_above: float = 70.0  # first-layer / last-layer gradient norm
    grad_norm_above: float = 1e4  # the largest layer's weight-gradient norm (median, steps)
    loss_above: float = 1e3  # the loss before any update


class ExplodingGradient(Verdict):
    """
    What it measures: the first weighted layer's gradient norm against the last one's (median
    over the run); the largest weight-gradient norm of any layer (median over the steps); the
    loss before the first update; and non-finite gradients.

    Why it matters: gradients that grow towards the input make the first layers take huge
    steps and training diverge; bad initialization and learning rates far too high cause it.
    A ratio above 70 is AUTOTRAINER's criterion. Gradients can also explode everywhere at
    once, leaving the ratio near 1: weights initialized far too large blow up the outputs,
    the loss (a cross-entropy near its chance level ln C, a few units, is usual at the
    start) and every gradient with them. Healthy networks have layer gradient norms of at
    most a few hundred on the probe's data.
    """

    code = "CNN402"
    name = "exploding-gradient"
    severity = "error"
    summary = "Gradients grow towards the input, explode everywhere, or become non-finite"
    fix = "Lower the learning rate, fix the initialization, or clip gradients"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        broken = [layer for layer in run.weighted() if layer.grad_nonfinite]
        if broken:
            yield self.finding(
                f"non-finite weight gradient at `{broken[0].name}`"
                + (f" and {len(broken) - 1} more layers" if len(broken) > 1 else ""),
                loc, symbol=broken[0].name)
            return
        ratios = run.gradient_ratios()
        ratio = median(r for r, _ in ratios) if ratios else None
        if ratio is not None and ratio > self.options.ratio_above:
            layers = run.weighted()
            yield self.finding(
                f"gradient norm at the first layer `{layers[0].name}` is {fmt(ratio)}x the "
                f"last layer's `{layers[-1].name}` (median over {len(ratios)} steps; "
                f"threshold {fmt(self.options.ratio_above)})", loc, symbol=layers[0].name)
            return
        yield from self._scale(run, loc)

    def _scale(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        """Gradients and a loss far beyond any healthy network's, in absolute terms."""
        norms = [(layer, norm) for layer in run.weighted()
                 if (norm := median(layer.grad_norm)) is not None]
        start = run.loss[0] if run.loss else None
        huge_loss = start is not None and math.isfinite(start) and start > self.options.loss_above
        if not norms:
            return
        layer, norm = max(norms, key=lambda item: item[1])
        if not (norm > self.options.grad_norm_above or huge_loss):
            return
        steps = len(layer.grad_norm)
        yield self.finding(
            f"the largest weight-gradient norm is {fmt(norm)} at `{layer.name}` (median over "
            f"{steps} step{'s' if steps != 1 else ''}) and the loss before any update "
            f"{fmt(start)}; thresholds {fmt(self.options.grad_norm_above)} and "
            f"{fmt(self.options.loss_above)}", loc, symbol=layer.name)
