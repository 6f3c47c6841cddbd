"""SARIF 2.1.0 for code scanning (GitHub's upload-sarif, and other SARIF viewers).

What a viewer needs to place a result, whatever folder cnnlint ran from:

- **Paths** are relative to the project root (`cnnlint.project.find_root`), percent-encoded,
  against the base `%SRCROOT%`, which `originalUriBaseIds` gives as that root's file URI. A
  file outside the root gets its absolute file URI.
- **Columns** are counted in UTF-16 code units (`columnKind`), as SARIF viewers count them:
  a character outside the Basic Multilingual Plane (an emoji) before a finding is two.
- **Fingerprints** tell a result from every other and stay the same when code moves: the
  rule, the file, the flagged line's text with its spacing normalised, and which
  occurrence of that triple it is.
- **Help**: each rule's documentation, and a `helpUri` to its section of the reference.
- **Cross-file findings** carry their other end as `relatedLocations`, linked from the
  message (code scanning shows a related location only through such a link).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from cnnlint import __version__
from cnnlint.docs import docs_base, help_uri
from cnnlint.findings import ErrorEntry, Finding, Related
from cnnlint.rule import Rule

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
ROOT_BASE = "%SRCROOT%"
FINGERPRINT = "cnnlint/v2"

LineText = Callable[[str, int], str]


def _no_text(path: str, line: int) -> str:
    return ""


class Places:
    """Artifact locations and regions, relative to the project root."""

    def __init__(self, root: str | None, line_text: LineText) -> None:
        self.root = os.path.abspath(root) if root else None
        self.line_text = line_text

    def root_uri(self) -> str | None:
        if self.root is None:
            return None
        uri = Path(self.root).as_uri()
        return uri if uri.endswith("/") else uri + "/"  # a base must end in a slash

    def uri(self, path: str) -> tuple[str, bool]:
        """(URI, whether it is relative to the root)."""
        absolute = os.path.abspath(path)
        if self.root is not None:
            try:
                relative = os.path.relpath(absolute, self.root)
            except ValueError:  # another drive
                relative = os.pardir
            if relative != os.pardir and not relative.startswith(os.pardir + os.sep):
                return quote(Path(relative).as_posix(), safe="/"), True
        return Path(absolute).as_uri(), False

    def artifact(self, path: str) -> dict[str, str]:
        uri, relative = self.uri(path)
        return {"uri": uri, "uriBaseId": ROOT_BASE} if relative else {"uri": uri}

    def region(self, path: str, line: int, column: int, end_line: int,
               end_column: int) -> dict[str, int]:
        return {"startLine": line, "startColumn": self.utf16(path, line, column),
                "endLine": end_line, "endColumn": self.utf16(path, end_line, end_column)}

    def utf16(self, path: str, line: int, column: int) -> int:
        """A 1-based column in characters as a 1-based column in UTF-16 code units."""
        before = self.line_text(path, line)[:column - 1]
        return column + sum(1 for char in before if ord(char) > 0xFFFF)

    def physical(self, path: str, line: int, column: int, end_line: int,
                 end_column: int) -> dict[str, Any]:
        return {"artifactLocation": self.artifact(path),
                "region": self.region(path, line, column, end_line, end_column)}


def _escape(text: str) -> str:
    """Plain message text in which `[` and `]` are literal, not embedded links."""
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _message(finding: Finding) -> str:
    links = "".join(f" See [{_escape(r.message)}]({i})." for i, r in enumerate(finding.related))
    return f"{_escape(_sentence(finding.message))}{links} {_escape(_sentence(finding.hint))}"


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


class Fingerprints:
    """`cnnlint/v2`: a hash of rule, root-relative file and the flagged line's text (spacing
    normalised), then the occurrence of that triple in the file: results on identical lines
    differ, and none depends on line numbers or on the folder cnnlint ran from."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, code: str, uri: str, line_text: str) -> str:
        content = " ".join(line_text.split())
        digest = hashlib.sha256(f"{code}\0{uri}\0{content}".encode()).hexdigest()[:32]
        occurrence = self.seen.get(digest, 0)
        self.seen[digest] = occurrence + 1
        return f"{digest}:{occurrence}"


def _related(places: Places, related: tuple[Related, ...]) -> list[dict[str, Any]]:
    return [{"id": i,
             "physicalLocation": places.physical(r.path, r.line, r.column, r.end_line,
                                                 r.end_column),
             "message": {"text": r.message}} for i, r in enumerate(related)]


def _rule_entry(rule: type[Rule], docs: str) -> dict[str, Any]:
    text = rule.documentation()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": text.split("\n\n")[0] if text else rule.summary},
        "help": {"text": text or rule.summary, "markdown": text or rule.summary},
        "helpUri": help_uri(rule, docs),
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": [rule.name]},
    }


def render(findings: list[Finding], errors: list[ErrorEntry], files: int, *,
           rules: dict[str, type[Rule]] | None = None, notes: list[str] | None = None,
           root: str | None = None, line_text: LineText | None = None,
           docs_url: str | None = None, **_: object) -> str:
    """`root`: the project root the paths are relative to (None: absolute file URIs);
    `line_text(path, line)`: a line's text, for columns and fingerprints; `docs_url`: the
    configured rule reference (see `cnnlint.docs.docs_base`)."""
    rules = rules or {}
    places = Places(root, line_text or _no_text)
    fingerprint = Fingerprints()
    fired = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(fired)}
    results = []
    for f in findings:
        uri, _relative = places.uri(f.path)
        result: dict[str, Any] = {
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _LEVEL[f.severity],
            "message": {"text": _message(f)},
            "locations": [{
                "physicalLocation": places.physical(f.path, f.line, f.column, f.end_line,
                                                    f.end_column),
                "logicalLocations": [{"name": f.symbol}] if f.symbol else [],
            }],
            "partialFingerprints": {
                FINGERPRINT: fingerprint(f.code, uri, places.line_text(f.path, f.line))},
        }
        if f.related:
            result["relatedLocations"] = _related(places, f.related)
        results.append(result)
    notifications = [{
        "level": "error",
        "message": {"text": f"{e.kind}: {e.message}"},
        **({"locations": [{"physicalLocation": {"artifactLocation": places.artifact(e.path)}}]}
           if e.path else {}),
    } for e in errors]
    # What --trace traced and how (and, verbose, what was read only partially).
    notifications += [{"level": "note", "message": {"text": note}} for note in notes or ()]
    docs = docs_base(docs_url)
    driver_rules = [_rule_entry(rules[code], docs) if code in rules else
                    {"id": code, "shortDescription": {"text": code}} for code in fired]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "cnnlint", "version": __version__, "rules": driver_rules}},
        "invocations": [{
            "executionSuccessful": not errors,
            "toolExecutionNotifications": notifications,
        }],
        "columnKind": "utf16CodeUnits",
        "results": results,
    }
    root_uri = places.root_uri()
    if root_uri is not None:
        run["originalUriBaseIds"] = {ROOT_BASE: {"uri": root_uri}}
    document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"
