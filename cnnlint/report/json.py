"""Machine-readable output: `{"version": 1, "findings", "errors", "notes", "summary"}`.

`notes` are the lines the text output prints as `note:` (what `--trace` traced and how;
with `--verbose`, what could be read only partially)."""

from __future__ import annotations

import json

from cnnlint.findings import ErrorEntry, Finding
from cnnlint.report import summary

VERSION = 1


def render(findings: list[Finding], errors: list[ErrorEntry], files: int, *,
           notes: list[str] | None = None, partly_read: int = 0, **_: object) -> str:
    document = {
        "version": VERSION,
        "findings": [f.to_dict() for f in findings],
        "errors": [e.to_dict() for e in errors],
        "notes": list(notes or []),
        "summary": summary(findings, errors, files, partly_read),
    }
    return json.dumps(document, indent=2) + "\n"
