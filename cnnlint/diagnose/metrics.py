"""Which logged series is which: roles found by naming convention, or named by the user.

Logging libraries and scripts name the same quantity many ways (`train_loss`, `loss`,
`train/loss`, `training_loss`, Lightning's `train_loss_epoch`, Keras's `val_accuracy`). A
name is cut into lower-case words (at `_ - / . `, spaces and camelCase), and the words say
the phase (train or validation), the kind (loss, accuracy, AUC, learning rate) and, for a
per-class metric, the class (`val_auc_class_3`, `val/acc_class0`). When several names fit
one role, the plainest wins: an explicit phase over none, `val` over `test`, an epoch
aggregate over a per-step value, fewer other words. `--metric role=name` overrides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

from cnnlint.diagnose import DiagnoseError

# The roles a series can play, with what names find it; `--metric` accepts these.
ROLES = {
    "train_loss": "training loss: train_loss, loss, train/loss, training_loss",
    "val_loss": "validation loss: val_loss, valid_loss, val/loss, validation_loss "
                "(eval_ and test_ when there is no val_)",
    "train_acc": "training accuracy: train_acc, acc, accuracy, train/acc",
    "val_acc": "validation accuracy: val_acc, val_accuracy, val/acc",
    "train_auc": "training AUC: train_auc, train_auroc",
    "val_auc": "validation AUC: val_auc, val/auroc",
    "lr": "learning rate: lr, learning_rate, lr-SGD (Lightning's LearningRateMonitor)",
    "epoch": "the epoch number: a CSV or JSON column, or a TensorBoard scalar",
    "step": "the step number: step, global_step, iteration",
}
METRIC_ROLES = ("train_loss", "val_loss", "train_acc", "val_acc", "train_auc", "val_auc")
EPOCH_NAMES = ("epoch", "epochs")
STEP_NAMES = ("step", "global_step", "trainer/global_step", "iteration", "iter", "_step",
              "steps")

_VAL = {"val": 0, "valid": 0, "validation": 0, "eval": 1, "evaluation": 1, "dev": 1,
        "test": 2}
_TRAIN = {"train", "training", "trn"}
_AGGREGATE = {"epoch": 0, "step": 2}  # Lightning's `_epoch` and `_step` suffixes
_NEUTRAL = {"mean", "avg", "macro", "top1", "score"}


def words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return [w for w in re.split(r"[^a-z0-9]+", spaced) if w]


@dataclass(frozen=True)
class Match:
    role: str
    label: str | None  # the class of a per-class metric
    rank: tuple[int, int, int]  # lower is plainer


def _kind(word_list: list[str]) -> tuple[str, set[str]] | None:
    """The metric kind and the words that said it."""
    if "loss" in word_list:
        return "loss", {"loss"}
    accuracy = {w for w in word_list if w.startswith("acc") and not w[3:].isdigit()
                or w in ("acc1", "top1")}
    if accuracy and not {"top5", "acc5"} & set(word_list):
        return "acc", accuracy
    auc = {w for w in word_list if "auc" in w or w == "auroc"}
    if auc:
        return "auc", auc
    joined = "_".join(word_list)
    if "lr" in word_list or "learning_rate" in joined or "learningrate" in word_list:
        return "lr", {"lr", "learning", "rate", "learningrate"}
    return None


def _class_label(word_list: list[str]) -> tuple[list[str], str | None]:
    """(the words before a class marker, the class) for `..._class_3`, `..._class0`."""
    for index in range(len(word_list) - 1, -1, -1):
        word = word_list[index]
        if word in ("class", "cls") and index < len(word_list) - 1:
            return word_list[:index], "_".join(word_list[index + 1:])
        found = re.fullmatch(r"(?:class|cls)(\d+)", word)
        if found and index == len(word_list) - 1:
            return word_list[:index], found.group(1)
    return word_list, None


def classify(name: str) -> Match | None:
    """The role a series name plays by convention, or None."""
    word_list = words(name)
    if word_list in (["epoch"], ["epochs"]):
        return Match("epoch", None, (0, 0, 0))
    if "_".join(word_list) in {"_".join(words(n)) for n in STEP_NAMES}:
        return Match("step", None, (0, 0, 0))
    base, label = _class_label(word_list)
    kind = _kind(base)
    if kind is None:
        return None
    metric, said = kind
    if metric == "lr":
        if label is not None:
            return None
        return Match("lr", None, (0, len(set(base) - said), 0))
    phases = [_VAL[w] for w in base if w in _VAL]
    if phases:
        phase, phase_rank = "val", min(phases)
    else:
        phase, phase_rank = "train", 0 if _TRAIN & set(base) else 1
    if metric == "loss" and label is not None:
        return None  # a per-class loss says nothing the detectors read
    known = said | _TRAIN | set(_VAL) | set(_AGGREGATE) | _NEUTRAL
    extra = len([w for w in base if w not in known])
    aggregate = min((_AGGREGATE[w] for w in base if w in _AGGREGATE), default=1)
    return Match(f"{phase}_{metric}", label, (phase_rank, extra, aggregate))


@dataclass
class Roles:
    """The series chosen for each role, by name; `classes`: role -> class -> name."""

    series: dict[str, str] = field(default_factory=dict)
    classes: dict[str, dict[str, str]] = field(default_factory=dict)

    def found_metrics(self) -> bool:
        return any(role in self.series for role in METRIC_ROLES) or bool(self.classes)

    def num_classes(self) -> int | None:
        counts = [len(labels) for labels in self.classes.values() if len(labels) >= 2]
        return max(counts) if counts else None


def parse_overrides(values: Iterable[str]) -> dict[str, str]:
    """`--metric role=name` values as {role: name}."""
    from cnnlint.config import did_you_mean

    overrides: dict[str, str] = {}
    for value in values:
        role, sep, name = value.partition("=")
        role = role.strip().replace("-", "_")
        if not sep or not name.strip():
            raise DiagnoseError(f"--metric {value!r}: expected ROLE=NAME, e.g. "
                                "val_loss=valid/loss")
        if role not in ROLES:
            raise DiagnoseError(f"--metric: unknown role `{role}`{did_you_mean(role, ROLES)} "
                                f"(roles: {', '.join(ROLES)})")
        overrides[role] = name.strip()
    return overrides


def match_roles(names: Iterable[str], overrides: dict[str, str]) -> Roles:
    """Pick a series for each role. Names taken by `overrides` play only their role."""
    names = list(names)
    roles = Roles()
    taken = set(overrides.values())
    best: dict[str, tuple[tuple[int, int, int], str]] = {}
    for name in names:
        if name in taken:
            continue
        match = classify(name)
        if match is None:
            continue
        if match.label is not None:
            roles.classes.setdefault(match.role, {})[match.label] = name
            continue
        key = (match.rank, name)
        if match.role not in best or key < best[match.role]:
            best[match.role] = key
    chosen = {role: name for role, (_, name) in best.items()}
    for role, name in overrides.items():
        if role in ("epoch", "step") and name not in names:
            continue  # a CSV or JSON column: the reader took it as the axis
        if name not in names:
            raise DiagnoseError(f"--metric {role}={name}: no metric named `{name}` in the "
                                f"log (it has: {', '.join(sorted(names)) or 'nothing'})")
        chosen[role] = name
    roles.series = {role: chosen[role] for role in ROLES if role in chosen}
    return roles
