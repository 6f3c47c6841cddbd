"""The records a run produces: findings (about the user's code) and errors (about the run)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

# Ordered from least to most severe; `--fail-on` compares by this order.
SEVERITIES = ("info", "warning", "error")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Loc:
    """A source range: 1-based lines and 1-based columns, like ruff and flake8 print them."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: str
    message: str
    hint: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    symbol: str

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.path, self.line, self.column, self.code, self.message)

    def with_path(self, path: str) -> Finding:
        return replace(self, path=path)


@dataclass(frozen=True)
class ErrorEntry:
    """Something that stopped cnnlint from analysing a file or running a rule."""

    path: str
    kind: str  # read | internal | config | trace | ...
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "kind": self.kind, "message": self.message}
