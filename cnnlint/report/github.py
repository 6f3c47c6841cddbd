"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request."""

from __future__ import annotations

from cnnlint.findings import ErrorEntry, Finding

_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding], errors: list[ErrorEntry], files: int, **_: object) -> str:
    lines = []
    for f in findings:
        props = ",".join([
            f"file={_property(f.path)}", f"line={f.line}", f"col={f.column}",
            f"endLine={f.end_line}", f"endColumn={f.end_column}",
            f"title={_property(f.code)}"])
        text = f"{f.name}: {f.message} ({f.hint})"
        lines.append(f"::{_LEVEL[f.severity]} {props}::{_data(text)}")
    for e in errors:
        target = f" file={_property(e.path)}," if e.path else " "
        lines.append(f"::error{target}title={_property('cnnlint ' + e.kind)}::{_data(e.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
