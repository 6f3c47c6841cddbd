"""One lint run: paths -> files -> facts -> project -> rules -> suppressions -> result.

The engine never prints and never exits; the CLI decides what to show and the exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from cnnlint import ir, suppress
from cnnlint.config import Settings
from cnnlint.extract.models import build_interp, extract_models
from cnnlint.extract.training import extract_runs
from cnnlint.extract.source import FileFacts, ReadError, analyse_source, read_source
from cnnlint.files import discover, matches
from cnnlint.findings import ErrorEntry, Finding
from cnnlint.rule import Rule


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    errors: list[ErrorEntry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    models: list[ir.Model] = field(default_factory=list)
    facts: dict[str, FileFacts] = field(default_factory=dict)

    def source_line(self, finding: Finding) -> str:
        facts = self.facts.get(finding.path)
        if facts is None or not 0 < finding.line <= len(facts.lines):
            return ""
        return facts.lines[finding.line - 1]

    def notes(self) -> list[str]:
        """"Partially analysed" notes for --verbose."""
        return [f"{m.path}: {m.name}: partially analysed: {'; '.join(m.network.unresolved)}"
                for m in self.models if m.network.unresolved]


def _internal(path: str, what: str, exc: BaseException) -> ErrorEntry:
    return ErrorEntry(path=path, kind="internal",
                      message=f"{what} failed: {type(exc).__name__}: {exc}")


def analyse_file(path: str) -> FileFacts:
    return analyse_source(path, read_source(path))


def lint(paths: list[str], settings: Settings, rules: dict[str, type[Rule]]) -> Result:
    found = discover(paths, settings.exclude, settings.root)
    result = Result(files=found.files, missing=found.missing)
    for path in found.files:
        try:
            result.facts[path] = analyse_file(path)
        except ReadError as exc:
            result.errors.append(ErrorEntry(path=path, kind="read", message=str(exc)))
        except RecursionError:
            result.errors.append(ErrorEntry(
                path=path, kind="read",
                message="the file nests too deeply to analyse (recursion limit)"))
        except Exception as exc:  # a bug in cnnlint must not stop the run
            result.errors.append(_internal(path, "reading the file", exc))
    active = [rules[code](settings.options.get(code)) for code in settings.enabled
              if code in rules]
    findings = _run_rules(active, result)
    result.findings = _suppress(_dedupe(findings), result.facts, settings)
    return result


def _run_rules(active: list[Rule], result: Result) -> list[Finding]:
    findings: list[Finding] = []
    facts = list(result.facts.values())
    for rule in active:
        for file_facts in facts:
            findings.extend(_guard(rule, file_facts.path, rule.check_file, file_facts,
                                   errors=result.errors))
    runs: list[ir.TrainingRun] = []
    try:
        interp = build_interp(f for f in facts if f.syntax_error is None)
        result.models = extract_models(interp, result.errors)
        runs = extract_runs(interp, result.errors)  # type: ignore[arg-type]
    except Exception as exc:  # pragma: no cover - a bug in loading; reported, not raised
        result.errors.append(_internal(facts[0].path if facts else "", "model extraction", exc))
    project = ir.ProjectFacts(models=result.models, paths=list(result.facts), runs=runs)
    for rule in active:
        for model in result.models:
            findings.extend(_guard(rule, model.path, rule.check_model, model, project,
                                   errors=result.errors))
        findings.extend(_guard(rule, "", rule.check_project, project, errors=result.errors))
    return findings


def _guard(rule: Rule, path: str, check: object, *args: object,
           errors: list[ErrorEntry]) -> list[Finding]:
    """Run one rule hook; an exception becomes an `internal` error naming rule and file."""
    try:
        return list(check(*args))  # type: ignore[operator]
    except Exception as exc:
        where = f" on {path}" if path else ""
        errors.append(_internal(path, f"rule {rule.code} ({rule.name}){where}", exc))
        return []


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per rule and place: a layer built in a loop, or a block shared by several
    models, is reported once, at its source."""
    seen: dict[tuple[str, str, int, int], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.code, finding.path, finding.line, finding.column), finding)
    return sorted(seen.values(), key=Finding.sort_key)


def _suppress(findings: list[Finding], facts: dict[str, FileFacts],
              settings: Settings) -> list[Finding]:
    parsed = {path: suppress.parse(f.lines) for path, f in facts.items()}
    kept = []
    for finding in findings:
        noqa = parsed.get(finding.path)
        if noqa is not None and noqa.suppresses(finding.line, finding.end_line, finding.code,
                                                finding.name):
            continue
        if any(finding.code in codes and matches(finding.path, [glob], settings.root)
               for glob, codes in settings.per_file_ignores):
            continue
        kept.append(finding)
    return kept
