"""BatchNorm's noise at the probed batch size, judged against a reference batch.

In train mode BatchNorm normalises with the statistics of the batch; in eval mode with
population statistics. How far apart the two outputs are, on the same input, is the noise
the batch injects. Measured after the run with the final weights held fixed:

1. population statistics: every BatchNorm layer's running statistics are re-estimated as a
   cumulative average over a few hundred samples. After a short run the running statistics
   lag behind the weights; that lag is not batch noise, and measuring it made healthy
   networks look noisy at any batch size.
2. per layer, on the same input: the layer's train-mode output (batch statistics) against
   the output the population statistics give for the same input. Layer by layer, not at the
   network's output, where the differences of every layer pile up with depth.
3. the same at a reference batch several times larger: batch noise shrinks as the batch
   grows, so a gap that stays at the reference size is not the batch size's doing.

The verdict (`batchnorm-noise`) judges these numbers.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

from cnnlint.probe.measure import LayerStats, Measurements

POPULATION_SAMPLES = 256  # samples averaged into the population statistics
MAX_POPULATION_BATCHES = 64
COMPARE_BATCHES = 2
REFERENCE_FACTOR = 8  # the reference batch is this many batches in one
REFERENCE_CAP = 256  # ... at most this many samples (its forward pass must fit in memory)


def reference_batch_size(batch_size: int) -> int | None:
    """The reference size for a run at `batch_size`, or None when no larger batch is worth
    comparing with (the run's batch is already at the cap)."""
    size = min(batch_size * REFERENCE_FACTOR, max(REFERENCE_CAP, batch_size))
    return size if size >= 2 * batch_size else None


def batchnorm_noise(model: Any, batches: Iterator[Any], layers: dict[str, LayerStats],
                    run: Measurements) -> None:
    """Fill in `bn_mean_spread`, `bn_var_spread`, `bn_gap` and `bn_gap_reference` of the
    BatchNorm layers in `layers` (by module path); `batches` yields input batches at the
    run's batch size. The model's weights are not changed; its running statistics are
    (the probe's model is a copy)."""
    import torch

    norms = {name: module for name, module in model.named_modules()
             if name in layers and layers[name].family == "batchnorm"
             and getattr(module, "track_running_stats", False)
             and getattr(module, "running_var", None) is not None}
    if not norms:
        return
    momenta = {name: module.momentum for name, module in norms.items()}
    try:
        with torch.no_grad():
            model.train()
            means, variances = _population(model, norms, batches, run.batch_size)
            for module in norms.values():
                module.momentum = 0.0  # the passes below leave the statistics alone
            gaps = _gaps(model, norms, [next(batches) for _ in range(COMPARE_BATCHES)])
            reference = reference_batch_size(run.batch_size)
            reference_gaps: dict[str, float] = {}
            if reference is not None:
                count = reference // run.batch_size
                joined = torch.cat([next(batches) for _ in range(count)])
                reference_gaps = _gaps(model, norms, [joined])
                run.bn_reference_batch = int(joined.shape[0])
    finally:
        for name, module in norms.items():
            module.momentum = momenta[name]
    for name, module in norms.items():
        running_var = module.running_var.detach().float() + module.eps
        layer = layers[name]
        if len(means[name]) > 1:
            layer.bn_mean_spread = (torch.stack(means[name]).std(0)
                                    / running_var.sqrt()).mean().item()
            layer.bn_var_spread = (torch.stack(variances[name]).std(0)
                                   / running_var).mean().item()
        layer.bn_gap = gaps.get(name)
        layer.bn_gap_reference = reference_gaps.get(name)


def _population(model: Any, norms: dict[str, Any], batches: Iterator[Any], batch_size: int
                ) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Re-estimate the running statistics as a cumulative average; return each layer's
    per-batch means and variances seen on the way."""
    means: dict[str, list[Any]] = {name: [] for name in norms}
    variances: dict[str, list[Any]] = {name: [] for name in norms}

    def record(name: str) -> Callable[..., None]:
        def hook(module: Any, args: Any) -> None:
            x = args[0].detach().float()
            dims = [d for d in range(x.dim()) if d != 1]
            means[name].append(x.mean(dims))
            variances[name].append(x.var(dims, unbiased=False))
        return hook

    for module in norms.values():
        module.reset_running_stats()
        module.momentum = None  # None: a cumulative moving average
    handles = [module.register_forward_pre_hook(record(name)) for name, module in norms.items()]
    try:
        count = min(MAX_POPULATION_BATCHES, max(2, math.ceil(POPULATION_SAMPLES / batch_size)))
        for _ in range(count):
            model(next(batches))
    finally:
        for handle in handles:
            handle.remove()
    return means, variances


def _gaps(model: Any, norms: dict[str, Any], inputs: list[Any]) -> dict[str, float]:
    """Per layer, the mean over `inputs` of |train-mode output - population-statistics
    output| / |population-statistics output|, both from the layer's own input."""
    import torch
    import torch.nn.functional as F

    found: dict[str, list[Any]] = {name: [] for name in norms}

    def compare(name: str) -> Callable[..., None]:
        def hook(module: Any, args: Any, output: Any) -> None:
            x = args[0].detach()
            population = F.batch_norm(x, module.running_mean, module.running_var,
                                      module.weight, module.bias, False, 0.0, module.eps)
            difference = (output.detach().float() - population.float()).norm()
            found[name].append(difference / population.float().norm().clamp_min(1e-12))
        return hook

    handles = [module.register_forward_hook(compare(name)) for name, module in norms.items()]
    try:
        for batch in inputs:
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return {name: torch.stack(values).mean().item() for name, values in found.items() if values}
