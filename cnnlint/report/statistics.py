"""`--statistics`: how many findings each rule has, most frequent first, instead of the
findings themselves (as `ruff check --statistics` prints them)."""

from __future__ import annotations

import json
from collections import Counter

from cnnlint.findings import ErrorEntry, Finding


_SEVERITIES = ("error", "warning", "info")


def counts(findings: list[Finding]) -> list[tuple[str, str, dict[str, int], int]]:
    """One row per rule, (code, name, count by severity, count), most frequent first, then
    by code: a rule whose findings differ in severity (CNN201's error below batch 4) is one
    row."""
    tally: dict[tuple[str, str], Counter[str]] = {}
    for f in findings:
        tally.setdefault((f.code, f.name), Counter())[f.severity] += 1
    rows = [(code, name, {s: by[s] for s in _SEVERITIES if by[s]}, sum(by.values()))
            for (code, name), by in tally.items()]
    return sorted(rows, key=lambda row: (-row[3], row[0]))


def _severity(by: dict[str, int]) -> str:
    """`warning`, or `error 4, warning 2` for a rule with findings of several."""
    return next(iter(by)) if len(by) == 1 else ", ".join(f"{s} {n}" for s, n in by.items())


def render(findings: list[Finding], errors: list[ErrorEntry], fmt: str = "text") -> str:
    rows = counts(findings)
    if fmt == "json":
        return json.dumps([{"code": c, "name": n, "severity": next(iter(by)), "count": k,
                            "by_severity": by} for c, n, by, k in rows], indent=2) + "\n"
    width = max((len(str(k)) for *_, k in rows), default=1)
    lines = [f"{k:>{width}}\t{c}\t{n} [{_severity(by)}]" for c, n, by, k in rows]
    lines.extend(f"{e.path or '<run>'}: error ({e.kind}): {e.message}" for e in errors)
    return "\n".join(lines) + "\n" if lines else ""
