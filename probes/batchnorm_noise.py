from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe.measure import LayerStats, Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import others, worst
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    # |train-mode output - population-statistics output| / |the latter|, at the worst layer.
    # A layer that sees one value per sample and channel (1x1 spatial) has a gap of about
    # 1.2 / sqrt(batch): 0.21 at batch 32, 0.3 at 16, 0.42 at 8, 0.85 at 2. Healthy
    # networks trained at 16 and more stay below 0.35; batches of 8 and less, where
    # BatchNorm is known to degrade, go above it.
    gap_above: float = 0.35
    noisier_than_reference: float = 1.5  # the gap at the reference batch size, times this


class BatchnormNoise(Verdict):
    """
    What it measures: after the run, with the running statistics re-estimated over a few
    hundred samples, each BatchNorm layer's output in train mode (batch statistics) against
    the output the population statistics give for the same input: the relative gap, per
    layer. The same gap at a reference batch several times larger (8x, up to 256 samples)
    tells batch noise from anything else, since batch noise shrinks as the batch grows.
    Fires when a layer's gap is high and materially above its gap at the reference size.

    Why it matters: with small batches the batch statistics are noisy estimates; BatchNorm
    injects that noise into training and behaves differently at evaluation.
    """

    code = "CNN405"
    name = "batchnorm-noise"
    summary = "BatchNorm's batch statistics are noisy at this batch size"
    fix = "Use a larger batch, GroupNorm/LayerNorm, or freeze BatchNorm statistics"
    Options = Options

    def noisy(self, layer: LayerStats) -> bool:
        if layer.family != "batchnorm" or layer.bn_gap is None \
                or layer.bn_gap_reference is None:
            return False  # no reference: nothing shows the batch size is to blame
        return layer.bn_gap > self.options.gap_above and \
            layer.bn_gap > self.options.noisier_than_reference * layer.bn_gap_reference

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        noisy = [layer for layer in run.layers if self.noisy(layer)]
        if not noisy:
            return
        layer, count = worst(noisy, key=lambda item: item.bn_gap or 0.0)
        spread = f", and its batch mean moves by {fmt(layer.bn_mean_spread)} standard " \
                 f"deviations from batch to batch" if layer.bn_mean_spread is not None else ""
        yield self.finding(
            f"at batch size {run.batch_size}, `{layer.name}`'s train-mode output differs by "
            f"{fmt(layer.bn_gap)} from what its population statistics give, against "
            f"{fmt(layer.bn_gap_reference)} at batch size {run.bn_reference_batch}{spread}"
            f"{others(count)}; thresholds {fmt(self.options.gap_above)} and "
            f"{fmt(self.options.noisier_than_reference)}x the reference", loc,
            symbol=layer.name)
