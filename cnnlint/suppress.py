"""`# noqa` comments: per line (`# noqa`, `# noqa: CNN101, deep-plain-stack`) and file-wide
(`# cnnlint: noqa`, `# cnnlint: noqa: CNN101`).

Codes that are not cnnlint's (E501, F401) may share the comment; they are ignored here.
The comment is found by a regular expression on each line, as flake8 once did, so a
"# noqa" inside a string literal on the same line also counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ALL = frozenset({"*"})

_LINE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[\w\-]+(?:[,\s]+[\w\-]+)*))?", re.IGNORECASE)
_FILE = re.compile(r"#\s*cnnlint:\s*noqa(?::\s*(?P<codes>[\w\-]+(?:[,\s]+[\w\-]+)*))?",
                   re.IGNORECASE)


@dataclass
class Suppressions:
    lines: dict[int, frozenset[str]] = field(default_factory=dict)  # 1-based line -> selectors
    file: frozenset[str] = frozenset()

    def suppresses(self, line: int, end_line: int, code: str, name: str) -> bool:
        if _covers(self.file, code, name):
            return True
        return any(_covers(self.lines.get(n, frozenset()), code, name)
                   for n in range(line, max(line, end_line) + 1))


def _covers(selectors: frozenset[str], code: str, name: str) -> bool:
    return bool(selectors) and ("*" in selectors or code in selectors or name in selectors)


def _selectors(text: str | None) -> frozenset[str]:
    if not text:
        return ALL
    return frozenset(s.upper() if s.upper().startswith("CNN") else s.lower()
                     for s in re.split(r"[,\s]+", text) if s)


def parse(lines: list[str]) -> Suppressions:
    found = Suppressions()
    file_codes: set[str] = set()
    for number, text in enumerate(lines, start=1):
        if "noqa" not in text and "NOQA" not in text.upper():
            continue
        file_match = _FILE.search(text)
        if file_match:
            file_codes |= _selectors(file_match.group("codes"))
            continue
        match = _LINE.search(text)
        if match:
            found.lines[number] = _selectors(match.group("codes"))
    found.file = frozenset(file_codes)
    return found
