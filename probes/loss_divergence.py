from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import loss_ends
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    growth_above: float = 0.1  # the loss grows by more than this share over the run


class LossDivergence(Verdict):
    """
    What it measures: non-finite losses or layer outputs (and the first layer where one
    appears), and a loss that grew: the first batch's loss after the run against its loss
    before the first update.

    Why it matters: a learning rate far too high, or exploding activations, make training
    diverge; the first non-finite layer says where it starts.
    """

    code = "CNN407"
    name = "loss-divergence"
    severity = "error"
    summary = "The loss grows or becomes non-finite"
    fix = "Lower the learning rate; check initialization and normalization"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        bad = next((i for i, v in enumerate(run.loss) if not math.isfinite(v)), None)
        where = ""
        if run.nonfinite:
            step, layer = run.nonfinite[0]
            where = f"; non-finite values first appeared at step {step + 1} in `{layer}`"
        if bad is not None:
            yield self.finding(f"the loss became {run.loss[bad]} at step {bad + 1} at lr "
                               f"{fmt(run.lr)}{where}", loc, symbol="loss")
            return
        ends = loss_ends(run)
        if ends is None:
            return
        first, last = ends
        if not math.isfinite(last) or last > first * (1 + self.options.growth_above):
            yield self.finding(
                f"the loss on the first batch grew from {fmt(first)} to {fmt(last)} in "
                f"{run.steps} steps at lr "
                f"{fmt(run.lr)}{where}; threshold +{self.options.growth_above:.0%}",
                loc, symbol="loss")
