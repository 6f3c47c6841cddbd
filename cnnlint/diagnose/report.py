"""The diagnosis rendered: text for people, JSON in lint's envelope (`version`, the
records, `errors`, `notes`, `summary`), and a plot of the curves with the symptoms marked.
Renderers only format."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

from cnnlint.diagnose.causes import ADVICE
from cnnlint.diagnose.diagnosis import Diagnosis
from cnnlint.diagnose.symptoms import SYMPTOMS
from cnnlint.findings import SEVERITIES
from cnnlint.verdict import fmt

VERSION = 1


def summary(diagnosis: Diagnosis) -> dict[str, int]:
    symptoms = diagnosis.observation.symptoms
    counts = Counter(s.severity for s in symptoms)
    explained = {c.finding for causes in diagnosis.causes for c in causes}
    return {"symptoms": len(symptoms), **{s: counts.get(s, 0) for s in reversed(SEVERITIES)},
            "explained": sum(1 for causes in diagnosis.causes if causes),
            "findings": len(explained), "files": diagnosis.files,
            "errors": len(diagnosis.errors)}


def _learning_rate(diagnosis: Diagnosis) -> str | None:
    lr = diagnosis.observation.learning_rate
    curves = diagnosis.observation.curves
    if lr is None:
        return None
    if not lr["changes_at"]:
        return (f"learning rate: constant {fmt(lr['first'])} over {lr['periods']} "
                f"{curves.periods}")
    changes = lr["changes_at"]
    when = (f"changed at {curves.unit}s {', '.join(map(str, changes))}" if len(changes) <= 5
            else f"changed at {len(changes)} of {lr['periods']} {curves.periods}")
    return (f"learning rate: {fmt(lr['first'])} at {curves.at(lr['start'])} -> "
            f"{fmt(lr['last'])} at {curves.at(lr['end'])}, {when} (lowest "
            f"{fmt(lr['lowest'])}, highest {fmt(lr['highest'])})")


def _length(diagnosis: Diagnosis) -> str:
    curves = diagnosis.observation.curves
    xs = {x for c in curves.roles.values() for x in c.x}
    if curves.periods == "epochs":
        return f"{len(xs)} epoch{'s' if len(xs) != 1 else ''}"
    return f"{len(xs)} {curves.periods}, steps {min(xs)}-{max(xs)}" if xs else "no values"


def text(diagnosis: Diagnosis) -> str:
    seen = diagnosis.observation
    lines = [f"Diagnosis of {seen.run.path} ({seen.run.kind}, {_length(diagnosis)})"]
    metrics = [f"{role} `{name}`" for role, name in seen.roles.series.items()
               if role in seen.curves.roles]
    for role, labels in seen.curves.classes.items():
        metrics.append(f"{role} of {len(labels)} classes")
    lines.append("  metrics: " + ", ".join(metrics))
    described = _learning_rate(diagnosis)
    if described:
        lines.append(f"  {described}")
    lines.extend(f"note: {note}" for note in [*seen.notes, *diagnosis.notes])
    for symptom, causes in zip(seen.symptoms, diagnosis.causes):
        lines.append("")
        lines.append(f"{symptom.name} [{symptom.severity}]: {SYMPTOMS[symptom.name][1]}")
        lines.append(f"  {symptom.message}")
        if causes:
            lines.append("  likely causes in the code:")
            for cause in causes:
                f = cause.finding
                lines.append(f"    {cause.rank}. {f.path}:{f.line}:{f.column}: {f.code} "
                             f"{f.name}: {f.message}")
                lines.append(f"       {cause.story}")
        else:
            lines.append("  no finding in the code explains it; try: "
                         f"{ADVICE[symptom.name]}")
    for error in diagnosis.errors:
        lines.append(f"{error.path or '<run>'}: error ({error.kind}): {error.message}")
    counts = summary(diagnosis)
    lines.append("")
    files = f"{counts['files']} file{'s' if counts['files'] != 1 else ''}"
    if not seen.symptoms:
        lines.append(f"No symptom found in {_length(diagnosis)}.")
    elif not counts["files"]:
        lines.append(f"Found {_counted(counts)}; no Python file was linted to explain them "
                     "(name the training code: cnnlint diagnose RUN PATHS...).")
    else:
        lines.append(f"Found {_counted(counts)}; {counts['explained']} explained by "
                     f"{counts['findings']} finding{'s' if counts['findings'] != 1 else ''} "
                     f"in {files}.")
    return "\n".join(lines) + "\n"


def _counted(counts: dict[str, int]) -> str:
    parts = ", ".join(f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
                      for s in ("error", "warning", "info"))
    return f"{counts['symptoms']} symptom{'s' if counts['symptoms'] != 1 else ''} ({parts})"


def _plain(value: Any) -> Any:
    """JSON has no NaN or inf: such numbers are written as the strings "nan", "inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def as_json(diagnosis: Diagnosis) -> str:
    seen = diagnosis.observation
    curves = seen.curves
    document = {
        "version": VERSION,
        "run": {
            "path": seen.run.path, "kind": seen.run.kind, "unit": curves.unit,
            "periods": curves.periods,
            "metrics": {r: n for r, n in seen.roles.series.items() if r in curves.roles},
            "classes": {r: {label: c.name for label, c in labels.items()}
                        for r, labels in curves.classes.items()},
            "num_classes": seen.num_classes,
            "learning_rate": seen.learning_rate,
        },
        "symptoms": [{
            "name": s.name, "severity": s.severity, "summary": SYMPTOMS[s.name][1],
            "message": s.message, "series": list(s.series),
            "segment": {"start": s.start, "end": s.end, "unit": curves.unit},
            "mark": s.mark, "evidence": s.evidence,
            "causes": [{"rank": c.rank, "story": c.story, "finding": c.finding.to_dict()}
                       for c in causes],
            "advice": ADVICE[s.name],
        } for s, causes in zip(seen.symptoms, diagnosis.causes)],
        "errors": [e.to_dict() for e in diagnosis.errors],
        "notes": [*seen.notes, *diagnosis.notes],
        "summary": summary(diagnosis),
    }
    return json.dumps(_plain(document), indent=2, allow_nan=False) + "\n"


