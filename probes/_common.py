"""Helpers the verdicts share: windows of the loss curve, medians, worst layers."""

from __future__ import annotations

import math
import statistics
from typing import Callable, Iterable, TypeVar

from cnnlint.probe.measure import Measurements

T = TypeVar("T")


def median(values: Iterable[float]) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else None


def mean(values: Iterable[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def loss_ends(run: Measurements) -> tuple[float, float] | None:
    """(loss before training, loss after) on the same first batch: comparing losses of
    different batches would measure their noise. None when the run broke off."""
    if run.first_batch_loss is None or len(run.loss) < 2:
        return None
    return run.first_batch_loss


def worst(items: list[T], key: Callable[[T], float]) -> tuple[T, int]:
    """The item with the largest key, and how many items there are."""
    return max(items, key=key), len(items)


def others(count: int) -> str:
    return f" (and {count - 1} more layer{'s' if count > 2 else ''})" if count > 1 else ""
