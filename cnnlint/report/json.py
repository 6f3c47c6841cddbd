"""Machine-readable output: `{"version": 1, "findings", "errors", "summary"}`."""

from __future__ import annotations

import json

from cnnlint.findings import ErrorEntry, Finding
from cnnlint.report import summary

VERSION = 1


def render(findings: list[Finding], errors: list[ErrorEntry], files: int, **_: object) -> str:
    document = {
        "version": VERSION,
        "findings": [f.to_dict() for f in findings],
        "errors": [e.to_dict() for e in errors],
        "summary": summary(findings, errors, files),
    }
    return json.dumps(document, indent=2) + "\n"
