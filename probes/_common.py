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


# A layer whose gradient norm is below this share of the largest layer's gets (almost) no
# gradient: it moves little whatever the learning rate, which is another verdict's story.
RECEIVING_SHARE = 1e-3


def update_ratios(run: Measurements) -> list[tuple[str, float]]:
    """(layer name, median update-to-weight ratio over the steps) for the weighted layers
    that receive a gradient, in execution order."""
    norms = [(layer, median(layer.grad_norm)) for layer in run.weighted()]
    largest = max((norm for _, norm in norms if norm is not None and math.isfinite(norm)),
                  default=None)
    if not largest:
        return []
    out = []
    for layer, norm in norms:
        ratio = median(v for v in layer.update_ratio if math.isfinite(v))
        if norm is not None and norm >= RECEIVING_SHARE * largest and ratio is not None:
            out.append((layer.name, ratio))
    return out
