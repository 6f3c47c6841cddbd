"""The LR range test (Leslie Smith's): train a deep copy of the model as built with the
configured optimizer kind while the learning rate grows exponentially, one batch per
step, and read the usable rates off the smoothed loss: where it starts to fall, where it
falls fastest, where it is lowest, and where it blows up.

`find` runs the test; `analyse` reads a curve (pure, so it is tested on hand-made curves);
`judge` places a learning rate against the result.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from cnnlint.probe import data as datasets
from cnnlint.verdict import fmt

START_LR, END_LR, STEPS = 1e-7, 10.0, 100
# Exponential moving average of the loss, bias-corrected: the per-batch loss is noisy, and
# a weight of 0.2 on each new batch follows a 100-step sweep with a lag of a few steps
# (about a third of a decade of rate), where the usual 0.02 would lag by half the sweep.
SMOOTHING = 0.8
DIVERGE_FACTOR = 4.0  # stop once the smoothed loss exceeds this many times its best
SETTLE_STEPS = 5  # no stopping before this many steps: the first averages are noisy
FALL_SHARE = 0.1  # the loss "is falling" once it stays this share of its fall below the start
MIN_FALL = 0.1  # the best smoothed loss must be this share below the start, else no range
SLOPE_WINDOW = 2  # steps either side for the slope of the smoothed loss


@dataclass
class LRRange:
    optimizer: str  # "SGD momentum 0.9", "Adam", ...
    lrs: list[float] = field(default_factory=list)  # per step
    losses: list[float] = field(default_factory=list)  # per step, as measured
    smoothed: list[float] = field(default_factory=list)
    start_lr: float = START_LR
    end_lr: float = END_LR
    planned_steps: int = STEPS
    start_loss: float = math.nan  # mean loss of the first steps
    best_loss: float = math.nan  # lowest smoothed loss
    best_lr: float | None = None  # the rate at the lowest smoothed loss
    steepest_lr: float | None = None  # the rate where the smoothed loss falls fastest
    falling_from: float | None = None  # the rate where it has started to fall
    diverged_at: float | None = None  # the rate where it exceeded 4x its best (or NaN)
    suggested_lr: float | None = None
    seconds: float = 0.0

    @property
    def found(self) -> bool:
        """The loss fell at some rate: there is a usable range."""
        return self.best_lr is not None and self.falling_from is not None

    def to_dict(self) -> dict[str, Any]:
        def number(value: float | None) -> float | None:
            return value if value is not None and math.isfinite(value) else None

        return {"optimizer": self.optimizer, "start_lr": self.start_lr,
                "end_lr": self.end_lr, "planned_steps": self.planned_steps,
                "steps": len(self.losses), "start_loss": number(self.start_loss),
                "best_loss": number(self.best_loss), "best_lr": number(self.best_lr),
                "steepest_lr": number(self.steepest_lr),
                "usable_range": [number(self.falling_from), number(self.best_lr)]
                if self.found else None,
                "diverged_at": number(self.diverged_at),
                "suggested_lr": number(self.suggested_lr),
                "lrs": [number(v) for v in self.lrs],
                "losses": [number(v) for v in self.losses],
                "smoothed": [number(v) for v in self.smoothed],
                "seconds": round(self.seconds, 3)}


def find(initial: Any, batches: Iterator[tuple[Any, Any]],
         make_optimizer: Callable[[Any], Any], optimizer: str, device: Any,
         steps: int = STEPS, start_lr: float = START_LR, end_lr: float = END_LR) -> LRRange:
    """Run the test on a deep copy of `initial`; `make_optimizer(model)` builds the
    configured optimizer over a model's parameters (its rate is then set every step)."""
    started = time.perf_counter()
    model = copy.deepcopy(initial).train()
    opt = make_optimizer(model)
    result = LRRange(optimizer=optimizer, start_lr=start_lr, end_lr=end_lr,
                     planned_steps=steps)
    growth = (end_lr / start_lr) ** (1 / max(steps - 1, 1))
    average, best = 0.0, math.inf
    for step in range(steps):
        lr = start_lr * growth ** step
        for group in opt.param_groups:
            group["lr"] = lr
        inputs, labels = next(batches)
        opt.zero_grad(set_to_none=True)
        output = model(inputs.to(device))
        criterion, target = datasets.targets_for(output, labels.to(device))
        loss = criterion(output, target)
        value = float(loss.detach())
        result.lrs.append(lr)
        result.losses.append(value)
        if not math.isfinite(value):
            result.smoothed.append(math.nan)
            result.diverged_at = lr
            break
        average = SMOOTHING * average + (1 - SMOOTHING) * value
        smoothed = average / (1 - SMOOTHING ** (step + 1))
        result.smoothed.append(smoothed)
        best = min(best, smoothed)
        if step >= SETTLE_STEPS and smoothed > DIVERGE_FACTOR * best:
            result.diverged_at = lr
            break
        loss.backward()
        opt.step()
    analyse(result)
    result.seconds = time.perf_counter() - started
    return result


