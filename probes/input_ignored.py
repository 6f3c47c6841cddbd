from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_gain: float = 0.02  # real inputs must end this share below the zero-input loss


class InputIgnored(Verdict):
    """
    What it measures: two copies of the network trained alike (Adam, as many steps as the
    run, over the same few batches), one on the real inputs and one on zeroed inputs; the
    loss of each on held batches (the zero-input copy's inputs zeroed too) and on the
    batches they trained on.

    Why it matters: without its input a network can learn only how often each label
    occurs. When the real inputs do no better, neither on held data nor on the data it
    trained on, the model's output does not depend on its input: a forward that drops
    `x`, a signal that dies on its way through the layers (dead ReLUs, a deep stack of
    sigmoids), inputs normalised to a constant, or labels that do not belong to their
    inputs.
    """

    code = "CNN411"
    name = "input-ignored"
    summary = "Trained on its inputs the model does no better than on zeroed inputs"
    fix = ("Check that forward uses its input, that the signal survives the layers, and "
           "that the labels belong to the inputs")
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        baseline = run.sanity.input_baseline
        if baseline is None:
            return
        pairs = ((baseline.real_held, baseline.zero_held),
                 (baseline.real_seen, baseline.zero_seen))
        if not all(math.isfinite(v) for pair in pairs for v in pair):
            return
        gains = [(zero - real) / zero if zero > 0 else 0.0 for real, zero in pairs]
        if max(gains) >= self.options.min_gain:
            return
        yield self.finding(
            f"trained for {baseline.steps} steps ({baseline.optimizer}) on its inputs the "
            f"model's loss on held batches is {fmt(baseline.real_held)}, against "
            f"{fmt(baseline.zero_held)} for a copy trained on zeroed inputs (on the batches "
            f"it trained on: {fmt(baseline.real_seen)} against {fmt(baseline.zero_seen)}); "
            f"the inputs must lower it by {self.options.min_gain:.0%}", loc, symbol="input")
