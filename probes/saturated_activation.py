from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import SATURATION, Measurements
from cnnlint.verdict import Verdict
from cnnlint.probes._common import mean, others, worst
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    saturated_above: float = 0.5  # share of inputs beyond +/-5


class SaturatedActivation(Verdict):
    """
    What it measures: for every sigmoid/tanh activation, the share of its inputs beyond
    +/-5, where its slope is almost zero (mean over the run). A sigmoid whose output only
    multiplies another tensor (swish's x * sigmoid(x), a squeeze-and-excitation scale) is
    a gate, not a layer of the stack, and is not measured.

    Why it matters: a saturated unit passes (almost) no gradient back, and in a deep stack
    the products of small slopes vanish.
    """

    code = "CNN404"
    name = "saturated-activation"
    summary = "Sigmoid/tanh inputs sit where the slope is almost zero"
    fix = "Normalize before the activation, or use a ReLU-family activation"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        shares = [(layer, mean(layer.saturated)) for layer in run.layers if layer.saturated]
        hot = [(layer, share) for layer, share in shares
               if share is not None and share > self.options.saturated_above]
        if not hot:
            return
        (layer, share), count = worst(hot, key=lambda item: item[1] or 0.0)
        yield self.finding(
            f"{share:.0%} of the inputs of `{layer.name}` ({layer.type}) are beyond "
            f"+/-{SATURATION:g}{others(count)}; threshold "
            f"{self.options.saturated_above:.0%}", loc, symbol=layer.name)
