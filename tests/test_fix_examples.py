"""Every rule's `fixed` examples, round-tripped through the whole engine: the fix turns the
flagged source into the expected one, and the rule no longer fires on the result."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cnnlint import autofix
from cnnlint.rule import Example, load_rules

RULES = load_rules()


def _as_files(example: Example) -> dict[str, str]:
    files = example if isinstance(example, dict) else {"model.py": example}
    return {name: textwrap.dedent(src).lstrip("\n") for name, src in files.items()}


def _cases() -> list[pytest.param]:
    return [pytest.param(code, before, after, id=f"{code}-{rule.name}-fixed{i}")
            for code, rule in RULES.items() for i, (before, after) in enumerate(rule.fixed)]


@pytest.mark.parametrize("code, before, after", _cases())
def test_fix_turns_the_example_into_the_fixed_source(lint_tree, tmp_path: Path, code: str,
                                                     before: Example, after: Example) -> None:
    files, expected = _as_files(before), _as_files(after)
    result = lint_tree(files, select=[code], fixes=True)
    assert result.errors == []
    flagged = [f for f in result.findings if f.code == code]
    assert flagged, "a fixed example must be flagged"
    assert all(result.fixable.get(f) == RULES[code].fix_safety for f in flagged)
    applied = autofix.apply(result.fix_context, [(f, result.fixes[f]) for f in flagged])
    assert applied.warnings == [] and applied.deferred == []
    for change in applied.changes:
        assert autofix.write(change) is None
    for name, source in expected.items():
        assert (tmp_path / name).read_text(encoding="utf-8") == source, name
    again = lint_tree(expected, select=[code], fixes=True)
    assert again.errors == []
    assert [f for f in again.findings if f.code == code] == []


def test_fixed_examples_differ_from_their_flagged_source() -> None:
    for rule in RULES.values():
        for before, after in rule.fixed:
            assert _as_files(before) != _as_files(after), rule.name


def test_the_rules_with_fixes_and_their_safety() -> None:
    offered = {code: rule.fix_safety for code, rule in RULES.items() if rule.fix_safety}
    assert offered == {"CNN101": "safe", "CNN102": "unsafe", "CNN206": "unsafe",
                       "CNN210": "unsafe"}
    assert all(not rule.fixed for rule in RULES.values() if rule.fix_safety is None)
