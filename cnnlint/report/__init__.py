"""Reporters only format: each takes a run's findings and errors and returns text."""

from __future__ import annotations

from collections import Counter
from typing import Callable

from cnnlint.findings import SEVERITIES, ErrorEntry, Finding

FORMATS = ("text", "json", "sarif", "github")


def summary(findings: list[Finding], errors: list[ErrorEntry], files: int) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {"files": files, "findings": len(findings),
            **{s: counts.get(s, 0) for s in reversed(SEVERITIES)}, "errors": len(errors)}


def get(fmt: str) -> Callable[..., str]:
    """The renderer for `fmt`; only its module is imported."""
    from importlib import import_module

    name = fmt if fmt in ("json", "sarif", "github") else "text"
    render: Callable[..., str] = import_module(f"cnnlint.report.{name}").render
    return render
