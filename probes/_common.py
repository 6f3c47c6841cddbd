"""Helpers the verdicts share: windows of the loss curve, medians, worst layers."""

from __future__ import annotations

import math
import statistics
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def median(values: Iterable[float]) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else None


def mean(values: Iterable[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def loss_ends(loss: list[float]) -> tuple[float, float] | None:
    """(mean of the first fifth, mean of the last fifth) of a finite loss curve: single
    steps are noisy."""
    if len(loss) < 2 or not all(math.isfinite(v) for v in loss):
        return None
    window = max(1, len(loss) // 5)
    return sum(loss[:window]) / window, sum(loss[-window:]) / window


def worst(items: list[T], key: Callable[[T], float]) -> tuple[T, int]:
    """The item with the largest key, and how many items there are."""
    return max(items, key=key), len(items)


def others(count: int) -> str:
    return f" (and {count - 1} more layer{'s' if count > 2 else ''})" if count > 1 else ""
