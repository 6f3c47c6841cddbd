"""Every rule's VALID and INVALID examples, run through the whole engine."""

from __future__ import annotations

import textwrap

import pytest

from cnnlint.rule import EXAMPLE_MARKER, Example, load_rules

RULES = load_rules()


def _cases(kind: str) -> list[pytest.param]:
    cases = []
    for code, rule in RULES.items():
        for i, example in enumerate(getattr(rule, kind)):
            cases.append(pytest.param(code, example, id=f"{code}-{rule.name}-{kind}{i}"))
    return cases


def _as_files(example: Example) -> dict[str, str]:
    files = example if isinstance(example, dict) else {"model.py": example}
    return {name: textwrap.dedent(src).lstrip("\n") for name, src in files.items()}


def _marked(files: dict[str, str]) -> set[tuple[str, int]]:
    return {(name, number) for name, source in files.items()
            for number, line in enumerate(source.splitlines(), start=1)
            if EXAMPLE_MARKER in line}


@pytest.mark.parametrize("code, example", _cases("valid"))
def test_valid_example_is_not_flagged(lint_tree, code: str, example: Example) -> None:
    result = lint_tree(_as_files(example), select=[code])
    assert result.errors == []
    assert [f for f in result.findings if f.code == code] == []


@pytest.mark.parametrize("code, example", _cases("invalid"))
def test_invalid_example_is_flagged_at_the_marked_line(lint_tree, code: str,
                                                       example: Example) -> None:
    files = _as_files(example)
    expected = _marked(files)
    assert expected, "an INVALID example must mark the flagged line with " + EXAMPLE_MARKER
    result = lint_tree(files, select=[code])
    assert result.errors == []
    got = {(f.path, f.line) for f in result.findings if f.code == code}
    assert got == expected


def test_every_rule_has_three_examples_of_each_kind() -> None:
    for rule in RULES.values():
        assert len(rule.valid) >= 3, rule.name
        assert len(rule.invalid) >= 3, rule.name
