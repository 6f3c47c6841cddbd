"""cnnlint as a flake8 plugin: `flake8` reports the same findings as `cnnlint FILE`, under
the `CNN` prefix, for each file it checks.

Each file is linted with its whole project around it (the scripts that train its models are
read), so cross-file findings such as a BatchNorm model trained at batch 2 in another file
are reported here too. The source is the text flake8 read (its stdin mode included). The
`[tool.cnnlint]` configuration applies, and flake8's own `--select`/`--extend-ignore` and
`# noqa` work on the codes as for any plugin. The cache is used as the command line uses it,
so the project is indexed once, not once per file. Nothing is imported or run.
"""

from __future__ import annotations

import ast
import os
from typing import Any, Iterator

from cnnlint import __version__

Report = tuple[int, int, str, type]


class CnnlintChecker:
    name = "cnnlint"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: list[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[Report]:
        from cnnlint.cache import Cache
        from cnnlint.config import ConfigError, Flags, build_settings
        from cnnlint.engine import lint
        from cnnlint.sources import forget_given_sources, provide_source
        from cnnlint.rule import load_rules

        path = self.filename
        if path in ("-", "stdin") or not path:
            path = "stdin.py"
        rules = load_rules()
        try:
            settings = build_settings([path], Flags(), rules)
        except ConfigError as exc:
            yield 1, 0, f"CNN000 cnnlint configuration error: {exc}", type(self)
            return
        cache = None if os.environ.get("CNNLINT_NO_CACHE") else \
            Cache(Cache.location(None, settings.root))
        provide_source(path, "".join(self.lines).encode("utf-8"))
        try:
            result = lint([path], settings, rules, cache=cache, jobs=1)
        finally:
            forget_given_sources()
        for error in result.errors:
            yield 1, 0, f"CNN000 cnnlint could not check this file: {error.message}", type(self)
        here = os.path.abspath(path)
        for finding in result.findings:
            if os.path.abspath(finding.path) == here:
                yield _report(finding.line, finding.column, finding, "", type(self))
                continue
            # A cross-file finding located in the other file: say it at this file's end.
            for end in finding.related:
                if os.path.abspath(end.path) == here:
                    yield _report(end.line, end.column, finding,
                                  f" (at {finding.path}:{finding.line})", type(self))
                    break


def _report(line: int, column: int, finding: Any, suffix: str, checker: type) -> Report:
    """flake8's tuple: its columns count from 0."""
    return line, max(column - 1, 0), f"{finding.code} {finding.message}{suffix}", checker
