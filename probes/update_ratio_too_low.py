from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import median, update_ratios
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    ratio_below: float = 1e-6  # median update-to-weight ratio per step, over the layers


class UpdateRatioTooLow(Verdict):
    """
    What it measures: for every weighted layer that receives a gradient, the norm of one
    optimizer step's change of its weights against the norm of the weights (median over the
    steps), and the median of that ratio over the layers.

    Why it matters: a ratio around 1e-3 per step is the usual sign of a learning rate that
    suits the network; a millionth means the weights barely move and training would take
    thousands of times longer than it should. Layers the gradient does not reach are left
    out: they are the vanishing-gradient and dying-ReLU verdicts' story, not the rate's.
    """

    code = "CNN414"
    name = "update-ratio-too-low"
    summary = "Each step changes the weights by a negligible fraction"
    fix = "Raise the learning rate (run an LR range test)"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        ratios = update_ratios(run)
        ratio = median(r for _, r in ratios)
        if ratio is None or ratio >= self.options.ratio_below:
            return
        name, largest = max(ratios, key=lambda item: item[1])
        yield self.finding(
            f"a step changes the weights by a median {fmt(ratio)} of their norm over "
            f"{len(ratios)} layers (at most {fmt(largest)}, `{name}`) at lr {fmt(run.lr)}; "
            f"about 1e-3 is usual; threshold {fmt(self.options.ratio_below)}", loc,
            symbol=name)
