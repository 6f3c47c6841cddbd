"""The symptoms a training's curves show, each measured, judged and backed by evidence.

Every detector reads `Curves` (one value per epoch or validation round), measures, and
judges against `Thresholds` (`[tool.cnnlint.diagnose]`); what it finds is a `Symptom`
with the numbers, the stretch of the curve that shows it, and a one-line message. "At the
end" and "at the start" mean the mean of the last or first `window` periods, so one noisy
epoch neither makes nor hides a symptom. Pure Python: no numpy, no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from cnnlint.diagnose.curves import Curve, Curves, mean
from cnnlint.options import RuleOptions
from cnnlint.verdict import fmt


class Thresholds(RuleOptions):
    window: int = 3
    gap_accuracy: float = 0.15
    gap_loss_ratio: float = 1.5
    stop_patience: int = 3
    stop_rise: float = 0.05
    min_improvement: float = 0.01
    plateau_within: float = 0.25
    plateau_epochs: int = 3
    plateau_near: float = 0.1
    divergence_rise: float = 0.1
    divergence_from_best: float = 1.0
    oscillation_swing: float = 0.25
    oscillation_reversals: int = 3
    class_margin: float = 0.1
    class_others: float = 0.2
    constant_lr_epochs: int = 30


# What each threshold means: `cnnlint diagnose --help` and the README print these.
THRESHOLD_HELP = {
    "window": "epochs averaged for a value at the start or at the end of the run",
    "gap-accuracy": "generalisation gap: train minus validation accuracy (or AUC) at the "
                    "end, as a fraction",
    "gap-loss-ratio": "generalisation gap: validation loss over training loss at the end",
    "stop-patience": "missed early stop: epochs after the best validation loss",
    "stop-rise": "missed early stop: how far the validation loss ends above its best "
                 "(relative)",
    "min-improvement": "a relative change of the loss smaller than this is no improvement",
    "plateau-within": "early plateau: the loss stops improving within this fraction of "
                      "the run",
    "plateau-epochs": "early plateau: ... and stays flat at least this many epochs",
    "plateau-near": "early plateau: its level is within this fraction of its first value "
                    "or of ln C",
    "divergence-rise": "divergence: the loss ends this much (relative) above its first "
                       "value, or above ln C",
    "divergence-from-best": "divergence: ... or this much (relative) above its lowest",
    "oscillation-swing": "oscillation: an epoch-to-epoch change of this fraction of the "
                         "loss is a swing",
    "oscillation-reversals": "oscillation: swings that change direction this many times",
    "class-margin": "class left behind: the class ends within this of chance (or below)",
    "class-others": "class left behind: ... while the other classes average this much "
                    "above chance",
    "constant-lr-epochs": "constant learning rate: logged unchanged over this many epochs",
}

# Each symptom: severity, and what it means in a few words (the report's heading).
SYMPTOMS = {
    "divergence": ("error", "the loss becomes NaN or inf, or grows instead of falling"),
    "generalisation-gap": ("warning", "training does far better than validation, and the "
                                      "gap widens (overfitting)"),
    "missed-early-stop": ("warning", "the validation loss rises while the training loss "
                                     "falls: training went on past its best epoch"),
    "early-plateau": ("warning", "the training loss stops improving within the first "
                                 "epochs, near where it started"),
    "oscillation": ("warning", "the loss swings up and down from epoch to epoch"),
    "class-left-behind": ("warning", "one class stays near chance while the others learn"),
    "constant-learning-rate": ("info", "the learning rate never changes over a long run"),
}


@dataclass
class Symptom:
    name: str
    message: str
    series: tuple[str, ...]  # the roles (or per-class names) whose curves show it
    start: int  # the stretch of the curve that shows it (epochs or steps)
    end: int
    evidence: dict[str, Any] = field(default_factory=dict)
    mark: int | None = None  # one point worth marking: the best epoch, the first NaN

    @property
    def severity(self) -> str:
        return SYMPTOMS[self.name][0]


def _finite(curve: Curve) -> bool:
    return all(math.isfinite(v) for v in curve.y)


def _paired(a: Curve, b: Curve) -> tuple[list[int], list[float], list[float]]:
    """The epochs both curves have (finite values only), with their values."""
    at_b = dict(zip(b.x, b.y))
    rows = [(x, va, at_b[x]) for x, va in zip(a.x, a.y)
            if x in at_b and math.isfinite(va) and math.isfinite(at_b[x])]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _score(value: float) -> str:
    """An accuracy or AUC, as people read them: two decimals."""
    return f"{value:.2f}"


# --- generalisation gap ------------------------------------------------------------------


def generalisation_gap(curves: Curves, t: Thresholds, num_classes: int | None
                       ) -> list[Symptom]:
    """Train far better than validation at the end, and wider than at the start. Judged
    on accuracy (else AUC) when both are logged; on the ratio of the losses only when not:
    a validation loss above the training loss with equal accuracies is a model less sure
    of new images, not one that fails on them."""
    w = t.window
    for kind in ("acc", "auc"):
        train, val = curves.roles.get(f"train_{kind}"), curves.roles.get(f"val_{kind}")
        if train is None or val is None:
            continue
        xs, tr, va = _paired(train, val)
        if len(xs) <= w:
            continue
        gaps = [a - b for a, b in zip(tr, va)]
        end, start = mean(gaps[-w:]), mean(gaps[:w])
        if end < t.gap_accuracy or end - start < t.gap_accuracy / 2:
            return []
        since = next(x for x, g in zip(xs, gaps) if g >= t.gap_accuracy)
        return [Symptom(
            "generalisation-gap",
            f"`{train.name}` {_score(mean(tr[-w:]))} vs `{val.name}` "
            f"{_score(mean(va[-w:]))} at the end ({curves.span(xs[-w], xs[-1])}): a gap "
            f"of {_score(end)}, up from {_score(start)} at the start; above "
            f"{_score(t.gap_accuracy)} since {curves.at(since)}",
            (f"train_{kind}", f"val_{kind}"), since, xs[-1],
            {"metric": kind, "train_end": mean(tr[-w:]), "val_end": mean(va[-w:]),
             "gap_end": end, "gap_start": start, "since": since})]
    train, val = curves.roles.get("train_loss"), curves.roles.get("val_loss")
    if train is None or val is None:
        return []
    xs, tr, va = _paired(train, val)
    if len(xs) <= w or min(tr + va) <= 0:
        return []
    ratios = [b / a for a, b in zip(tr, va)]
    end, start = mean(ratios[-w:]), mean(ratios[:w])
    if end >= t.gap_loss_ratio and end - start >= (t.gap_loss_ratio - 1) / 2:
        since = next(x for x, r in zip(xs, ratios) if r >= t.gap_loss_ratio)
        return [Symptom(
            "generalisation-gap",
            f"`{val.name}` {fmt(mean(va[-w:]))} is {fmt(end)}x `{train.name}` "
            f"{fmt(mean(tr[-w:]))} at the end ({curves.span(xs[-w], xs[-1])}), up from "
            f"{fmt(start)}x at the start; above {fmt(t.gap_loss_ratio)}x since "
            f"{curves.at(since)}",
            ("train_loss", "val_loss"), since, xs[-1],
            {"metric": "loss", "train_end": mean(tr[-w:]), "val_end": mean(va[-w:]),
             "ratio_end": end, "ratio_start": start, "since": since})]
    return []


# --- missed early stop -------------------------------------------------------------------


def missed_early_stop(curves: Curves, t: Thresholds, num_classes: int | None
                      ) -> list[Symptom]:
    """The validation metric passed its best `stop_patience` or more epochs before the
    end and ends clearly worse, while the training metric still improved."""
    for kind, lower_is_better in (("loss", True), ("acc", False), ("auc", False)):
        train, val = curves.roles.get(f"train_{kind}"), curves.roles.get(f"val_{kind}")
        if train is None or val is None:
            continue
        xs, tr, va = _paired(train, val)
        if len(xs) <= t.stop_patience:
            continue
        sign = 1.0 if lower_is_better else -1.0
        best = min(range(len(va)), key=lambda i: (sign * va[i], i))
        after = len(xs) - 1 - best
        if after < t.stop_patience:
            continue
        size = min(t.window, after)
        val_end, train_end = mean(va[-size:]), mean(tr[-size:])
        worse = sign * (val_end - va[best]) / abs(va[best]) if va[best] else 0.0
        better = sign * (tr[best] - train_end) / abs(tr[best]) if tr[best] else 0.0
        if worse >= t.stop_rise and better >= t.min_improvement:
            verb, went = ("rose", "fell") if lower_is_better else ("fell", "rose")
            return [Symptom(
                "missed-early-stop",
                f"`{val.name}` was best at {curves.at(xs[best])} ({fmt(va[best])}) and "
                f"{verb} to {fmt(val_end)} by {curves.at(xs[-1])} ({worse:+.0%}), while "
                f"`{train.name}` {went} from {fmt(tr[best])} to {fmt(train_end)}: "
                f"training should have stopped at {curves.at(xs[best])}",
                (f"train_{kind}", f"val_{kind}"), xs[best], xs[-1],
                {"metric": kind, "best_at": xs[best], "best": va[best], "val_end": val_end,
                 "train_at_best": tr[best], "train_end": train_end,
                 "periods_after_best": after, "stop_at": xs[best]},
                mark=xs[best])]
    return []


# --- early plateau -----------------------------------------------------------------------


def _last_improvement(values: list[float], tolerance: float) -> int:
    """The index of the last value that beat the best before it by more than `tolerance`
    (relative); 0 when none did."""
    best, last = values[0], 0
    for i, value in enumerate(values[1:], 1):
        if value < best - tolerance * abs(best):
            last = i
        best = min(best, value)
    return last


def early_plateau(curves: Curves, t: Thresholds, num_classes: int | None) -> list[Symptom]:
    """The training loss stops improving early and stays near its first value or ln C."""
    loss = curves.roles.get("train_loss")
    if loss is None or not _finite(loss):
        return []  # a NaN is divergence's to report
    y = loss.y
    stalled = _last_improvement(y, t.min_improvement)
    early = max(1, int(t.plateau_within * len(y)))
    if stalled > early or len(y) - 1 - stalled < t.plateau_epochs:
        return []
    level = min(y)
    near_start = level >= y[0] * (1 - t.plateau_near)
    chance = math.log(num_classes) if num_classes and num_classes > 1 else None
    near_chance = chance is not None and abs(level - chance) <= t.plateau_near * chance
    if not (near_start or near_chance):
        return []
    where = [f"its first value {fmt(y[0])}"] if near_start else []
    if near_chance and chance is not None:
        where.append(f"ln {num_classes} = {fmt(chance)}, the loss of a uniform guess")
    low, high = fmt(level), fmt(max(y[stalled:]))
    return [Symptom(
        "early-plateau",
        f"`{loss.name}` stops improving after {curves.at(loss.x[stalled])} and stays at "
        f"{low if low == high else f'{low} to {high}'} up to {curves.at(loss.x[-1])}, near "
        f"{' and '.join(where)}",
        ("train_loss",), loss.x[stalled], loss.x[-1],
        {"last_improvement_at": loss.x[stalled], "level": level, "first": y[0],
         "ln_classes": chance, "near_start": near_start, "near_ln_classes": near_chance})]


# --- divergence and oscillation ----------------------------------------------------------


def divergence(curves: Curves, t: Thresholds, num_classes: int | None) -> list[Symptom]:
    """A NaN or inf in a loss, or a training loss that ends above where it started, more
    than `1 + divergence_from_best` times its lowest, or above ln C."""
    for role in ("train_loss", "val_loss"):
        curve = curves.roles.get(role)
        bad = next(((x, v) for x, v in zip(curve.x, curve.y) if not math.isfinite(v)),
                   None) if curve else None
        if curve is not None and bad is not None:
            return [Symptom(
                "divergence", f"`{curve.name}` is {bad[1]} from {curves.at(bad[0])}",
                (role,), bad[0], curve.x[-1], {"non_finite_at": bad[0], "value": bad[1]},
                mark=bad[0])]
    loss = curves.roles.get("train_loss")
    if loss is None or len(loss.y) < 2:
        return []
    y = loss.y
    size = min(t.window, len(y) - 1)
    end = mean(y[-size:])
    lowest = min(range(len(y) - size), key=lambda i: y[i])
    limits = [(y[0] * (1 + t.divergence_rise), f"its first value {fmt(y[0])}", 0),
              (y[lowest] * (1 + t.divergence_from_best),
               f"its lowest {fmt(y[lowest])} ({curves.at(loss.x[lowest])})", lowest)]
    if num_classes and num_classes > 1:
        chance = math.log(num_classes)
        limits.append((chance * (1 + t.divergence_rise),
                       f"ln {num_classes} = {fmt(chance)} (a uniform guess)", 0))
    passed = [(what, since) for limit, what, since in limits if y[0] > 0 and end > limit]
    if not passed:
        return []
    return [Symptom(
        "divergence",
        f"`{loss.name}` ends at {fmt(end)} ({curves.span(loss.x[-size], loss.x[-1])}), "
        f"above {' and '.join(what for what, _ in passed)}",
        ("train_loss",), loss.x[passed[0][1]], loss.x[-1],
        {"end": end, "first": y[0], "lowest": y[lowest], "lowest_at": loss.x[lowest],
         "ln_classes": math.log(num_classes) if num_classes and num_classes > 1 else None})]


def oscillation(curves: Curves, t: Thresholds, num_classes: int | None) -> list[Symptom]:
    """Large epoch-to-epoch swings of a loss that keep changing direction."""
    found = []
    for role in ("train_loss", "val_loss"):
        curve = curves.roles.get(role)
        if curve is None or not _finite(curve) or len(curve.y) < 3:
            continue
        y = curve.y
        swings = []  # (index, direction) of each large change
        for i in range(1, len(y)):
            base = min(abs(y[i]), abs(y[i - 1]))
            if base > 0 and abs(y[i] - y[i - 1]) / base >= t.oscillation_swing:
                swings.append((i, 1 if y[i] > y[i - 1] else -1))
        reversals = [b for a, b in zip(swings, swings[1:]) if b[0] == a[0] + 1 and b[1] != a[1]]
        if len(reversals) >= t.oscillation_reversals:
            largest = max(abs(y[i] - y[i - 1]) / min(abs(y[i]), abs(y[i - 1]))
                          for i, _ in swings)
            first, last = curve.x[swings[0][0] - 1], curve.x[reversals[-1][0]]
            found.append(Symptom(
                "oscillation",
                f"`{curve.name}` swings by {t.oscillation_swing:.0%} or more and turns "
                f"{len(reversals)} times between {curves.at(first)} and {curves.at(last)} "
                f"(largest swing {largest:.0%})",
                (role,), first, last,
                {"reversals": len(reversals), "largest_swing": largest}))
    return found


# --- a class left behind -----------------------------------------------------------------


def class_left_behind(curves: Curves, t: Thresholds, num_classes: int | None
                      ) -> list[Symptom]:
    """A class whose own metric ends near (or below) chance while the other classes do
    well: the average hides it."""
    found: list[Symptom] = []
    seen: set[str] = set()
    for role in ("val_auc", "val_acc", "train_auc", "train_acc"):
        labels = curves.classes.get(role, {})
        if len(labels) < 2:
            continue
        classes = max(num_classes or 0, len(labels))
        chance = 0.5 if role.endswith("auc") else 1 / classes
        ends = {label: c.window(t.window) for label, c in labels.items()
                if _finite(c)}
        overall = curves.roles.get(role)
        for label, value in ends.items():
            others = [v for other, v in ends.items() if other != label]
            if label in seen or not others:
                continue
            rest = mean(others)
            if value <= chance + t.class_margin and rest >= chance + t.class_others:
                seen.add(label)
                curve = labels[label]
                extra = (f"; overall `{overall.name}` {_score(overall.window(t.window))}"
                         if overall is not None and _finite(overall) else "")
                rest_is = (f"the other class is at {_score(rest)}" if len(others) == 1
                           else f"the other {len(others)} classes average {_score(rest)}")
                found.append(Symptom(
                    "class-left-behind",
                    f"class {label}: `{curve.name}` ends at {_score(value)} (chance "
                    f"{_score(chance)}; never above {_score(max(curve.y))}) while {rest_is}"
                    f"{extra}",
                    (curve.name,), curve.x[0], curve.x[-1],
                    {"class": label, "metric": role, "end": value, "chance": chance,
                     "best": max(curve.y), "others_end": rest,
                     "overall_end": overall.window(t.window) if overall else None}))
    return found


# --- the learning rate -------------------------------------------------------------------


def learning_rate(curves: Curves) -> dict[str, Any] | None:
    """What the logged learning rate did: first and last value, range, and the epochs
    where it changed. None when no learning rate is logged."""
    lr = curves.roles.get("lr")
    if lr is None:
        return None
    changes = [x for x, before, now in zip(lr.x[1:], lr.y, lr.y[1:])
               if not math.isclose(before, now, rel_tol=1e-6)]
    return {"first": lr.y[0], "last": lr.y[-1], "lowest": min(lr.y), "highest": max(lr.y),
            "changes_at": changes, "periods": len(lr.x), "start": lr.x[0], "end": lr.x[-1]}


def constant_learning_rate(curves: Curves, t: Thresholds, num_classes: int | None
                           ) -> list[Symptom]:
    """The learning rate, logged over `constant_lr_epochs` epochs or more, never changed.
    Judged only when the periods are epochs or validation rounds: a count of raw steps
    says nothing about the length of a run."""
    described = learning_rate(curves)
    if described is None or described["changes_at"] or \
            curves.periods not in ("epochs", "validation rounds") or \
            described["periods"] < t.constant_lr_epochs:
        return []
    lr = curves.roles["lr"]
    return [Symptom(
        "constant-learning-rate",
        f"`{lr.name}` stays at {fmt(lr.y[0])} over {described['periods']} "
        f"{curves.periods} ({curves.span(lr.x[0], lr.x[-1])})",
        ("lr",), lr.x[0], lr.x[-1], {"lr": lr.y[0], "periods": described["periods"]})]


DETECTORS: tuple[Callable[[Curves, Thresholds, int | None], list[Symptom]], ...] = (
    divergence, generalisation_gap, missed_early_stop, early_plateau, oscillation,
    class_left_behind, constant_learning_rate)


# A diverged run fits nothing: a gap between its training and validation curves, or a
# validation loss that rises, is no sign of overfitting there.
_MEANINGLESS_AFTER_DIVERGENCE = {"generalisation-gap", "missed-early-stop"}


def detect(curves: Curves, thresholds: Thresholds, num_classes: int | None
           ) -> list[Symptom]:
    """Every symptom the curves show, most severe first."""
    found = [s for detector in DETECTORS for s in detector(curves, thresholds, num_classes)]
    if any(s.name == "divergence" for s in found):
        found = [s for s in found if s.name not in _MEANINGLESS_AFTER_DIVERGENCE]
    order = list(SYMPTOMS)
    return sorted(found, key=lambda s: (-["info", "warning", "error"].index(s.severity),
                                        order.index(s.name)))
