"""The records a run produces: findings (about the user's code) and errors (about the run)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

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
class Related:
    """The other end of a cross-file finding: the model a script trains, the softmax in the
    model a loss receives, the optimizer that holds the weight decay."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    cell: int | None = None  # in a notebook: the cell (as Jupyter lists them) `line` is in

    @classmethod
    def at(cls, loc: Loc, message: str) -> Related:
        return cls(loc.path, loc.line, loc.column, loc.end_line, loc.end_column, message)

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def where(self) -> str:
        return _where(self.path, self.cell, self.line, self.column)


def _where(path: str, cell: int | None, line: int, column: int) -> str:
    return f"{path}:cell {cell}:{line}:{column}" if cell else f"{path}:{line}:{column}"


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
    related: tuple[Related, ...] = ()
    # In a notebook, the cell, counted from 1 as Jupyter lists them (markdown cells too);
    # `line` and `end_line` are then lines of that cell, as Jupyter numbers them.
    cell: int | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["related"] = [r.to_dict() for r in self.related]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Finding:
        values: dict[str, Any] = dict(data)
        related = values.pop("related", ())
        return cls(**values, related=tuple(Related(**r) for r in related))

    def touches(self, paths: set[str] | frozenset[str]) -> bool:
        """Located in one of `paths`, or with its other end there."""
        return self.path in paths or any(r.path in paths for r in self.related)

    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        return (self.path, self.cell or 0, self.line, self.column, self.code, self.message)

    @property
    def where(self) -> str:
        """`path:line:col`, or `path:cell N:line:col` in a notebook (as ruff prints it)."""
        return _where(self.path, self.cell, self.line, self.column)


@dataclass(frozen=True)
class ErrorEntry:
    """Something that stopped cnnlint from analysing a file or running a rule."""

    path: str
    kind: str  # read | internal | config | trace | ...
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "kind": self.kind, "message": self.message}


class SlotLoc:
    """A source range known by its node's slot in the file's span table. The table is not
    kept with the cached facts (a re-parse, when a run did not keep it), so it is computed
    (by `cnnlint.locate.Locator`) only when a location is actually read: for the few files
    that have findings."""

    # Graph nodes are keyed by their location while models are built (hundreds of thousands
    # of lookups in a model zoo): the hash is worked out once.
    __slots__ = ("path", "slot", "_locator", "_span", "_hash")

    def __init__(self, path: str, slot: int, locator: object) -> None:
        self.path = path
        self.slot = slot
        self._locator = locator
        self._span: tuple[int, int, int, int] | None = None
        self._hash = hash((path, slot))

    def _resolved(self) -> tuple[int, int, int, int]:
        if self._span is None:
            found = self._locator.span(self.path, self.slot)  # type: ignore[attr-defined]
            self._span = found if found else (1, 1, 1, 1)
        return self._span

    @property
    def line(self) -> int:
        return self._resolved()[0]

    @property
    def column(self) -> int:
        return self._resolved()[1]

    @property
    def end_line(self) -> int:
        return self._resolved()[2]

    @property
    def end_column(self) -> int:
        return self._resolved()[3]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlotLoc) and (other.path, other.slot) == (self.path, self.slot)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"SlotLoc({self.path!r}, slot {self.slot})"
