from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import median
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    ratio_below: float = 1e-3  # first-layer / last-layer gradient norm
    first_norm_below: float = 1e-4  # first-layer gradient norm


class VanishingGradient(Verdict):
    """
    What it measures: the weight-gradient norm of the first weighted layer against the last
    one's, per step (median over the run).

    Why it matters: when the first layers receive almost no gradient they stop learning;
    depth without skip connections or normalization, and saturating activations, cause it.
    The criteria (ratio below 1e-3 and first-layer norm below 1e-4) are AUTOTRAINER's.
    """

    code = "CNN401"
    name = "vanishing-gradient"
    summary = "The first layers receive almost no gradient"
    fix = "Add skip connections and normalization; use ReLU-family activations"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        ratios = run.gradient_ratios()
        if not ratios:
            return
        ratio = median(r for r, _ in ratios)
        first = median(n for _, n in ratios)
        if ratio is None or first is None:
            return
        if ratio < self.options.ratio_below and first < self.options.first_norm_below:
            layers = run.weighted()
            yield self.finding(
                f"gradient norm at the first layer `{layers[0].name}` is {fmt(first)}, "
                f"{fmt(ratio)} of the last layer's `{layers[-1].name}` (median over "
                f"{len(ratios)} steps; thresholds {fmt(self.options.ratio_below)} and "
                f"{fmt(self.options.first_norm_below)})", loc, symbol=layers[0].name)
