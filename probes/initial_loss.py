from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    ratio_above: float = 3.0  # the initial loss over its expected value (ln C)


class InitialLossTooHigh(Verdict):
    """
    What it measures: the loss on the first batch before any update against the loss of
    uniform predictions: ln C for cross-entropy over C classes, ln 2 for a single logit.

    Why it matters: an initialised network should be unsure of every class. A loss far
    above ln C means confident wrong predictions from the start: a last layer initialised
    at too large a scale, an output multiplied up, or inputs far from the scale the
    initialisation assumes. The first steps are then spent undoing the initialisation, and
    large logits saturate the softmax.
    """

    code = "CNN408"
    name = "initial-loss-too-high"
    summary = "The loss at initialisation is far above ln C"
    fix = ("Initialise the last layer at a small scale (or its bias to the class "
           "frequencies) and check the input normalisation")
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        initial = run.sanity.initial_loss
        if initial is None or not math.isfinite(initial.loss) \
                or initial.ratio <= self.options.ratio_above:
            return
        what = f"ln {initial.classes}" if initial.classes > 1 else "ln 2 (one logit)"
        yield self.finding(
            f"the loss on the first batch before any update is {fmt(initial.loss)}, "
            f"{fmt(initial.ratio)}x the {fmt(initial.expected)} (= {what}) of uniform "
            f"predictions; threshold {fmt(self.options.ratio_above)}x", loc, symbol="loss")
