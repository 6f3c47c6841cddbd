"""Options of rules and probe verdicts: thresholds with documented defaults.

A rule declares them as annotated class attributes with defaults:

    class Options(RuleOptions):
        min_layers: int = 8

Instances are read-only, compare by value and have a stable `repr` (it is part of the run
cache key). This is what a frozen dataclass gives, without generating code: a frozen
dataclass costs about 0.7 ms to create, and every rule module is imported at every start.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RuleOptions:
    _names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(cls.__dict__.get("__annotations__", {}))
        missing = [name for name in own if name not in cls.__dict__]
        if missing:
            raise TypeError(f"{cls.__qualname__}: option `{missing[0]}` needs a default")
        cls._names = tuple(dict.fromkeys(cls._names + own))

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self._names)
        if unknown:
            raise TypeError(f"{type(self).__qualname__} has no option `{sorted(unknown)[0]}`")
        for name in self._names:
            object.__setattr__(self, name, values.get(name, getattr(type(self), name)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"options are read-only (`{name}`)")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._names)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values() == self._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._names)
        return f"{type(self).__qualname__}({inner})"

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {name: getattr(cls, name) for name in cls._names}

    def replace(self, **changes: Any) -> RuleOptions:
        return type(self)(**{**dict(zip(self._names, self._values())), **changes})
