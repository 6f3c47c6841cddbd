"""Reporters only format: each takes a run's findings and errors and returns text."""

from __future__ import annotations

from collections import Counter
from typing import Callable

from cnnlint.findings import SEVERITIES, ErrorEntry, Finding

FORMATS = ("text", "json", "sarif", "github")


def summary(findings: list[Finding], errors: list[ErrorEntry], files: int,
            partly_read: int = 0) -> dict[str, int]:
    """Counts for the closing line; `partly_read`: models of the named files the reader
    could not follow completely (their model rules stayed silent)."""
    counts = Counter(f.severity for f in findings)
    return {"files": files, "findings": len(findings),
            **{s: counts.get(s, 0) for s in reversed(SEVERITIES)}, "errors": len(errors),
            "partly_read": partly_read}


def get(fmt: str) -> Callable[..., str]:
    """The renderer for `fmt`; only its module is imported."""
    if fmt == "json":
        from cnnlint.report.json import render as json_render
        return json_render
    if fmt == "sarif":
        from cnnlint.report.sarif import render as sarif_render
        return sarif_render
    if fmt == "github":
        from cnnlint.report.github import render as github_render
        return github_render
    from cnnlint.report.text import render as text_render
    return text_render
