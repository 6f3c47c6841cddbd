from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict
from cnnlint.probes._common import others, worst
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    dead_above: float = 0.7  # share of a layer's units that never fire over the run


class DyingRelu(Verdict):
    """
    What it measures: for every ReLU-family activation, the share of its units (channels)
    that output zero for every sample of every step. A ReLU module applied at several places
    (one `self.relu` after each convolution of a block) is measured at each place apart:
    `layer1.0.relu#2` is its second call in the forward pass.

    Why it matters: a dead unit has zero gradient and cannot recover; a high learning rate
    or a large negative bias kills them, and a network of plain ReLUs has no way back.
    """

    code = "CNN403"
    name = "dying-relu"
    summary = "Most units of a ReLU layer never fire"
    fix = "Use LeakyReLU/ELU/GELU, lower the learning rate, or fix the bias initialization"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        dead = [layer for layer in run.layers if layer.dead_fraction is not None
                and layer.dead_fraction >= self.options.dead_above]
        if not dead:
            return
        layer, count = worst(dead, key=lambda item: item.dead_fraction or 0.0)
        after = f", after `{layer.input_from}`" if layer.input_from else ""
        yield self.finding(
            f"{layer.dead_fraction:.0%} of the units of `{layer.name}` ({layer.type}{after}) "
            f"never fired in {run.steps} steps{others(count)}; threshold "
            f"{self.options.dead_above:.0%}", loc, symbol=layer.name)
