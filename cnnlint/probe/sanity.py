"""Sanity checks of the training recipe, short measurements on deep copies of the model
as it was built (before the probe's run), except the last, which reads the trained model:

- `initial_loss`: the loss on the first batch before any update against its expected
  value (ln C for C classes), the gradient at the logits, and whether the model returns
  probabilities (a softmax that CrossEntropyLoss would apply a second time);
- `overfit_batch`: can the network drive the loss on one small fixed batch near zero, and
  memorise random labels on it;
- `input_baseline`: the same training on zeroed inputs, which must end worse than on the
  real ones;
- `class_balance`: the label histogram of the batches the run saw and per-class recall
  after the run.

The memorisation and baseline runs use their own recipe (Adam at fixed rates), not the
configured optimizer: they test the network and its data, and a learning rate far off
(which the LR range test and the loss verdicts judge) must not make them fail. Nothing
here touches global state beyond the torch RNG the runner has already forked.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from cnnlint.probe import data as datasets

# Memorising uses Adam, whose per-parameter step sizes suit most networks without tuning
# (SGD's usable rate spans decades from one network to the next), at two rates: no single
# one works for all healthy networks in a few dozen steps. At 32x32, 40 steps at 1e-3
# leave a small two-conv BatchNorm net at 27-37% of its start loss, and 40 at 1e-2 leave
# a VGG-11 with BatchNorm at 28-39%, while each gets below 1% at the other rate; MONAI's
# ResNet-18 and DenseNet-121 and EfficientNet-B0 get below 0.1% at either, most within
# 5-20 steps. The second rate runs only when the first has not memorised the batch.
MEMORISE_RATES = (1e-3, 1e-2)
MEMORISED = 0.01  # final/start below which the first rate is enough
MEMORISE_SAMPLES = 8
MEMORISE_STEPS = 40
BASELINE_LR = 1e-3  # the input-independent baseline's Adam rate
# The baseline trains as many steps as the run, up to this: enough for a network to start
# using its input; more would only cost.
BASELINE_MAX_STEPS = 50
BASELINE_POOL = 4  # batches the baseline's two copies cycle over
HELD_BATCHES = 4  # fresh batches they are compared on
RECALL_BATCHES = 8  # held batches for the per-class recall after the run
PROBABILITY_TOLERANCE = 1e-3  # |row sum - 1| for a row of probabilities


def number(value: float | None) -> float | None:
    """A number for the JSON report: None for missing and non-finite values (JSON has no
    NaN or Infinity)."""
    return value if value is not None and math.isfinite(value) else None


@dataclass
class InitialLoss:
    """The loss on the first batch before any update, in train mode, as the run's first
    step computes it."""

    loss: float
    expected: float  # ln C (cross-entropy over C classes), ln 2 for a single logit
    classes: int  # C; 1 for a single logit (binary cross-entropy)
    # The mean per-row norm of the loss's gradient at the logits: the model's output, or,
    # when the output is a softmax, the scores before it (through the softmax's Jacobian).
    logit_gradient: float
    # The same at uniform predictions with the same loss: sqrt((C-1)/C), 0.5 for one logit.
    uniform_gradient: float
    probabilities: float  # share of the output rows that are probability vectors
    log_probabilities: float  # share of the output rows that are log-probabilities
    positions: int = 1  # targets per sample: 1 for a label, H x W for a segmentation map
    seconds: float = 0.0

    @property
    def ratio(self) -> float:
        return self.loss / self.expected if self.expected > 0 else math.nan

    def loss_band(self) -> tuple[float, float]:
        """The range cross-entropy can take on a row of probabilities (entries in [0, 1]):
        from all mass on the right class to all mass on a wrong one."""
        c = self.classes
        return math.log(1 + (c - 1) / math.e), math.log(1 + (c - 1) * math.e)

    def to_dict(self) -> dict[str, Any]:
        low, high = self.loss_band() if self.classes > 1 else (None, None)
        return {"loss": number(self.loss), "expected": number(self.expected),
                "ratio": number(self.ratio), "classes": self.classes,
                "logit_gradient": number(self.logit_gradient),
                "uniform_gradient": number(self.uniform_gradient),
                "probabilities": self.probabilities,
                "log_probabilities": self.log_probabilities, "positions": self.positions,
                "probability_loss_band": [low, high] if self.probabilities else None,
                "seconds": round(self.seconds, 3)}


@dataclass
class Memorised:
    start: float  # the batch's loss before the first step
    final: float  # after the steps: the lower of its train- and eval-mode loss
    lr: float  # the Adam rate
    steps: int  # taken (fewer than planned once the loss is near zero)

    @property
    def fraction(self) -> float:
        return self.final / self.start if self.start > 0 else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"start": number(self.start), "final": number(self.final),
                "fraction": number(self.fraction), "lr": self.lr, "steps": self.steps}


@dataclass
class OverfitBatch:
    samples: int
    steps: int
    tries: list[Memorised]  # the batch with its labels, at each rate tried
    random: Memorised | None  # the same inputs with random labels, at the best rate
    seconds: float = 0.0

    @property
    def real(self) -> Memorised:
        """The best try: the lowest final loss (NaN counts as the worst)."""
        return min(self.tries, key=lambda t: t.fraction if math.isfinite(t.fraction)
                   else math.inf)

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "steps": self.steps, "optimizer": "Adam",
                "real_labels": self.real.to_dict(),
                "tries": [t.to_dict() for t in self.tries],
                "random_labels": self.random.to_dict() if self.random else None,
                "seconds": round(self.seconds, 3)}


@dataclass
class InputBaseline:
    """Two copies trained alike, one on the real inputs and one on zeroed inputs."""

    steps: int
    real_held: float  # mean loss on held batches (real inputs)
    zero_held: float  # the zero-input copy on the same held batches, zeroed
    real_seen: float  # mean loss on the batches they trained on
    zero_seen: float
    optimizer: str = f"Adam lr {BASELINE_LR:g}"
    # The copies whose training reached a non-finite loss ("real", "zeroed"): their
    # figures are NaN and there is no comparison.
    diverged: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "optimizer": self.optimizer,
                "real_held_loss": number(self.real_held),
                "zero_held_loss": number(self.zero_held),
                "real_seen_loss": number(self.real_seen),
                "zero_seen_loss": number(self.zero_seen),
                "diverged": self.diverged.split(", ") if self.diverged else [],
                "seconds": round(self.seconds, 3)}


@dataclass
class ClassBalance:
    counts: list[int]  # labels per class in the batches the run trained on
    predicted: list[int]  # predictions per class on held batches after the run
    held: list[int]  # labels per class in those held batches
    hits: list[int]  # correct predictions per class on them
    seconds: float = 0.0

    @property
    def imbalance(self) -> float:
        """The most frequent class's count over the rarest's (classes that occur)."""
        present = [c for c in self.counts if c > 0]
        return max(present) / min(present) if present else math.nan

    def recall(self) -> list[float | None]:
        return [None if not total else self.hits[i] / total
                for i, total in enumerate(self.held)]

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "imbalance": number(self.imbalance),
                "held_counts": self.held, "predicted": self.predicted,
                "recall": self.recall(), "seconds": round(self.seconds, 3)}


@dataclass
class SanityChecks:
    initial_loss: InitialLoss | None = None
    overfit: OverfitBatch | None = None
    input_baseline: InputBaseline | None = None
    class_balance: ClassBalance | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"initial_loss": self.initial_loss.to_dict() if self.initial_loss else None,
                "overfit_batch": self.overfit.to_dict() if self.overfit else None,
                "input_baseline": self.input_baseline.to_dict()
                if self.input_baseline else None,
                "class_balance": self.class_balance.to_dict() if self.class_balance else None}


# --- the loss at initialisation ------------------------------------------------------------


def initial_loss(initial: Any, batch: tuple[Any, Any]) -> InitialLoss:
    """The loss on `batch` before any update, and the gradient of the loss at the logits."""
    import torch

    started = time.perf_counter()
    model = copy.deepcopy(initial).train()
    inputs, labels = batch
    output = model(inputs)
    criterion, target = datasets.targets_for(output, labels)
    loss = criterion(output, target)
    (gradient,) = torch.autograd.grad(loss, output)
    loss = loss.detach()
    out = output.detach().float()
    gradient = gradient.float()
    single = out.dim() == 1 or (out.dim() == 2 and out.shape[1] == 1)
    classes = 1 if single else int(out.shape[1])
    # Rows: one per sample (and pixel, for maps), the class scores along dim 1.
    rows = out.numel() // classes
    if single:
        per_row = (gradient * rows).abs().reshape(-1)
        probabilities = log_probabilities = 0.0
        uniform = 0.5  # |sigmoid(0) - target|
    else:
        scores = out.movedim(1, -1).reshape(-1, classes)
        grads = gradient.movedim(1, -1).reshape(-1, classes) * rows
        row_sum = scores.sum(1)
        is_prob = (scores >= -PROBABILITY_TOLERANCE).all(1) & (
            (row_sum - 1).abs() <= PROBABILITY_TOLERANCE)
        is_log_prob = (scores <= PROBABILITY_TOLERANCE).all(1) & (
            scores.logsumexp(1).abs() <= PROBABILITY_TOLERANCE)
        probabilities = float(is_prob.float().mean())
        log_probabilities = float(is_log_prob.float().mean())
        if probabilities > 0.5:
            # p = softmax(z): the gradient at z is p * (g - <p, g>), the softmax's Jacobian
            # applied to the gradient at p.
            grads = scores * (grads - (scores * grads).sum(1, keepdim=True))
        per_row = grads.norm(dim=1)
        uniform = math.sqrt((classes - 1) / classes)
    return InitialLoss(
        loss=float(loss), expected=math.log(max(classes, 2)), classes=classes,
        logit_gradient=float(per_row.mean()), uniform_gradient=uniform,
        probabilities=probabilities, log_probabilities=log_probabilities,
        positions=max(1, rows // max(1, int(out.shape[0]))) if out.dim() > 1 else 1,
        seconds=time.perf_counter() - started)


# --- memorising one batch ------------------------------------------------------------------


def _loss(model: Any, inputs: Any, labels: Any) -> Any:
    output = model(inputs)
    criterion, target = datasets.targets_for(output, labels)
    return criterion(output, target)


def _train_copy(initial: Any, batches: Iterable[tuple[Any, Any]], steps: int, lr: float,
                zero_inputs: bool = False, stop_below: float = 0.0) -> tuple[Any, list[float]]:
    """A deep copy of `initial` trained for `steps` Adam steps at `lr`, cycling over
    `batches`; with its losses per step. It stops early once a loss falls below
    `stop_below` times the first one."""
    import torch

    model = copy.deepcopy(initial).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    pool = list(batches)
    losses = []
    for step in range(steps):
        inputs, labels = pool[step % len(pool)]
        if zero_inputs:
            inputs = torch.zeros_like(inputs)
        optimizer.zero_grad(set_to_none=True)
        loss = _loss(model, inputs, labels)
        losses.append(loss.detach())
        if not bool(torch.isfinite(loss)) or (stop_below and step and
                                              bool(loss < stop_below * losses[0])):
            break
        loss.backward()
        optimizer.step()
    return model, torch.stack(losses).tolist()


def _settled_loss(model: Any, inputs: Any, labels: Any) -> float:
    """The loss without an update, the lower of train mode and eval mode: dropout's noise
    (train mode) and BatchNorm running statistics that lag behind the weights (eval mode)
    are not a failure to fit."""
    import torch

    values = []
    with torch.no_grad():
        for train in (True, False):
            model.train(train)
            values.append(float(_loss(model, inputs, labels)))
    model.train()
    finite = [v for v in values if math.isfinite(v)]
    return min(finite) if finite else math.nan


def _memorise(initial: Any, inputs: Any, labels: Any, steps: int, lr: float) -> Memorised:
    # Once memorised, more steps would measure nothing new: stop (ResNets get there in
    # about 15 steps).
    model, losses = _train_copy(initial, [(inputs, labels)], steps, lr,
                                stop_below=MEMORISED / 10)
    final = _settled_loss(model, inputs, labels) if math.isfinite(losses[-1]) else math.nan
    return Memorised(start=losses[0], final=final, lr=lr, steps=len(losses))


def overfit_batch(initial: Any, batch: tuple[Any, Any], num_classes: int, seed: int,
                  steps: int = MEMORISE_STEPS) -> OverfitBatch:
    """Train copies on one fixed batch of `MEMORISE_SAMPLES` samples: with its labels, and
    with random labels (a healthy network memorises those too)."""
    import torch

    started = time.perf_counter()
    inputs, labels = batch[0][:MEMORISE_SAMPLES], batch[1][:MEMORISE_SAMPLES]
    tries: list[Memorised] = []
    for lr in MEMORISE_RATES:
        tries.append(_memorise(initial, inputs, labels, steps, lr))
        if tries[-1].fraction < MEMORISED:
            break
    result = OverfitBatch(samples=int(inputs.shape[0]), steps=steps, tries=tries, random=None)
    generator = torch.Generator().manual_seed(seed + 1)
    shuffled = torch.randint(max(num_classes, 2), tuple(labels.shape), generator=generator)
    result.random = _memorise(initial, inputs, shuffled.to(labels.device, labels.dtype),
                              steps, result.real.lr)
    result.seconds = time.perf_counter() - started
    return result


# --- the input-independent baseline --------------------------------------------------------


def _mean_loss(model: Any, batches: list[tuple[Any, Any]], zero_inputs: bool) -> float:
    import torch

    values = []
    with torch.no_grad():
        for inputs, labels in batches:
            if zero_inputs:
                inputs = torch.zeros_like(inputs)
            values.append(float(_loss(model, inputs, labels)))
    return sum(values) / len(values)


def input_baseline(initial: Any, batches: Iterator[tuple[Any, Any]], steps: int,
                   device: Any) -> InputBaseline:
    """Two copies trained for `steps` steps (at most `BASELINE_MAX_STEPS`) over the same
    few batches, one on their inputs
    and one on zeros; each judged on held batches (the zero copy on zeroed ones) and on the
    batches it trained on. Without its input a network can learn only the labels'
    frequencies."""
    started = time.perf_counter()

    def take(count: int) -> list[tuple[Any, Any]]:
        return [(x.to(device), y.to(device)) for x, y in (next(batches) for _ in range(count))]

    steps = min(steps, BASELINE_MAX_STEPS)
    pool, held = take(BASELINE_POOL), take(HELD_BATCHES)
    real, real_losses = _train_copy(initial, pool, steps, BASELINE_LR)
    zero, zero_losses = _train_copy(initial, pool, steps, BASELINE_LR, zero_inputs=True)
    nan = math.nan
    # Each copy is judged only when its training stayed finite. Zeroed inputs can make a
    # healthy network diverge (efficientnet-pytorch's b0 does at the second step): that
    # says nothing about the real inputs, so the real copy's figures are still given.
    real_ok, zero_ok = math.isfinite(real_losses[-1]), math.isfinite(zero_losses[-1])
    return InputBaseline(
        steps=steps,
        real_held=_mean_loss(real, held, False) if real_ok else nan,
        zero_held=_mean_loss(zero, held, True) if zero_ok else nan,
        real_seen=_mean_loss(real, pool, False) if real_ok else nan,
        zero_seen=_mean_loss(zero, pool, True) if zero_ok else nan,
        diverged=", ".join(name for name, ok in (("real", real_ok), ("zeroed", zero_ok))
                           if not ok),
        seconds=time.perf_counter() - started)


# --- class balance -------------------------------------------------------------------------


class LabelCounter:
    """Counts the class labels of the batches an iterator yields, per batch."""

    def __init__(self) -> None:
        self.per_batch: list[list[int]] = []

    def counting(self, batches: Iterator[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
        for inputs, labels in batches:
            self.per_batch.append(_histogram(labels))
            yield inputs, labels

    def totals(self, batches: int) -> list[int]:
        return _add(self.per_batch[:batches])


def _histogram(labels: Any) -> list[int]:
    """Counts per class of a batch's labels (class indices; other labels are not counted)."""
    import torch

    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() \
            and not bool((labels == labels.round()).all()):
        return []
    flat = labels.detach().reshape(-1).long().cpu()
    flat = flat[flat >= 0]
    return torch.bincount(flat).tolist() if flat.numel() else []


