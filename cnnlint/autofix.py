"""Autofixes: offered by each lint run, applied by `--fix`, shown by `--diff`.

A rule builds a `cnnlint.fix.Fix` (libcst node edits) for a finding; this module decides
which fixes run together, applies them to each file's tree as one transformation, checks
that the new text parses, and writes it only when the file still holds the bytes that were
read. Nothing here imports or runs the linted code.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import libcst as cst

from cnnlint.notebook import is_notebook
from cnnlint.sources import ReadError, read_bytes
from cnnlint.findings import Finding
from cnnlint.fix import SAFE, Edit, Fix, FixContext, SourceFile

if TYPE_CHECKING:
    from cnnlint.engine import Result
    from cnnlint.rule import Rule

# --fix lints again after writing, as ruff does: a fix that had to wait for another (both
# edit one call) gets its turn on the new text. Real code settles in two or three passes.
MAX_PASSES = 10


def offer(result: Result, rules: list[Rule]) -> None:
    """Ask each finding's rule for a fix; fill `result.fixes` and `result.fixable`. A rule
    that fails to build a fix offers none, and --verbose says so."""
    by_code = {rule.code: rule for rule in rules if rule.fix_safety is not None}
    # A notebook is read as its cells joined: its JSON is never rewritten.
    wanted = [f for f in result.findings if f.code in by_code and not is_notebook(f.path)]
    if not wanted:
        return
    models = result.read_models if result.read_models is not None else result.models
    context = FixContext(models=models, runs=result.runs,
                         analysed={path: facts.lines for path, facts in result.facts.items()})
    result.fix_context = context
    for finding in wanted:
        rule = by_code[finding.code]
        try:
            fix = rule.autofix(finding, context)
        except Exception as exc:  # a bug in one fix must not stop the run
            result.context_notes.append(
                f"{finding.path}:{finding.line}: {finding.code} fix not offered: "
                f"{type(exc).__name__}: {exc}")
            continue
        if fix is not None and fix.edits \
                and not any(is_notebook(edit.path) for edit in fix.edits):
            result.fixes[finding] = fix
            result.fixable[finding] = rule.fix_safety  # type: ignore[assignment]


def allowed(safety: str, unsafe: bool) -> bool:
    return safety == SAFE or unsafe


@dataclass
class Change:
    """One file's new text, and the findings whose fixes made it."""

    source: SourceFile
    new_text: str
    fixed: list[Finding]

    @property
    def path(self) -> str:
        return self.source.path

    def diff(self) -> str:
        lines = difflib.unified_diff(self.source.text.splitlines(keepends=True),
                                     self.new_text.splitlines(keepends=True),
                                     fromfile=self.path, tofile=self.path)
        out = []
        for line in lines:
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass
class Applied:
    changes: list[Change] = field(default_factory=list)
    deferred: list[Finding] = field(default_factory=list)  # overlapped an earlier fix
    warnings: list[str] = field(default_factory=list)


def apply(context: FixContext, chosen: list[tuple[Finding, Fix]]) -> Applied:
    """The new text of each file the chosen fixes edit. Fixes whose edits overlap one taken
    before (the same node, or one inside the other) wait for the next pass; an identical
    edit (two scripts fixing the same softmax in one model) is made once."""
    out = Applied()
    taken: dict[str, list[Edit]] = {}
    fixed_by: dict[str, list[Finding]] = {}
    for finding, fix in chosen:
        if any(_clash(context, edit, taken.get(edit.path, ())) for edit in fix.edits):
            out.deferred.append(finding)
            continue
        for edit in fix.edits:
            if not any(_same(edit, other) for other in taken.get(edit.path, ())):
                taken.setdefault(edit.path, []).append(edit)
        for path in dict.fromkeys(edit.path for edit in fix.edits):
            fixed_by.setdefault(path, []).append(finding)
    for path, edits in taken.items():
        source = context.files.get(path)
        if source is None:  # pragma: no cover - an edit always comes from a parsed file
            continue
        try:
            new_text = source.module.visit(_Replace(edits)).code
            ast.parse(new_text)  # parses only; the code is never run
        except (SyntaxError, ValueError, RecursionError, TypeError, cst.CSTValidationError) as exc:
            out.warnings.append(f"{path}: not fixed: the fix did not produce valid code "
                                f"({type(exc).__name__}: {exc})")
            continue
        if new_text != source.text:
            out.changes.append(Change(source, new_text, fixed_by[path]))
    return out


def _clash(context: FixContext, edit: Edit, taken: object) -> bool:
    source = context.files.get(edit.path)
    if source is None:  # pragma: no cover - an edit always comes from a parsed file
        return True
    lineage = {id(edit.old), *(id(a) for a in source.ancestors(edit.old))}
    for other in taken:  # type: ignore[attr-defined]
        if _same(edit, other):
            continue
        if id(other.old) in lineage or id(edit.old) in {id(a) for a in
                                                        source.ancestors(other.old)}:
            return True
    return False


def _same(edit: Edit, other: Edit) -> bool:
    if edit.old is not other.old:
        return False
    if isinstance(edit.new, cst.CSTNode) and isinstance(other.new, cst.CSTNode):
        return edit.new.deep_equals(other.new)
    return edit.new is other.new


class _Replace(cst.CSTTransformer):
    def __init__(self, edits: list[Edit]) -> None:
        super().__init__()
        self.edits = {id(edit.old): edit.new for edit in edits}

    # Any: libcst types this hook with a type variable per node class.
    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        return self.edits.get(id(original_node), updated_node)


