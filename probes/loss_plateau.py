from __future__ import annotations

import math
from typing import Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.probe import lr_range
from cnnlint.probe.measure import Measurements
from cnnlint.verdict import Verdict, fmt
from cnnlint.probes._common import loss_ends
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_drop: float = 0.01  # the loss must fall by this share over the run
    window: float = 0.25  # share of the steps averaged at each end of the run
    noise_z: float = 2.0  # a fall between those windows counts beyond this many std. errors


class LossPlateau(Verdict):
    """
    What it measures: the loss on the run's first batch after the run against the same
    batch's loss before the first update; and the mean loss of the first quarter of the
    steps against the last quarter's, with the standard error of that difference from the
    step-to-step noise within each quarter. It fires when neither falls: the first batch's
    loss by less than `min-drop`, and the quarters' mean by less than `min-drop` or by less
    than `noise-z` standard errors.

    Why it matters: a loss that does not move on data a healthy network learns within a
    few steps means the steps are too small (a learning rate far too low) or the gradient
    does not arrive. One batch alone can mislead (dropout draws other units after the run);
    the batches of the run say whether the loss falls across data too. At the probe's own
    default rate (no --lr, none in a training script) below where the LR range test's loss
    starts falling, the rate is the probe's choice, not the project's: the finding is then
    only information, with the suggested rate.
    """

    code = "CNN406"
    name = "loss-plateau"
    summary = "The loss does not fall"
    fix = "Raise the learning rate (run an LR range test), check gradient flow"
    Options = Options

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        ends = loss_ends(run)
        if ends is None or not all(math.isfinite(v) for v in ends):
            return
        first, last = ends
        drop = (first - last) / abs(first) if first else 0.0
        if drop >= self.options.min_drop or last > first * 1.1:
            return  # it fell; or it grew, which is the divergence verdict's
        windows = self._windows(run.loss)
        across = ""
        if windows is not None:
            early, late, error, size = windows
            fell = early - late
            if fell > max(self.options.min_drop * abs(early), self.options.noise_z * error):
                return  # it falls across the batches, beyond their noise
            across = (f"; the mean loss of the first {size} steps {fmt(early)}, of the last "
                      f"{size} {fmt(late)} (noise +/-{fmt(error)})")
        moved = (f"the loss on the first batch went from {fmt(first)} to {fmt(last)} in "
                 f"{run.steps} steps ({-drop:+.2%}; it must fall by "
                 f"{self.options.min_drop:.0%}){across}")
        if run.lr_from != "default":
            yield self.finding(f"{moved} at lr {fmt(run.lr)}", loc, symbol="loss")
            return
        yield self._at_default_rate(run, moved, loc)

    def _windows(self, loss: list[float]) -> tuple[float, float, float, int] | None:
        """(mean loss of the first `size` steps, of the last `size`, standard error of
        their difference, size), or None when the run is too short or not finite."""
        size = max(2, int(len(loss) * self.options.window))
        if len(loss) < 2 * size or not all(math.isfinite(v) for v in loss):
            return None
        early, late = loss[:size], loss[-size:]
        means = sum(early) / size, sum(late) / size
        squares = sum((v - means[0]) ** 2 for v in early) + sum((v - means[1]) ** 2 for v in late)
        variance = squares / (2 * size - 2)  # pooled over both windows
        return means[0], means[1], math.sqrt(2 * variance / size), size

    def _at_default_rate(self, run: Measurements, moved: str, loc: Loc) -> Finding:
        """The probe chose the rate: say so, and what the LR range test makes of it."""
        where = f"at the probe's default lr {fmt(run.lr)}"
        if run.lr_range is None or not run.lr_range.lrs:
            return self.finding(f"{where} (no --lr, none in a training script), {moved}",
                                loc, symbol="loss")
        place, evidence = lr_range.judge(run.lr, run.lr_range, below_factor=1.0)
        if place == lr_range.BELOW:
            return self.finding(
                f"{where} (no --lr, none in a training script), {moved}; the LR range test "
                f"suggests lr {fmt(run.lr_range.suggested_lr)}: rerun with --lr "
                f"{fmt(run.lr_range.suggested_lr)} ({evidence})", loc, symbol="loss",
                severity="info")
        cause = "the rate is not the cause: " if place != lr_range.ABOVE else ""
        return self.finding(f"{where}, {moved}; {cause}{evidence}", loc, symbol="loss")
