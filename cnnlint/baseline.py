"""Baselines: record today's findings so a gate only fails on new ones.

A finding is keyed by its file, rule, symbol and the text of its source line, not by its line
number, so code that moves a few lines keeps its baseline entry. The same key may occur more
than once (two identical layers); the baseline stores a count.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from typing import Callable, Iterable

from cnnlint.findings import Finding

VERSION = 1


class BaselineError(Exception):
    pass


def fingerprint(finding: Finding, line_text: str, base_dir: str) -> str:
    """Paths are taken relative to the baseline's folder, so any working folder will do."""
    path = os.path.relpath(os.path.abspath(finding.path), base_dir).replace(os.sep, "/")
    key = "\0".join((path, finding.code, finding.symbol, line_text.strip()))
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def write(path: str, findings: Iterable[Finding], line_of: Callable[[Finding], str]) -> int:
    base_dir = os.path.dirname(os.path.abspath(path))
    counts = Counter(fingerprint(f, line_of(f), base_dir) for f in findings)
    entries = [{"fingerprint": k, "count": n} for k, n in sorted(counts.items())]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"version": VERSION, "findings": entries}, handle, indent=1)
        handle.write("\n")
    return sum(counts.values())


def read(path: str) -> Counter[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION \
            or not isinstance(data.get("findings"), list):
        raise BaselineError(f"baseline {path} is not a cnnlint baseline (version {VERSION})")
    counts: Counter[str] = Counter()
    for entry in data["findings"]:
        if isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str):
            counts[entry["fingerprint"]] += int(entry.get("count", 1))
    return counts


def filter_new(findings: list[Finding], path: str,
               line_of: Callable[[Finding], str]) -> list[Finding]:
    """The findings the baseline at `path` does not already hold."""
    remaining = read(path)
    base_dir = os.path.dirname(os.path.abspath(path))
    new = []
    for finding in findings:
        key = fingerprint(finding, line_of(finding), base_dir)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            new.append(finding)
    return new
