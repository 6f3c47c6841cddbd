from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import others, worst
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    gap_above: float = 0.25  # |train-mode output - eval-mode output| / |eval-mode output|
    spread_above: float = 0.3  # std of the batch mean across batches / running std


class BatchnormNoise(Verdict):
    """
    What it measures: for every BatchNorm layer, how far its output in train mode (batch
    statistics) is from its output in eval mode (running statistics) on the same batch after
    the run, and how much the batch mean moves from step to step relative to the running
    standard deviation.

    Why it matters: with small batches the batch statistics are noisy estimates; BatchNorm
    injects that noise into training and behaves differently at evaluation.
    """

    code = "CNN405"
    name = "batchnorm-noise"
    summary = "BatchNorm's batch statistics are noisy at this batch size"
    fix = "Use a larger batch, GroupNorm/LayerNorm, or freeze BatchNorm statistics"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        noisy = [layer for layer in run.layers if layer.family == "batchnorm" and (
            (layer.bn_gap or 0.0) > self.options.gap_above
            or (layer.bn_mean_spread or 0.0) > self.options.spread_above)]
        if not noisy:
            return
        layer, count = worst(noisy, key=lambda item: max(item.bn_gap or 0.0,
                                                         item.bn_mean_spread or 0.0))
        yield self.finding(
            f"at batch size {run.batch_size}, `{layer.name}` differs by {fmt(layer.bn_gap)} "
            f"between train and eval mode, and its batch mean moves by "
            f"{fmt(layer.bn_mean_spread)} running standard deviations from batch to batch"
            f"{others(count)}; thresholds {fmt(self.options.gap_above)} and "
            f"{fmt(self.options.spread_above)}", loc, symbol=layer.name)
