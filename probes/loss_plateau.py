from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import loss_ends
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_drop: float = 0.01  # the loss must fall by this share over the run


class LossPlateau(Verdict):
    """
    What it measures: the loss on the run's first batch after the run against the same
    batch's loss before the first update.

    Why it matters: a loss that does not move on data a healthy network learns within a
    few steps means the steps are too small (a learning rate far too low) or the gradient
    does not arrive.
    """

    code = "CNN406"
    name = "loss-plateau"
    summary = "The loss does not fall"
    fix = "Raise the learning rate (run an LR range test), check gradient flow"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        ends = loss_ends(run)
        if ends is None or not all(math.isfinite(v) for v in ends):
            return
        first, last = ends
        drop = (first - last) / abs(first) if first else 0.0
        if drop < self.options.min_drop and last <= first * 1.1:
            yield self.finding(
                f"the loss on the first batch went from {fmt(first)} to {fmt(last)} in "
                f"{run.steps} steps "
                f"({-drop:+.2%}; it must fall by {self.options.min_drop:.0%}) at lr "
                f"{fmt(run.lr)}", loc, symbol="loss")
