"""`--statistics`: how many findings each rule has, most frequent first, instead of the
findings themselves (as `ruff check --statistics` prints them)."""

from __future__ import annotations

import json
from collections import Counter

from cnnlint.findings import ErrorEntry, Finding


def counts(findings: list[Finding]) -> list[tuple[str, str, str, int]]:
    """(code, name, severity, count), most frequent first, then by code."""
    tally = Counter((f.code, f.name, f.severity) for f in findings)
    return sorted(((code, name, severity, n) for (code, name, severity), n in tally.items()),
                  key=lambda row: (-row[3], row[0]))


def render(findings: list[Finding], errors: list[ErrorEntry], fmt: str = "text") -> str:
    rows = counts(findings)
    if fmt == "json":
        return json.dumps([{"code": c, "name": n, "severity": s, "count": k}
                           for c, n, s, k in rows], indent=2) + "\n"
    width = max((len(str(k)) for *_, k in rows), default=1)
    lines = [f"{k:>{width}}\t{c}\t{n} [{s}]" for c, n, s, k in rows]
    lines.extend(f"{e.path or '<run>'}: error ({e.kind}): {e.message}" for e in errors)
    return "\n".join(lines) + "\n" if lines else ""
