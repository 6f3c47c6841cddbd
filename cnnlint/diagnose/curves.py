"""The chosen series lined up on one axis, one value per period, ready to be judged.

The detectors compare training with validation epoch by epoch, so every series is reduced
to one value per period (the mean of what was logged in it):

- **epochs** when the log says which epoch each value belongs to: an `epoch` column (CSV,
  JSON lines) or an `epoch` scalar (Lightning writes one to TensorBoard), which maps
  each step to the epoch logged at or before it;
- else **validation rounds**: the steps where validation was logged end the periods, and
  a per-step training loss is averaged over the steps up to each one;
- else each logged point is a period, and a long per-step log (over `MAX_PERIODS`
  points) is averaged over windows of consecutive points, so batch-to-batch noise does not
  read as oscillation.

Accuracies and AUCs logged in percent are read as fractions.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from cnnlint.diagnose.logs import Point, Run
from cnnlint.diagnose.metrics import Roles

MAX_PERIODS = 50
_VALIDATION_ORDER = ("val_loss", "val_acc", "val_auc")


@dataclass
class Curve:
    name: str  # the series' name in the log
    x: list[int]  # epochs or steps, ascending
    y: list[float]

    def window(self, size: int) -> float:
        """The mean of the last `size` values."""
        return mean(self.y[-size:])


@dataclass
class Curves:
    unit: str  # "epoch" or "step": what the x values count
    periods: str  # epochs | validation rounds | windows | points
    roles: dict[str, Curve] = field(default_factory=dict)
    classes: dict[str, dict[str, Curve]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def at(self, x: int) -> str:
        return f"{self.unit} {x}"

    def span(self, start: int, end: int) -> str:
        return self.at(start) if start == end else f"{self.unit}s {start}-{end}"


def mean(values: list[float]) -> float:
    return sum(values) / len(values)  # NaN and inf stay visible: they are evidence


def _epoch_lookup(run: Run, roles: Roles) -> Callable[[Point], int | None]:
    """A function from a point to its epoch, or None when the log cannot say."""
    epoch_points = run.series.get(roles.series.get("epoch", ""), [])
    marks = sorted((p.step, int(p.value)) for p in epoch_points
                   if p.step is not None and math.isfinite(p.value))
    steps = [s for s, _ in marks]

    def epoch_of(point: Point) -> int | None:
        if point.epoch is not None:
            return point.epoch
        if not marks or point.step is None:
            return None
        index = bisect.bisect_right(steps, point.step) - 1
        return marks[max(index, 0)][1]

    return epoch_of


def _round_of(boundaries: list[int]) -> Callable[[Point], int | None]:
    """A function from a point to the step of the validation that ends its period; None
    after the last validation (an unfinished period) or without a step."""
    def round_of(point: Point) -> int | None:
        if point.step is None:
            return None
        index = bisect.bisect_left(boundaries, point.step)
        return boundaries[index] if index < len(boundaries) else None

    return round_of


def _by_period(points: list[Point], period: Callable[[Point], int | None]
               ) -> tuple[list[int], list[float]]:
    groups: dict[int, list[float]] = {}
    for point in points:
        key = period(point)
        if key is not None:
            groups.setdefault(key, []).append(point.value)
    keys = sorted(groups)
    return keys, [mean(groups[k]) for k in keys]


def _by_window(points: list[Point]) -> tuple[list[int], list[float]]:
    """Each step its own period, or windows of consecutive points when there are more
    than MAX_PERIODS; a window is placed at its last step."""
    if len(points) <= MAX_PERIODS:
        return _by_period(points, lambda p: p.step)
    keyed = sorted((p.step, p.value) for p in points if p.step is not None)
    size = math.ceil(len(keyed) / MAX_PERIODS)
    chunks = [keyed[i:i + size] for i in range(0, len(keyed), size)]
    return [c[-1][0] for c in chunks], [mean([v for _, v in c]) for c in chunks]


def build(run: Run, roles: Roles) -> Curves:
    chosen = {role: name for role, name in roles.series.items() if role not in ("epoch", "step")}
    every = [run.series[n] for n in chosen.values()] + [
        run.series[n] for labels in roles.classes.values() for n in labels.values()]
    epoch_of = _epoch_lookup(run, roles)
    boundaries = next((sorted({p.step for p in run.series[chosen[r]] if p.step is not None})
                       for r in _VALIDATION_ORDER if r in chosen), [])
    reduce: Callable[[list[Point]], tuple[list[int], list[float]]]
    if every and all(any(epoch_of(p) is not None for p in points) for points in every):
        curves = Curves("epoch", "epochs")
        reduce = partial(_by_period, period=epoch_of)
    elif boundaries:
        curves = Curves("step", "validation rounds")
        reduce = partial(_by_period, period=_round_of(boundaries))
        left_out = sum(1 for points in every for p in points
                       if p.step is not None and p.step > boundaries[-1])
        if left_out:
            curves.notes.append(f"{left_out} value{'s' if left_out != 1 else ''} logged "
                                "after the last validation (an unfinished period) left out")
    else:
        long = any(len(points) > MAX_PERIODS for points in every)
        curves = Curves("step", "windows" if long else "points")
        reduce = _by_window
        if long:
            curves.notes.append("no epochs or validation in the log: long series are "
                                f"averaged over windows of steps ({MAX_PERIODS} at most)")
    for role, name in chosen.items():
        x, y = reduce(run.series[name])
        if x:
            curve = Curve(name, x, y)
            curves.roles[role] = _fraction(curve, role, curves.notes, f"`{name}`")
    for role, labels in roles.classes.items():
        notes: list[str] = []
        for label, name in sorted(labels.items()):
            x, y = reduce(run.series[name])
            if x:
                curve = Curve(name, x, y)
                curves.classes.setdefault(role, {})[label] = _fraction(
                    curve, role, notes, f"the per-class `{role}` metrics")
        curves.notes.extend(dict.fromkeys(notes))
    return curves


def _fraction(curve: Curve, role: str, notes: list[str], what: str) -> Curve:
    """Accuracy and AUC logged in percent (a value above 1) as fractions."""
    if role.endswith(("_acc", "_auc")):
        finite = [v for v in curve.y if math.isfinite(v)]
        if finite and 1.0 < max(finite) <= 100.0:
            notes.append(f"{what} read as percentages")
            return Curve(curve.name, curve.x, [v / 100 for v in curve.y])
    return curve
