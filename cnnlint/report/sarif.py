"""SARIF 2.1.0 for code scanning (GitHub's upload-sarif, and other SARIF viewers)."""

from __future__ import annotations

import json
from typing import Any

from cnnlint import __version__
from cnnlint.findings import ErrorEntry, Finding
from cnnlint.rule import Rule

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _uri(path: str) -> str:
    return path.replace("\\", "/")


def _rule_entry(rule: type[Rule]) -> dict[str, Any]:
    docs = rule.documentation()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": docs.split("\n\n")[0] if docs else rule.summary},
        "help": {"text": docs or rule.summary, "markdown": docs or rule.summary},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"tags": [rule.name]},
    }


def render(findings: list[Finding], errors: list[ErrorEntry], files: int, *,
           rules: dict[str, type[Rule]] | None = None, notes: list[str] | None = None,
           **_: object) -> str:
    rules = rules or {}
    fired = sorted({f.code for f in findings})
    index = {code: i for i, code in enumerate(fired)}
    results = []
    for f in findings:
        results.append({
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _LEVEL[f.severity],
            "message": {"text": f"{f.message}. {f.hint}" if not f.message.endswith(".")
                        else f"{f.message} {f.hint}"},
            "locations": [{
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(f.path), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": f.line, "startColumn": f.column,
                               "endLine": f.end_line, "endColumn": f.end_column},
                },
                "logicalLocations": [{"name": f.symbol}] if f.symbol else [],
            }],
            "partialFingerprints": {"cnnlint/v1": f"{f.code}:{f.path}:{f.symbol}"},
            **({"relatedLocations": [{
                "id": i,
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(r.path), "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": r.line, "startColumn": r.column,
                               "endLine": r.end_line, "endColumn": r.end_column},
                },
                "message": {"text": r.message},
            } for i, r in enumerate(f.related)]} if f.related else {}),
        })
    notifications = [{
        "level": "error",
        "message": {"text": f"{e.kind}: {e.message}"},
        **({"locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(e.path)}}}]}
           if e.path else {}),
    } for e in errors]
    # What --trace traced and how (and, verbose, what was read only partially).
    notifications += [{"level": "note", "message": {"text": note}} for note in notes or ()]
    driver_rules = [_rule_entry(rules[code]) if code in rules else
                    {"id": code, "shortDescription": {"text": code}} for code in fired]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cnnlint",
                "version": __version__,
                "rules": driver_rules,
            }},
            "invocations": [{
                "executionSuccessful": not errors,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    }
    return json.dumps(document, indent=2) + "\n"
