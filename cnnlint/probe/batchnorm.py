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
3. the same at a reference batch several times larger (the inputs of several batches,
   normalised together): batch noise shrinks as the batch grows, so a gap that stays at the
   reference size is not the batch size's doing. Each layer normalises the same inputs
   both ways, so the comparison is the layer's own, whatever the layers before it do.

The verdict (`batchnorm-noise`) judges these numbers.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

from cnnlint.probe.measure import LayerStats, Measurements

POPULATION_SAMPLES = 256  # samples averaged into the population statistics
MAX_POPULATION_BATCHES = 64
REFERENCE_FACTOR = 8  # the reference batch is this many batches in one
REFERENCE_CAP = 256  # ... at most this many samples, unless the run's batch is larger


def reference_batch_size(batch_size: int) -> int | None:
    """The reference size for a run at `batch_size`, or None when no larger batch is worth
    comparing with (the run's batch is already at the cap)."""
    size = min(batch_size * REFERENCE_FACTOR, max(REFERENCE_CAP, batch_size))
    size -= size % batch_size
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
    reference = reference_batch_size(run.batch_size)
    compare = reference // run.batch_size if reference is not None else 2
    try:
        with torch.no_grad():
            model.train()
            means, variances = _population(model, norms, batches, run.batch_size)
            for module in norms.values():
                module.momentum = 0.0  # the passes below leave the statistics alone
            sums = _sums(model, norms, [next(batches) for _ in range(compare)])
    finally:
        for name, module in norms.items():
            module.momentum = momenta[name]
    run.bn_reference_batch = reference
    for name, module in norms.items():
        running_var = module.running_var.detach().float() + module.eps
        layer = layers[name]
        if len(means[name]) > 1:
            layer.bn_mean_spread = (torch.stack(means[name]).std(0)
                                    / running_var.sqrt()).mean().item()
            layer.bn_var_spread = (torch.stack(variances[name]).std(0)
                                   / running_var).mean().item()
        if not sums[name]:
            continue
        layer.bn_gap = sum(_gap(module, *batch) for batch in sums[name]) / len(sums[name])
        if reference is not None:
            pooled = [sum(column) for column in zip(*sums[name])]
            layer.bn_gap_reference = _gap(module, *pooled)


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


def _sums(model: Any, norms: dict[str, Any], inputs: list[Any]
          ) -> dict[str, list[tuple[Any, Any, Any]]]:
    """Per layer and input batch, the per-channel (count, sum, sum of squares) of the
    layer's input, in float64: enough to normalise it with the batch's statistics, with
    several batches' pooled statistics, or with the population's."""
    found: dict[str, list[tuple[Any, Any, Any]]] = {name: [] for name in norms}

    def record(name: str) -> Callable[..., None]:
        def hook(module: Any, args: Any) -> None:
            x = args[0].detach().double()
            dims = [d for d in range(x.dim()) if d != 1]
            count = x.numel() // x.shape[1]
            found[name].append((count, x.sum(dims), (x * x).sum(dims)))
        return hook

    handles = [module.register_forward_pre_hook(record(name)) for name, module in norms.items()]
    try:
        for batch in inputs:
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return found


def _gap(module: Any, count: int, total: Any, squares: Any) -> float:
    """|output with the batch's statistics - output with the population's| / |the latter|
    for a batch given by its per-channel sums. Each output is `a * x + b` per channel, so
    both norms follow from the count, sum and sum of squares of x."""
    import torch

    eps = module.eps
    mean = total / count
    variance = (squares / count - mean * mean).clamp_min(0)  # biased, as train mode uses
    channels = total.shape[0]
    weight = module.weight.detach().double() if module.weight is not None \
        else torch.ones(channels, dtype=torch.float64, device=total.device)
    bias = module.bias.detach().double() if module.bias is not None \
        else torch.zeros(channels, dtype=torch.float64, device=total.device)
    running_mean = module.running_mean.detach().double()
    running_scale = weight / (module.running_var.detach().double() + eps).sqrt()
    batch_scale = weight / (variance + eps).sqrt()

    def squared_norm(a: Any, b: Any) -> Any:  # sum over the batch of (a * x + b) ** 2
        return (a * a * squares + 2 * a * b * total + count * b * b).sum()

    difference = squared_norm(batch_scale - running_scale,
                              running_scale * running_mean - batch_scale * mean)
    population = squared_norm(running_scale, bias - running_scale * running_mean)
    return float((difference.clamp_min(0) / population.clamp_min(1e-24)).sqrt())
