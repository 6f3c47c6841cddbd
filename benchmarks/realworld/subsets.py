"""The subset invariant on public repositories: what `cnnlint FILE` reports is what
`cnnlint .` reports in FILE or with its other end there, for every Python file of each
repository.

    python benchmarks/realworld/subsets.py --repos DIR [--max-files 25] [--only NAME ...]

DIR and the checkouts are as for score.py. Each repository of manifest.toml with at most
`--max-files` Python files is linted whole, then one file at a time, in this process (the
engine's API, all rules, no cache); every file whose findings differ is listed with the
findings missing or extra (code, path, line, column, severity, message, other ends). The
exit status is 1 when any file differs. It takes a while: one lint per file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from score import check_out, git_dir, read_manifest

Row = tuple[str, str, int, int, str, str, tuple[tuple[str, int], ...]]


def lint_rows(paths: list[str]) -> list[Row]:
    from cnnlint.config import Flags, build_settings
    from cnnlint.engine import lint
    from cnnlint.rule import load_rules

    rules = load_rules()
    result = lint(paths, build_settings(paths, Flags(select=["ALL"]), rules), rules)
    return sorted((f.code, f.path, f.line, f.column, f.severity, f.message,
                   tuple((r.path, r.line) for r in f.related)) for f in result.findings)


def differences(folder: Path) -> tuple[int, int, list[str]]:
    """(files, findings of the whole, a report line per difference) for one checkout."""
    os.chdir(folder)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.py"))
    whole = lint_rows(["."])
    report = []
    for name in files:
        alone = lint_rows([name])
        expected = [row for row in whole
                    if row[1] == name or any(path == name for path, _ in row[6])]
        if alone != expected:
            report.append(f"  {name}")
            report.extend(f"    missing {row}" for row in expected if row not in alone)
            report.extend(f"    extra   {row}" for row in alone if row not in expected)
    return len(files), len(whole), report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", required=True, type=Path,
                        help="the folder of fetched repositories")
    parser.add_argument("--max-files", type=int, default=25,
                        help="skip repositories with more Python files than this")
    parser.add_argument("--only", nargs="*", default=None, help="these repositories only")
    args = parser.parse_args()
    start, checked, failing = os.getcwd(), 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for entry in read_manifest():
            name = str(entry["name"])
            if args.only and name not in args.only:
                continue
            git = git_dir(args.repos, str(entry["github"]), name)
            if git is None:
                continue
            folder = Path(tmp) / name
            check_out(git, str(entry["commit"]), folder)
            count = sum(1 for _ in folder.rglob("*.py"))
            if not count or count > args.max_files:
                continue
            files, found, report = differences(folder)
            os.chdir(start)
            checked += 1
            failing += bool(report)
            print(f"{name}: {files} files, {found} findings, "
                  f"{'files differ' if report else 'every file agrees'}", flush=True)
            for line in report:
                print(line, flush=True)
    print(f"{checked} repositories checked, {failing} with a file that differs")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