def _add(histograms: Iterable[list[int]]) -> list[int]:
    total: list[int] = []
    for counts in histograms:
        total.extend([0] * (len(counts) - len(total)))
        for i, count in enumerate(counts):
            total[i] += count
    return total


def class_balance(model: Any, batches: Iterator[tuple[Any, Any]], counts: list[int],
                  device: Any, held_batches: int = RECALL_BATCHES) -> ClassBalance | None:
    """Per-class predictions and recall of the trained `model` (in eval mode) on
    `held_batches` batches, with the label counts of the batches it trained on. None when
    the labels are not class indices or the output is not one score per class."""
    import torch

    started = time.perf_counter()
    if not counts:
        return None
    predicted: list[int] = []
    held: list[int] = []
    hits: list[int] = []
    model.eval()
    try:
        with torch.no_grad():
            for _ in range(held_batches):
                inputs, labels = next(batches)
                output = model(inputs.to(device))
                if output.dim() != 2 or output.shape[1] < 2:
                    return None  # a single logit or a map: no per-image class
                labels = labels.to(output.device).reshape(-1).long()
                guess = output.argmax(1)
                predicted = _add([predicted, torch.bincount(guess).tolist()])
                held = _add([held, _histogram(labels)])
                right = labels[guess == labels]
                hits = _add([hits, torch.bincount(right).tolist() if right.numel() else []])
    finally:
        model.train()
    width = max(len(counts), len(predicted), len(held), int(output.shape[1]))

    def padded(values: list[int]) -> list[int]:
        return values + [0] * (width - len(values))

    return ClassBalance(counts=padded(counts), predicted=padded(predicted), held=padded(held),
                        hits=padded(hits), seconds=time.perf_counter() - started)
