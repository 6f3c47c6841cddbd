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
    first: float  # the first value logged, before any averaging (a per-step loss's first)

    def window(self, size: int, end: bool = True) -> float:
        """The mean of the last (or first) `size` values."""
        values = self.y[-size:] if end else self.y[:size]
        return sum(values) / len(values)


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


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)  # NaN and inf stay visible: they are evidence


def _grouped(points: list[tuple[int, float]]) -> tuple[list[int], list[float]]:
    groups: dict[int, list[float]] = {}
    for key, value in points:
        groups.setdefault(key, []).append(value)
    keys = sorted(groups)
    return keys, [_mean(groups[k]) for k in keys]


Reduce = Callable[[list[Point]], tuple[list[int], list[float]]]


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


def build(run: Run, roles: Roles) -> Curves:
    chosen = {role: name for role, name in roles.series.items() if role not in ("epoch", "step")}
    per_class = roles.classes
    every = [run.series[n] for n in chosen.values()] + [
        run.series[n] for labels in per_class.values() for n in labels.values()]
    epoch_of = _epoch_lookup(run, roles)
    if every and all(any(epoch_of(p) is not None for p in points) for points in every):
        curves = Curves("epoch", "epochs")

        def reduce(points: list[Point]) -> tuple[list[int], list[float]]:
            return _grouped([(e, p.value) for p in points
                             if (e := epoch_of(p)) is not None])
    else:
        boundaries = next((sorted({p.step for p in run.series[chosen[r]] if p.step is not None})
                           for r in _VALIDATION_ORDER if r in chosen), [])
        if boundaries:
            curves = Curves("step", "validation rounds")
            left_out = 0

            def reduce(points: list[Point]) -> tuple[list[int], list[float]]:
                nonlocal left_out
                keyed = []
                for p in points:
                    if p.step is None:
                        continue
                    index = bisect.bisect_left(boundaries, p.step)
                    if index == len(boundaries):
                        left_out += 1  # after the last validation: an unfinished period
                        continue
                    keyed.append((boundaries[index], p.value))
                return _grouped(keyed)
        else:
            curves = Curves("step", "points")

            def reduce(points: list[Point]) -> tuple[list[int], list[float]]:
                keyed = sorted((p.step if p.step is not None else i, p.value)
                               for i, p in enumerate(points))
                if len(keyed) <= MAX_PERIODS:
                    return _grouped(keyed)
                curves.periods = "windows"
                size = math.ceil(len(keyed) / MAX_PERIODS)
                chunks = [keyed[i:i + size] for i in range(0, len(keyed), size)]
                return [c[-1][0] for c in chunks], [_mean([v for _, v in c]) for c in chunks]

    for role, name in chosen.items():
        curve = _curve(name, run.series[name], reduce)
        if curve is not None:
            curves.roles[role] = _fraction(curve, role, curves.notes, f"`{name}`")
    for role, labels in per_class.items():
        notes: list[str] = []
        for label, name in sorted(labels.items()):
            curve = _curve(name, run.series[name], reduce)
            if curve is not None:
                curves.classes.setdefault(role, {})[label] = _fraction(
                    curve, role, notes, f"the per-class `{role}` metrics")
        curves.notes.extend(dict.fromkeys(notes))
    if curves.periods == "validation rounds" and left_out:
        curves.notes.append(f"{left_out} value{'s' if left_out != 1 else ''} logged after the "
                            "last validation (an unfinished period) left out")
    if curves.periods == "windows":
        curves.notes.append(f"no epochs or validation in the log: long series are averaged "
                            f"over windows of steps ({MAX_PERIODS} at most)")
    return curves


def _curve(name: str, points: list[Point], reduce: Reduce) -> Curve | None:
    x, y = reduce(points)
    return Curve(name, x, y, points[0].value) if x else None


def _fraction(curve: Curve, role: str, notes: list[str], what: str) -> Curve:
    """Accuracy and AUC logged in percent (a value above 1) as fractions."""
    if role.endswith(("_acc", "_auc")):
        finite = [v for v in curve.y if math.isfinite(v)]
        if finite and 1.0 < max(finite) <= 100.0:
            notes.append(f"{what} read as percentages")
            return Curve(curve.name, curve.x, [v / 100 for v in curve.y], curve.first / 100)
    return curve
