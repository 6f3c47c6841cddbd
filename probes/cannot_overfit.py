from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    fraction_above: float = 0.1  # the batch's final loss over its loss before training
    # The same for a segmentation map: a loss over every pixel, which takes many more steps
    # to drive near zero than one label per sample. MONAI's UNet (64 x 64, 2 classes)
    # ends at 10-28% of its start after 40 steps over 3 seeds, and trains normally; a
    # network whose output ignores its input stays near 100%.
    map_fraction_above: float = 0.5


class CannotOverfitBatch(Verdict):
    """
    What it measures: a copy of the network trained for a few dozen Adam steps on one
    fixed batch of 8 samples (at lr 1e-3, and at 1e-2 when 1e-3 is not enough): its loss
    on that batch after the steps against before. Also, as a number only, the same on
    random labels. A map output (segmentation) is judged against a looser threshold: its
    loss covers every pixel and falls more slowly.

    Why it matters: any working network memorises 8 samples almost at once. One that
    cannot has a bug between its input and its loss (a detached tensor, a layer left out
    of the graph, a bottleneck of one unit, a softmax before the loss) or no capacity;
    a longer training will not fix it.
    """

    code = "CNN410"
    name = "cannot-overfit-batch"
    summary = "The network cannot drive the loss on one small batch near zero"
    fix = ("Look for detached tensors, unused layers, a tiny bottleneck or an output "
           "activation before the loss")
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        overfit = run.sanity.overfit
        if overfit is None:
            return
        best = overfit.real
        initial = run.sanity.initial_loss
        dense = initial is not None and initial.positions > 1
        threshold = self.options.map_fraction_above if dense else self.options.fraction_above
        if not math.isfinite(best.fraction) or best.fraction <= threshold:
            return
        rates = " and ".join(fmt(t.lr) for t in overfit.tries)
        yield self.finding(
            f"on one fixed batch of {overfit.samples} samples, {overfit.steps} Adam steps "
            f"(lr {rates}) took the loss from {fmt(best.start)} to {fmt(best.final)} at best "
            f"({best.fraction:.0%} of its start; threshold {threshold:.0%}"
            f"{' for a map output' if dense else ''})", loc, symbol="loss")
