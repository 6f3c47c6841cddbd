from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    imbalance_above: float = 4.0  # most frequent class's labels over the rarest's
    # The run must have seen this many labels per class on average: from fewer, a ratio
    # above 4:1 is sampling noise (80 uniform labels over 10 classes often give one).
    min_labels_per_class: int = 20


class MinorityClassIgnored(Verdict):
    """
    What it measures: with the user's data (`--data`), the label histogram of the batches
    the run trained on (at least `min-labels-per-class` labels per class on average), and,
    after the run, the model's predictions per class (eval mode) on held batches.

    Why it matters: with imbalanced labels a network first learns to predict the frequent
    classes; a rare class it never predicts has a recall of zero however good the overall
    accuracy looks. Class weights alone often leave it there; resampling shows the model
    more of the rare class.
    """

    code = "CNN412"
    name = "minority-class-ignored"
    summary = "A rare class is never predicted"
    fix = "Oversample the rare classes (WeightedRandomSampler) or use a focal loss"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        balance = run.sanity.class_balance
        if balance is None or not math.isfinite(balance.imbalance) \
                or balance.imbalance < self.options.imbalance_above \
                or sum(balance.counts) < self.options.min_labels_per_class * len(balance.counts):
            return
        most = max(balance.counts)
        ignored = [c for c, count in enumerate(balance.counts)
                   if 0 < count and most >= self.options.imbalance_above * count
                   and balance.held[c] > 0 and balance.predicted[c] == 0]
        if not ignored:
            return
        total = sum(balance.counts)
        names = ", ".join(f"class {c} ({balance.counts[c] / total:.1%} of the labels)"
                          for c in ignored)
        yield self.finding(
            f"the labels the run trained on are imbalanced {fmt(balance.imbalance)}:1, and "
            f"after {run.steps} steps the model never predicted {names} on "
            f"{sum(balance.held)} held samples holding "
            f"{sum(balance.held[c] for c in ignored)} of them; threshold "
            f"{fmt(self.options.imbalance_above)}:1", loc, symbol="labels")
