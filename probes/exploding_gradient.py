from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import median
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    ratio_above: float = 70.0  # first-layer / last-layer gradient norm


class ExplodingGradient(Verdict):
    """
    What it measures: the first weighted layer's gradient norm against the last one's (median
    over the run), and non-finite gradients.

    Why it matters: gradients that grow towards the input make the first layers take huge
    steps and training diverge; bad initialization and learning rates far too high cause it.
    A ratio above 70 is AUTOTRAINER's criterion.
    """

    code = "CNN402"
    name = "exploding-gradient"
    severity = "error"
    summary = "Gradients grow towards the input, or become non-finite"
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