def write(change: Change) -> str | None:
    """Write a change in place; a warning instead when the file changed since it was read
    or cannot be written. The new text goes to a temporary file beside the original, which
    then replaces it in one step, so a failure never leaves a half-written file."""
    path = os.path.realpath(change.path)  # a symlink keeps pointing at the fixed file
    try:
        current = read_bytes(path)
    except ReadError as exc:
        return f"{change.path}: not fixed: {exc}"
    if current != change.source.data:
        return f"{change.path}: not fixed: the file changed since cnnlint read it"
    try:
        data = _encode_like(change.source.data, change.new_text)
    except (UnicodeEncodeError, LookupError) as exc:
        return f"{change.path}: not fixed: the fixed text cannot be encoded ({exc})"
    folder, name = os.path.split(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".cnnlint-fix", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        os.replace(temporary, path)
    except OSError as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return f"{change.path}: not fixed: cannot write it ({exc.strerror or exc})"
    return None


_BOM = b"\xef\xbb\xbf"
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _encode_like(original: bytes, text: str) -> bytes:
    """Encode as the file was: a UTF-8 BOM, a PEP 263 coding line, else UTF-8."""
    if original.startswith(_BOM):
        return _BOM + text.encode("utf-8")
    for line in original.splitlines()[:2]:
        match = _CODING.match(line)
        if match:
            return text.encode(match.group(1).decode("ascii"))
    return text.encode("utf-8")


# --- the command line's fix loop and its summary lines -------------------------------------


@dataclass
class Outcome:
    result: Result
    findings: list[Finding]  # what remains to report
    fixed: int = 0  # findings whose fix was written (or, with --diff, would be)
    diff: str = ""
    deferred: int = 0
    warnings: list[str] = field(default_factory=list)


def run(result: Result, lint: Callable[[], Result], report: Callable[[Result], list[Finding]],
        unsafe: bool, dry_run: bool) -> Outcome:
    """From a first lint `result`: apply the fixes the options allow, lint again, until
    nothing more is fixed. `report` picks the findings the run reports (a baseline may hide
    some: those are not fixed). `dry_run` (--diff): one pass, nothing written, the diff
    kept."""
    outcome = Outcome(result, report(result))
    for _ in range(1 if dry_run else MAX_PASSES):
        chosen = [(f, outcome.result.fixes[f]) for f in outcome.findings
                  if f in outcome.result.fixes and allowed(outcome.result.fixable[f], unsafe)]
        if not chosen or outcome.result.fix_context is None:
            break
        applied = apply(outcome.result.fix_context, chosen)
        outcome.warnings.extend(applied.warnings)
        if dry_run:
            outcome.diff = "".join(change.diff() for change in applied.changes)
            outcome.fixed = len({f for change in applied.changes for f in change.fixed})
            outcome.deferred = len(applied.deferred)
            break
        fixed: set[Finding] = set()
        for change in applied.changes:
            problem = write(change)
            if problem is None:
                fixed.update(change.fixed)
            elif problem not in outcome.warnings:  # a later pass may meet it again
                outcome.warnings.append(problem)
        if not fixed:
            break
        outcome.fixed += len(fixed)
        outcome.result = lint()
        outcome.findings = report(outcome.result)
    return outcome


def mark(findings: list[Finding], fixable: dict[Finding, str], unsafe: bool) -> list[Finding]:
    """The text output's findings, `[*]` before the message of each one `--fix` would fix
    with these options (ruff's mark)."""
    from dataclasses import replace

    return [replace(f, message=f"[*] {f.message}")
            if f in fixable and allowed(fixable[f], unsafe) else f for f in findings]


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 'es' if what.endswith('x') else 's'}"


def available_line(findings: list[Finding], fixable: dict[Finding, str], unsafe: bool,
                   fixing: bool) -> str:
    """How many of `findings` have a fix, and how many more `--unsafe-fixes` enables."""
    usable = sum(1 for f in findings if f in fixable and allowed(fixable[f], unsafe))
    hidden = sum(1 for f in findings if f in fixable and not allowed(fixable[f], unsafe))
    more = f"{_count(hidden, 'hidden fix')} can be enabled with `--unsafe-fixes`"
    if usable:
        flag = "--fix" if not fixing else "--fix again"
        line = f"[*] {usable} fixable with `{flag}`"
        return line + (f" ({more})." if hidden else ".")
    if hidden:
        return f"No fixes available ({more})."
    return ""


def fix_summary(outcome: Outcome, fixable: dict[Finding, str], unsafe: bool) -> list[str]:
    """The closing lines of `--fix`: "Found N findings (M fixed, K remaining).", then what
    more could be fixed."""
    remaining = len(outcome.findings)
    total = remaining + outcome.fixed
    lines = [f"Found {_count(total, 'finding')} ({outcome.fixed} fixed, {remaining} remaining)."]
    more = available_line(outcome.findings, fixable, unsafe, fixing=True)
    return lines + ([more] if more else [])


def diff_summary(outcome: Outcome, unsafe: bool) -> list[str]:
    fixable = outcome.result.fixable
    hidden = sum(1 for f in outcome.findings if f in fixable and not allowed(fixable[f], unsafe))
    more = f" ({_count(hidden, 'hidden fix')} can be enabled with `--unsafe-fixes`)" \
        if hidden else ""
    if not outcome.fixed:
        return [f"No fixes available{more}."]
    lines = [f"Would fix {_count(outcome.fixed, 'finding')}{more}."]
    if outcome.deferred:
        n = outcome.deferred
        lines.append(f"{n} more {'fix edits' if n == 1 else 'fixes edit'} code that another "
                     f"fix edits too: `--fix` applies {'it' if n == 1 else 'them'} in a later "
                     "pass.")
    return lines
