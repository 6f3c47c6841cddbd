from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    # The initial loss over its expected value (ln C). Calibrated on healthy networks:
    # most start within 0.9-1.1x, but MONAI's EfficientNetBN-b0 initialises its classifier
    # uniformly within +-1/sqrt(classes) and starts at 2.4-3.4x (10 classes, 10 seeds) and
    # still trains normally. 5x leaves a margin above that. For large logits the ratio is
    # about their standard deviation times sqrt(2 / ln C): 5x means a standard deviation
    # of about 5.4 at 10 classes, 9 at 1000.
    ratio_above: float = 5.0


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
