"""From a symptom to the static findings that explain it, ranked, each with its story.

Each symptom has a fixed list of rules whose designs produce it, most direct cause first:
a learning rate far too low explains a plateau more directly than SGD without momentum
does. The findings of those rules on the linted code are the symptom's likely causes, in
that order (several findings of one rule keep the linter's order). When no finding
explains a symptom, its advice says what to try.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

from cnnlint.diagnose.curves import Curves
from cnnlint.diagnose.symptoms import Symptom
from cnnlint.findings import Finding

# symptom -> ((rule code, why that design shows this symptom), ...), most direct first.
STORIES: dict[str, tuple[tuple[str, str], ...]] = {
    "generalisation-gap": (
        ("CNN107", "A deep network with no dropout and no weight decay has nothing that "
                   "keeps it from memorising the training images."),
        ("CNN212", "Without random augmentation the network sees the very same images every "
                   "epoch and learns them by heart."),
        ("CNN203", "With no early stopping or best checkpoint, training runs on while the "
                   "model memorises, and the weights kept are the most overfitted ones."),
        ("CNN202", "With no validation pass the script never sees the held-out score, so "
                   "nothing reacts while the gap opens."),
        ("CNN201", "BatchNorm on tiny batches trains on noisy batch statistics and evaluates "
                   "with running statistics that differ from them, which widens the gap "
                   "between training and validation."),
    ),
    "missed-early-stop": (
        ("CNN203", "The script has no early stopping and keeps no best checkpoint, so it "
                   "trained on past the best validation epoch and kept the last weights."),
        ("CNN202", "The script runs no validation, so it cannot know when the held-out "
                   "loss turned."),
        ("CNN107", "With no dropout and no weight decay, the model overfits quickly once it "
                   "has fitted the signal, so the validation loss turns early."),
        ("CNN212", "Without augmentation, the training images repeat exactly each epoch, "
                   "so memorising them starts early."),
    ),
    "early-plateau": (
        ("CNN207", "A learning rate far below the usual range moves the weights so little "
                   "that the loss barely changes."),
        ("CNN108", "Weights initialised to a constant or a tiny scale give vanishing or "
                   "identical gradients from the first step, so the loss cannot fall."),
        ("CNN106", "Sigmoid or tanh through a deep stack saturate and shrink the gradient "
                   "layer by layer: the first layers hardly learn."),
        ("CNN103", "A long chain of layers with no skip connection passes a vanishing "
                   "gradient back to its first layers."),
        ("CNN210", "A softmax fed to CrossEntropyLoss (which applies its own) squashes the "
                   "logits, and the loss stalls far above zero."),
        ("CNN206", "SGD without momentum takes small, noisy steps and stalls in flat regions "
                   "and shallow valleys of the loss."),
    ),
    "divergence": (
        ("CNN208", "A learning rate far above the usual range overshoots: the loss grows, "
                   "and the weights can overflow to inf or NaN."),
        ("CNN205", "Without zero_grad the gradients of every step add up, so the updates grow "
                   "step after step until the loss blows up."),
        ("CNN108", "A constant or badly scaled initialisation can make the first gradients "
                   "explode."),
    ),
    "oscillation": (
        ("CNN208", "A learning rate far above the usual range makes each step overshoot the "
                   "minimum, so the loss swings back and forth."),
        ("CNN205", "Gradients that are never reset accumulate, and the oversized steps jump "
                   "across the minimum."),
        ("CNN108", "A badly scaled initialisation makes the first epochs unstable."),
        ("CNN201", "BatchNorm on tiny batches normalises with noisy statistics, so the same "
                   "weights score differently from one epoch to the next."),
    ),
    "class-left-behind": (
        ("CNN211", "A class-weighted loss only scales the rare class's gradient: it does not "
                   "give the network more distinct examples of it, so the class can stay "
                   "at chance while the average looks fine."),
    ),
    "constant-learning-rate": (
        ("CNN209", "The script trains the whole run at one learning rate; a schedule that "
                   "lowers it late in training settles into a better minimum."),
    ),
}

# A validation loss that swings is, first of all, noisy: BatchNorm on small batches.
_VALIDATION_NOISE = ("CNN201", "CNN208", "CNN205", "CNN108")

ADVICE = {
    "generalisation-gap": "add regularisation (dropout before the classifier, weight decay "
                          "around 5e-4), random augmentation of the training images, or "
                          "more data; a smaller model overfits less",
    "missed-early-stop": "keep the checkpoint with the best validation loss and stop after "
                         "a few epochs without improvement (a patience counter, or "
                         "Lightning's EarlyStopping and ModelCheckpoint(monitor=...))",
    "early-plateau": "run a learning-rate range test and raise the rate; check the weight "
                     "initialisation (Kaiming for ReLU), use SGD with momentum 0.9 or Adam, "
                     "and feed raw logits to CrossEntropyLoss",
    "divergence": "lower the learning rate tenfold, add a warm-up or gradient clipping, and "
                  "check that the gradients are reset every step",
    "oscillation": "lower the learning rate or raise the batch size, and decay the rate "
                   "late in training; for a swinging validation loss, a larger validation "
                   "set, or GroupNorm in place of BatchNorm on small batches",
    "class-left-behind": "oversample the class (WeightedRandomSampler), augment it, or try "
                         "focal loss; a confusion matrix shows which class it is taken for",
    "constant-learning-rate": "decay the learning rate (cosine, step decay or one-cycle)",
}


@dataclass(frozen=True)
class Cause:
    rank: int  # 1 is the most likely
    story: str
    finding: Finding


def candidates(symptom: Symptom) -> tuple[tuple[str, str], ...]:
    """The rules that explain `symptom`, in order, with their stories."""
    stories = STORIES[symptom.name]
    if symptom.name == "oscillation" and symptom.series == ("val_loss",):
        by_code = dict(stories)
        return tuple((code, by_code[code]) for code in _VALIDATION_NOISE)
    return stories


def explain(symptom: Symptom, findings: list[Finding]) -> list[Cause]:
    """The findings that explain `symptom`, ranked."""
    causes: list[Cause] = []
    for code, story in candidates(symptom):
        for finding in findings:
            if finding.code == code:
                causes.append(Cause(len(causes) + 1, story, finding))
    return causes


def contradictions(curves: Curves, findings: list[Finding]) -> list[str]:
    """Findings that the log itself contradicts: a log with validation metrics from a
    script the linter saw validate nowhere (CNN202), a changing learning rate from one
    it saw keep a constant rate (CNN209). Then the linted code is likely not the code that
    wrote the log, and its findings explain the log less surely."""
    validated = any(role.startswith("val_") for role in [*curves.roles, *curves.classes])
    lr = curves.roles.get("lr")
    scheduled = lr is not None and any(not math.isclose(a, b, rel_tol=1e-6)
                                       for a, b in zip(lr.y, lr.y[1:]))
    said = {"CNN202": (validated, "the log holds validation metrics",
                       "no validation pass"),
            "CNN209": (scheduled, "the logged learning rate changes",
                       "one constant learning rate")}
    notes = []
    for f in findings:
        seen, log, code = said.get(f.code, (False, "", ""))
        if seen:
            notes.append(f"{log}, but {f.code} {f.name} finds {code} in "
                         f"{f.path}:{f.line}:{f.column}: was the log written by other code?")
    return notes
