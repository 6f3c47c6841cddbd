"""Training batches against a held-out batch, after the run.

The run trains on a stream of batches; one fixed batch (`data.Stream.held_out`) is kept out
of it. After the last step, with the weights held fixed and in train mode as during the
steps (batch statistics, dropout on, no update), the loss and accuracy on a few of the
batches the run saw are set against the same numbers on the held-out batch: a model that
fits its training batches and not the held-out one memorises instead of learning.
"""

from __future__ import annotations

from typing import Any, Callable

from cnnlint.probe import data as datasets
from cnnlint.probe.measure import HeldOut

KEEP = 4  # training batches kept for the comparison, spread over the run


def keep_step(step: int, steps: int) -> bool:
    """Whether the batch of `step` (from 0) is one of the `KEEP` kept, spread over the run."""
    return step % max(1, steps // KEEP) == 0 and step // max(1, steps // KEEP) < KEEP


def compare(forward: Callable[[Any], Any], seen: list[tuple[Any, Any]],
            held_out: tuple[Any, Any]) -> HeldOut:
    """`forward(inputs) -> logits` for a batch's input; `seen`: (inputs, labels) of batches
    the run trained on; `held_out`: the batch it never did."""
    import torch

    def score(batch: tuple[Any, Any]) -> tuple[float, float]:
        inputs, labels = batch
        with torch.no_grad():
            output = forward(inputs)
            criterion, target = datasets.targets_for(output, labels.to(output.device))
            return float(criterion(output, target)), datasets.accuracy(output, target)

    trained = [score(batch) for batch in seen]
    loss, accuracy = score(held_out)
    return HeldOut(train_loss=sum(t[0] for t in trained) / len(trained),
                   train_accuracy=sum(t[1] for t in trained) / len(trained),
                   held_out_loss=loss, held_out_accuracy=accuracy,
                   train_batches=len(trained), samples=int(held_out[1].shape[0]))
