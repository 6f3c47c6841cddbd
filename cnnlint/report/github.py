"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

GitHub shows at most 10 annotations of each level (error, warning, notice) per step and
drops the rest without a word. So the most severe go first, each level is cut at the limit,
what is cut is printed as plain log lines with a count, and `step_summary` gives the job's
summary page a table of every finding.

Paths are relative to `GITHUB_WORKSPACE` (the checkout) when it is set: that is what GitHub
matches annotations against, whatever folder cnnlint ran from.
"""

from __future__ import annotations

import os

from cnnlint.findings import SEVERITIES, ErrorEntry, Finding
from cnnlint.report import summary

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}
PER_LEVEL = 10  # annotations GitHub shows per level and step
SUMMARY_BUDGET = 1000 * 1000  # bytes; GitHub refuses a step summary over 1 MiB


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def workspace_path(path: str) -> str:
    """`path` relative to GITHUB_WORKSPACE when it lies inside it, else as given."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if not workspace or not path:
        return path
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(workspace))
    except ValueError:  # another drive
        return path
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path
    return relative.replace(os.sep, "/")


def _detail(f: Finding) -> str:
    see = "".join(f"; see {workspace_path(r.path)}:{r.line}: {r.message}" for r in f.related)
    return f"{f.message}{see} ({f.hint})"


def _text(f: Finding) -> str:
    return f"{f.name}: {_detail(f)}"


def _annotation(f: Finding) -> str:
    props = ",".join([
        f"file={_property(workspace_path(f.path))}", f"line={f.line}", f"col={f.column}",
        f"endLine={f.end_line}", f"endColumn={f.end_column}", f"title={_property(f.code)}"])
    return f"::{_LEVEL[f.severity]} {props}::{_data(_text(f))}"


def _error_annotation(e: ErrorEntry) -> str:
    target = f" file={_property(workspace_path(e.path))}," if e.path else " "
    return f"::error{target}title={_property('cnnlint ' + e.kind)}::{_data(e.message)}"


def _plain(f: Finding) -> str:
    return f"{workspace_path(f.path)}:{f.line}:{f.column}: {f.code} [{f.severity}] {_text(f)}"


def _by_severity(findings: list[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; the run's order within each."""
    rank = {severity: i for i, severity in enumerate(reversed(SEVERITIES))}
    return sorted(findings, key=lambda f: rank[f.severity])


def not_shown(findings: list[Finding], errors: list[ErrorEntry]) -> int:
    """How many annotations GitHub would not show: what is past the limit of each level
    (the run's errors are error annotations too)."""
    counts = {level: 0 for level in _LEVEL.values()}
    counts["error"] += len(errors)
    for f in findings:
        counts[_LEVEL[f.severity]] += 1
    return sum(max(0, count - PER_LEVEL) for count in counts.values())


def render(findings: list[Finding], errors: list[ErrorEntry], files: int, **_: object) -> str:
    shown = {level: 0 for level in _LEVEL.values()}
    lines, cut = [], []
    for e in errors:  # the reason for exit code 2 comes first
        if shown["error"] < PER_LEVEL:
            shown["error"] += 1
            lines.append(_error_annotation(e))
        else:
            cut.append(f"{workspace_path(e.path) or '<run>'}: error ({e.kind}): {e.message}")
    for f in _by_severity(findings):
        level = _LEVEL[f.severity]
        if shown[level] < PER_LEVEL:
            shown[level] += 1
            lines.append(_annotation(f))
        else:
            cut.append(_plain(f))
    if cut:
        lines += cut
        lines.append(f"cnnlint: {len(cut)} more not shown as annotations (GitHub shows "
                     f"{PER_LEVEL} of each level per step); they are the lines above"
                     + (" and in the job summary" if os.environ.get("GITHUB_STEP_SUMMARY")
                        else ""))
    return "\n".join(lines) + ("\n" if lines else "")


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, no column breaks, no HTML. `<` is escaped
    only outside `code spans`, where an entity would show as typed; `\\|` works in both."""
    parts = " ".join(text.split()).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;")
                    for i, part in enumerate(parts))


def step_summary(findings: list[Finding], errors: list[ErrorEntry], files: int) -> str:
    """The Markdown appended to GITHUB_STEP_SUMMARY: every finding in a table (up to what
    GitHub accepts) and how many annotations were not shown."""
    counts = summary(findings, errors, files)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
             for s in ("error", "warning", "info")]
    out = ["## cnnlint", "",
           f"{len(findings)} finding{'s' if len(findings) != 1 else ''} "
           f"({', '.join(parts)}) in {files} file{'s' if files != 1 else ''}.", ""]
    hidden = not_shown(findings, errors)
    out += [f"{hidden} annotation{'s were' if hidden != 1 else ' was'} not shown: GitHub shows "
            f"at most {PER_LEVEL} errors, {PER_LEVEL} warnings and {PER_LEVEL} notices per "
            "step." if hidden else "Every finding is shown as an annotation.", ""]
    if errors:
        out += ["Errors (exit code 2):", ""]
        out += [f"- {_cell(f'`{workspace_path(e.path)}`' if e.path else 'the run')} "
                f"({e.kind}): {_cell(e.message)}" for e in errors]
        out.append("")
    if findings:
        out += ["| Severity | Rule | Location | Message |", "|---|---|---|---|"]
        size = sum(len(line) + 1 for line in out)
        ordered = _by_severity(findings)
        for i, f in enumerate(ordered):
            row = (f"| {f.severity} | {f.code} `{f.name}` | "
                   f"`{_cell(workspace_path(f.path))}:{f.line}:{f.column}` | "
                   f"{_cell(_detail(f))} |")
            if size + len(row.encode()) > SUMMARY_BUDGET:
                out += ["", f"{len(ordered) - i} more findings are left out: GitHub accepts "
                            "at most 1 MiB of summary per step (the log has them all)."]
                break
            out.append(row)
            size += len(row.encode()) + 1
    return "\n".join(out) + "\n\n"
