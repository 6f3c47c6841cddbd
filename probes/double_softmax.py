from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import loss_ends
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    share_above: float = 0.99  # share of the output rows that are probability vectors


class DoubleSoftmax(Verdict):
    """
    What it measures: whether the model's outputs on the first batch are probabilities
    (every row non-negative and summing to 1: a softmax ends the model); then the loss
    at initialisation against ln C, the gradient that reaches the scores before the
    softmax against the gradient cross-entropy gives on raw logits, and the loss after the
    run.

    Why it matters: CrossEntropyLoss applies log-softmax itself. On probabilities it
    takes a softmax of a softmax: whatever the network does, the loss can only move in a
    narrow band around ln C (from ln(1 + (C-1)/e) to ln(1 + (C-1)e)), and the gradient
    reaching the network shrinks by the softmax's slope (about 1/C at the start), so the
    loss stays pinned near ln C. The probe trains with CrossEntropyLoss; when the project's
    training script is found and trains the model with other losses only (NLLLoss on the
    log of the probabilities is fine), the verdict stays silent.
    """

    code = "CNN409"
    name = "double-softmax"
    severity = "error"
    summary = "The model returns probabilities, and CrossEntropyLoss applies a second softmax"
    fix = ("Return raw logits from the model (apply softmax only for predictions), or "
           "train the probabilities' log with NLLLoss")
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        initial = run.sanity.initial_loss
        if initial is None or initial.classes < 2 \
                or initial.probabilities < self.options.share_above:
            return
        if run.script_losses and "CrossEntropyLoss" not in run.script_losses:
            return  # the project trains the probabilities with another loss (NLLLoss on their log)
        low, high = initial.loss_band()
        after = ""
        ends = loss_ends(run)
        if ends is not None and math.isfinite(ends[1]):
            after = (f"; after {run.steps} steps at lr {fmt(run.lr)} the first batch's loss "
                     f"is {fmt(ends[1])}")
        yield self.finding(
            f"{initial.probabilities:.0%} of the model's output rows are probabilities "
            f"(non-negative, summing to 1): CrossEntropyLoss applies a second softmax, "
            f"so its loss can only move between {fmt(low)} and {fmt(high)}; it starts at "
            f"{fmt(initial.loss)} (ln {initial.classes} = {fmt(initial.expected)}), and "
            f"the gradient reaching the scores before the softmax is "
            f"{fmt(initial.logit_gradient / initial.uniform_gradient)}x what cross-entropy "
            f"on raw logits gives{after}", loc, symbol="output")