def analyse(result: LRRange) -> None:
    """Fill in the range from the curve in `result` (lrs, losses, smoothed)."""
    curve = [(lr, s) for lr, s in zip(result.lrs, result.smoothed) if math.isfinite(s)]
    if len(curve) < 3:
        return
    opening = [v for v in result.losses[:SETTLE_STEPS] if math.isfinite(v)]
    result.start_loss = sum(opening) / len(opening)
    best_index = min(range(len(curve)), key=lambda i: curve[i][1])
    result.best_loss = curve[best_index][1]
    fall = result.start_loss - result.best_loss
    if fall < MIN_FALL * abs(result.start_loss):
        return  # the loss never really fell: no usable range
    result.best_lr = curve[best_index][0]
    # From the first rate after which the smoothed loss stays below the start by a tenth
    # of its fall up to the lowest point: a dip of the noise before it does not count.
    below = result.start_loss - FALL_SHARE * fall
    first = best_index
    while first > 0 and curve[first - 1][1] <= below:
        first -= 1
    result.falling_from = curve[first][0]
    # Steepest descent: the most negative slope of the smoothed loss against log(rate),
    # by differences over SLOPE_WINDOW steps either side, up to the lowest point.
    w = SLOPE_WINDOW
    slopes = [((curve[i + w][1] - curve[i - w][1])
               / math.log(curve[i + w][0] / curve[i - w][0]), curve[i][0])
              for i in range(w, min(best_index + 1, len(curve) - w))]
    result.steepest_lr = min(slopes)[1] if slopes else result.best_lr
    # The suggestion is the steepest-descent rate, not a tenth of the lowest-loss rate:
    # on a small BatchNorm CNN with SGD over 8 seeds the steepest rate stayed within
    # 0.03-0.17, while the lowest-loss rate ranged from 0.5 to the sweep's end (the loss
    # still falling at 10: no minimum at all), putting its tenth anywhere in 0.05-1.
    result.suggested_lr = result.steepest_lr


BELOW, ABOVE, WITHIN, UNKNOWN = "below", "above", "within", "unknown"


def judge(lr: float, result: LRRange, below_factor: float) -> tuple[str, str]:
    """Where `lr` stands against the range: ABOVE at or past the divergence point, BELOW
    more than `below_factor` times below where the loss starts to fall, WITHIN otherwise,
    UNKNOWN without a range; with the numbers, as words that follow "lr X"."""
    test = f"the LR range test's loss ({result.optimizer})"
    suggestion = f"; suggested lr {fmt(result.suggested_lr)}" if result.suggested_lr else ""
    if result.diverged_at is not None and lr >= result.diverged_at:
        return ABOVE, (f"lr {fmt(lr)} is at or above the rate where {test} diverged, "
                       f"{fmt(result.diverged_at)}{suggestion}")
    if not result.found:
        last = result.lrs[-1] if result.lrs else result.end_lr
        return UNKNOWN, (f"{test} did not fall at any rate from {fmt(result.start_lr)} to "
                         f"{fmt(last)}")
    low = result.falling_from or 0.0
    if lr * below_factor < low:
        return BELOW, (f"lr {fmt(lr)} is {fmt(low / lr)}x below the rate where {test} "
                       f"starts falling, {fmt(low)} (lowest at {fmt(result.best_lr)})"
                       f"{suggestion}")
    diverged = f", diverges at {fmt(result.diverged_at)}" if result.diverged_at else ""
    return WITHIN, (f"lr {fmt(lr)}: {test} starts falling at {fmt(low)}, is lowest at "
                    f"{fmt(result.best_lr)}{diverged}{suggestion}")
