"""What a model, a training pass or a script's loading wrote into the state that loaded
modules hold, kept so that it can be put back.

Every model and every pass starts from the module state loading left: a model's code that
fills a module-level cache, or a script that sets `cfg.lr = 5.0` on a configuration object
another module holds, must not change how the next model or script reads (Python would run
each script in a process of its own, whichever models a run reads, in whatever order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Journal:
    # id -> (the table, a shallow copy of its content before the first write since then)
    saves: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    # Tables stored into the journalled ones since then (a new list under a key of a
    # module-level dict): putting the writes back makes them unreachable.
    adopted: set[int] = field(default_factory=set)

    def keep(self, table: Any) -> None:
        """Before a write into `table`: its content, the first time."""
        key = id(table)
        if key not in self.saves:
            self.saves[key] = (table, type(table)(table))

    def put_back(self, module_tables: set[int]) -> None:
        """Every journalled table as it was; the adopted ones leave `module_tables` (their
        ids may be reused by unrelated objects once nothing holds them)."""
        for table, before in self.saves.values():
            restore(table, before)
        module_tables -= self.adopted
        self.saves = {}
        self.adopted = set()

    def revert(self, into: Journal) -> int:
        """Every table saved here as it was before these writes, while the writes stay
        (another run's state is left out for a while): the present content is kept in
        `into` first, which puts it back. How many tables changed."""
        for table, before in self.saves.values():
            into.keep(table)
            restore(table, before)
        return len(self.saves)


def restore(table: Any, content: Any) -> None:
    """Give a list, dict or set (a configuration tree, an object's attributes) this content
    again, in place: whatever holds it sees the change."""
    if type(table) is list:
        table[:] = content
    else:
        table.clear()
        table.update(content)