# --- plot ----------------------------------------------------------------------------------

# Symptoms are shaded in colours the curves (matplotlib's default cycle) do not use.
_SYMPTOM_COLOURS = ("tab:red", "tab:purple", "tab:olive", "tab:cyan", "tab:brown",
                    "tab:pink", "tab:gray")
_PANELS = (("loss", ("train_loss", "val_loss")),
           ("accuracy / AUC", ("train_acc", "val_acc", "train_auc", "val_auc")),
           ("learning rate", ("lr",)))


def plot(diagnosis: Diagnosis, path: str) -> None:
    """The curves, one panel per kind, with each symptom's stretch shaded on the panels
    whose curves show it, and its mark (best epoch, first NaN) as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seen = diagnosis.observation
    curves = seen.curves
    panels = [(title, [r for r in roles if r in curves.roles])
              for title, roles in _PANELS]
    panels = [(title, roles) for title, roles in panels
              if roles or (title.startswith("accuracy") and curves.classes)]
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)),
                                sharex=True, squeeze=False)
    for (title, roles), axis in zip(panels, axes[:, 0]):
        shown = set(roles)
        for role in roles:
            curve = curves.roles[role]
            axis.plot(curve.x, curve.y, marker="o", markersize=3, label=f"{role} ({curve.name})")
            bad = [x for x, v in zip(curve.x, curve.y) if not math.isfinite(v)]
            if bad:  # drawn along the top edge: a NaN has no height
                axis.plot(bad, [0.97] * len(bad), "x", color="red", label=f"{role} NaN/inf",
                          transform=axis.get_xaxis_transform())
        if title.startswith("accuracy"):
            for labels in curves.classes.values():
                for c in labels.values():
                    axis.plot(c.x, c.y, linewidth=0.8, linestyle=":", label=c.name)
                    shown.add(c.name)
        if title == "loss" and seen.num_classes:
            axis.axhline(math.log(seen.num_classes), linestyle=":", color="black",
                         label=f"ln {seen.num_classes} (a uniform guess)")
        finite = [v for r in roles for v in curves.roles[r].y if math.isfinite(v)]
        if title != "accuracy / AUC" and finite and min(finite) > 0 and \
                max(finite) / min(finite) > 100:
            axis.set_yscale("log")
        for index, symptom in enumerate(seen.symptoms):
            if not shown & set(symptom.series):
                continue
            colour = _SYMPTOM_COLOURS[index % len(_SYMPTOM_COLOURS)]
            axis.axvspan(symptom.start, symptom.end, alpha=0.12, color=colour,
                         label=symptom.name)
            if symptom.mark is not None:
                axis.axvline(symptom.mark, linestyle="--", color=colour,
                             label=f"{symptom.name}: {curves.at(symptom.mark)}")
        axis.set_title(title)
        axis.legend(fontsize=7, loc="best")
    axes[-1, 0].set_xlabel(curves.unit)
    names = ", ".join(s.name for s in seen.symptoms) or "no symptom"
    figure.suptitle(f"cnnlint diagnose: {seen.run.path}\n{names}", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
