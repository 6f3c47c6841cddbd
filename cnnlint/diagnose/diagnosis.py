"""One diagnosis, in two halves: what the logs show (`observe`), then what in the code
explains it (`explain`). The CLI lints the code between the two, so a bad log fails fast,
before any linting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnnlint.diagnose import DiagnoseError
from cnnlint.diagnose.causes import Cause, contradictions, explain as causes_of
from cnnlint.diagnose.curves import Curves, build
from cnnlint.diagnose.logs import Run, find_sources, read
from cnnlint.diagnose.metrics import EPOCH_NAMES, STEP_NAMES, Roles, match_roles
from cnnlint.diagnose.symptoms import Symptom, Thresholds, detect, learning_rate
from cnnlint.findings import ErrorEntry, Finding


@dataclass
class Observation:
    run: Run
    roles: Roles
    curves: Curves
    num_classes: int | None
    symptoms: list[Symptom]
    learning_rate: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


def observe(path: str, overrides: dict[str, str], thresholds: Thresholds,
            num_classes: int | None = None) -> Observation:
    """Read the newest log in `path` that has recognisable metrics, and judge it."""
    epoch_names = [overrides["epoch"], *EPOCH_NAMES] if "epoch" in overrides else EPOCH_NAMES
    step_names = [overrides["step"], *STEP_NAMES] if "step" in overrides else STEP_NAMES
    sources = find_sources(path)
    notes: list[str] = []
    problems: list[str] = []
    chosen: tuple[Run, Roles] | None = None
    for source in sources:
        try:
            run = read(source, epoch_names, step_names)
            roles = match_roles(run.series, overrides)
        except DiagnoseError as exc:
            problems.append(str(exc))
            continue
        if roles.found_metrics():
            chosen = run, roles
            break
        names = ", ".join(sorted(run.series)[:12]) or "none"
        problems.append(f"no recognisable metrics in {source.path} (its series: {names}; "
                        "name them with --metric ROLE=NAME)")
    if chosen is None:
        raise DiagnoseError(problems[0] if len(problems) == 1 else
                            f"{problems[0]} (and {len(problems) - 1} other logs in {path} "
                            "had none either)")
    run, roles = chosen
    if len(sources) > 1:
        notes.append(f"{path} holds {len(sources)} logs; diagnosed the newest with metrics, "
                     f"{run.path} (name a file or folder to diagnose another)")
    notes.extend(f"skipped: {problem}" for problem in problems)
    curves = build(run, roles)
    classes = num_classes or roles.num_classes()
    return Observation(run, roles, curves, classes, detect(curves, thresholds, classes),
                       learning_rate(curves), [*notes, *run.notes, *curves.notes])


@dataclass
class Diagnosis:
    observation: Observation
    causes: list[list[Cause]]  # per symptom, in the same order
    errors: list[ErrorEntry]  # the lint run's (files it could not read)
    files: int  # how many files were linted
    notes: list[str] = field(default_factory=list)  # findings the log contradicts


def explain(observation: Observation, findings: list[Finding], errors: list[ErrorEntry],
            files: int) -> Diagnosis:
    return Diagnosis(observation, [causes_of(s, findings) for s in observation.symptoms],
                     errors, files, contradictions(observation.curves, findings))
