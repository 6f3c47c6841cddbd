"""Rule and verdict options: read-only values with defaults, compared and printed by value."""

from __future__ import annotations

import pytest

from cnnlint.options import RuleOptions


class Thresholds(RuleOptions):
    low: float = 1e-4
    count: int = 8


def test_defaults_replace_equality_and_repr() -> None:
    options = Thresholds()
    assert (options.low, options.count) == (1e-4, 8)
    assert Thresholds.defaults() == {"low": 1e-4, "count": 8}
    changed = options.replace(count=3)
    assert changed.count == 3 and options.count == 8
    assert changed == Thresholds(count=3) and changed != options
    assert hash(changed) == hash(Thresholds(count=3))
    assert repr(changed) == "Thresholds(low=0.0001, count=3)"


def test_read_only_and_checked() -> None:
    options = Thresholds()
    with pytest.raises(AttributeError, match="read-only"):
        options.count = 2  # type: ignore[misc]
    with pytest.raises(TypeError, match="no option `counts`"):
        Thresholds(counts=2)
    with pytest.raises(TypeError, match="needs a default"):
        class Broken(RuleOptions):
            value: int


def test_subclasses_inherit_fields() -> None:
    class More(Thresholds):
        extra: str = "x"

    assert More.defaults() == {"low": 1e-4, "count": 8, "extra": "x"}
    assert More(extra="y").replace(low=1.0) == More(low=1.0, extra="y")
