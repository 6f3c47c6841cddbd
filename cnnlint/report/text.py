"""The default format: `path:line:col: CODE [severity] message`, the hint, then a summary."""

from __future__ import annotations

from cnnlint.findings import ErrorEntry, Finding
from cnnlint.report import summary

_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_BOLD, _DIM, _RESET = "\033[1m", "\033[2m", "\033[0m"


def render(findings: list[Finding], errors: list[ErrorEntry], files: int, *,
           colour: bool = False, notes: list[str] | None = None, partly_read: int = 0,
           fixed: int | None = None, verbose: bool = False, **_: object) -> str:
    """The report; with `fixed` (a `--fix` run), the summary counts what was fixed and what
    remains instead of the severities, as ruff's does."""
    def paint(text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if colour else text

    lines: list[str] = []
    for f in findings:
        where = paint(f"{f.where}:", _BOLD)
        tag = paint(f"{f.code} [{f.severity}]", _COLOURS[f.severity])
        lines.append(f"{where} {tag} {f.message}")
        for r in f.related:
            lines.append(paint(f"    see: {r.where}: {r.message}", _DIM))
        lines.append(paint(f"    hint: {f.hint}", _DIM))
    for e in errors:
        lines.append(f"{e.path or '<run>'}: {paint(f'error ({e.kind})', _COLOURS['error'])}: "
                     f"{e.message}")
    for note in notes or ():
        lines.append(paint(f"note: {note}", _DIM))
    counts = summary(findings, errors, files)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
             for s in ("error", "warning", "info")]
    if fixed is None:
        closing = f"Found {_findings(len(findings))} ({', '.join(parts)}) " \
                  f"in {files} file{'s' if files != 1 else ''}"
    else:
        closing = f"Found {_findings(len(findings) + fixed)} ({fixed} fixed, " \
                  f"{len(findings)} remaining)"
    if errors:
        # (Not "errors": the counts before it are of findings, "0 errors" among them.)
        closing += f"; {len(errors)} file or rule failed (listed above)"
    if partly_read:
        where = "the notes above say where" if verbose else "--verbose says where"
        closing += (f"; {partly_read} model{'s' if partly_read != 1 else ''} only partly "
                    f"read: {where}, --trace reads them")
    lines.append(paint(closing + ".", _BOLD))
    return "\n".join(lines) + "\n"


def _findings(n: int) -> str:
    return f"{n} finding{'s' if n != 1 else ''}"
