from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe import lr_range
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    below_factor: float = 10.0  # how far below where the loss starts falling is too low


class LearningRateOutsideRange(Verdict):
    """
    What it measures: an LR range test on a copy of the model (the configured optimizer,
    the rate growing exponentially from 1e-7 to 10 over about 100 steps, the loss
    smoothed): where the loss starts to fall, where it is lowest and where it diverges;
    then the run's learning rate, when it is the training script's or given with --lr,
    against that range.

    Why it matters: a rate far below the range barely moves the weights, one past the
    divergence point blows the loss up; the range test measures both for this model and
    optimizer, and suggests a rate (where the loss falls fastest).
    """

    code = "CNN413"
    name = "learning-rate-outside-range"
    summary = "The learning rate lies outside the LR range test's usable range"
    fix = "Train at the LR range test's suggested rate"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        measured = run.lr_range
        if measured is None or not measured.lrs or run.lr_from in ("default", ""):
            return  # the probe's own default rate is not the project's
        place, evidence = lr_range.judge(run.lr, measured, self.options.below_factor)
        if place in (lr_range.BELOW, lr_range.ABOVE):
            source = "--lr" if run.lr_from == "option" else f"the {run.lr_from}"
            yield self.finding(f"the run's {evidence} (lr from {source})", loc, symbol="lr")
