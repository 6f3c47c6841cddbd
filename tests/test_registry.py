"""The rule catalogue: unique, documented, and docs/rules.md in step with it."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

from cnnlint.docs import render_rules_md
from cnnlint.options import RuleOptions
from cnnlint.rule import DOC_HEADINGS, RegistryError, Rule, add_rule, load_rules, remove_rule

ROOT = Path(__file__).resolve().parents[1]
RULES = load_rules()


def test_codes_and_names_are_unique_and_well_formed() -> None:
    codes = [r.code for r in RULES.values()]
    names = [r.name for r in RULES.values()]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)
    assert all(c.startswith("CNN") and len(c) == 6 for c in codes)


@pytest.mark.parametrize("code", list(RULES))
def test_every_rule_is_documented(code: str) -> None:
    rule = RULES[code]
    docs = rule.documentation()
    for heading in DOC_HEADINGS:
        assert f"## {heading}" in docs, f"{code} lacks '## {heading}'"
    assert rule.summary and rule.fix
    assert issubclass(rule.Options, RuleOptions)


def test_docs_rules_md_is_current() -> None:
    on_disk = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert on_disk == render_rules_md(), \
        "docs/rules.md is stale: run `python -m cnnlint.docs > docs/rules.md`"


def test_a_clashing_rule_is_refused() -> None:
    with pytest.raises(RegistryError, match="clashes"):
        class Clash(Rule, register=False):
            code = "CNN101"
            name = "some-other-name"
            summary = "x"
            fix = "y"
        add_rule(Clash)


def test_malformed_metadata_is_refused() -> None:
    for code, name in (("X101", "ok-name"), ("CNN998", "Not Kebab")):
        class Bad(Rule, register=False):
            summary = "x"
            fix = "y"
        Bad.code, Bad.name = code, name
        with pytest.raises(RegistryError):
            add_rule(Bad)
    remove_rule("CNN998")


def test_rules_package_refuses_a_second_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Imported as top-level `rules` from the repo root, it would register every rule twice."""
    monkeypatch.syspath_prepend(str(ROOT))
    sys.modules.pop("rules", None)
    with pytest.raises(ImportError, match="cnnlint.rules"):
        importlib.import_module("rules")
    sys.modules.pop("probes", None)
    with pytest.raises(ImportError, match="cnnlint.probes"):
        importlib.import_module("probes")


def test_a_second_verdict_under_a_taken_code_is_refused() -> None:
    """A verdict registers through the rules' registry: a clash is an error, not a silent
    replacement of the first verdict."""
    from cnnlint.verdict import Verdict, load_verdicts

    before = load_verdicts()
    first = before["CNN401"]
    with pytest.raises(RegistryError, match="verdict CNN401 .* clashes with CNN401"):
        class Impostor(Verdict):
            code = "CNN401"
            name = "an-impostor"
            summary = "x"
            fix = "y"
    assert load_verdicts() == before and load_verdicts()["CNN401"] is first


def test_rules_and_verdicts_share_codes_and_names() -> None:
    """A rule cannot take a verdict's code or name, nor a verdict a rule's: `explain` and
    the selectors find both by either."""
    from cnnlint.verdict import Verdict, load_verdicts

    verdict = next(iter(load_verdicts().values()))

    class TakesVerdictName(Rule, register=False):
        code = "CNN997"
        name = verdict.name
        summary = "x"
        fix = "y"
    with pytest.raises(RegistryError, match="clashes"):
        add_rule(TakesVerdictName)
    assert "CNN997" not in load_rules()
    with pytest.raises(RegistryError, match="clashes"):
        class TakesRuleName(Verdict):
            code = "CNN497"
            name = "conv-bias-before-batchnorm"
            summary = "x"
            fix = "y"
    assert "CNN497" not in load_verdicts()


def test_a_verdict_outside_the_probe_family_is_refused() -> None:
    from cnnlint.verdict import Verdict

    with pytest.raises(RegistryError, match="CNN4"):
        class Misfiled(Verdict):
            code = "CNN150"
            name = "misfiled-verdict"
            summary = "x"
            fix = "y"


# Notes kept outside the project: a shipped text that cites one sends the reader nowhere.
INTERNAL_NOTES = re.compile(r"\b(?:DOMAIN|DESIGN|STYLE)(?:\.md)?\b")


def test_documentation_stands_on_its_own() -> None:
    from cnnlint.verdict import load_verdicts

    from helpers import run

    shipped = [ROOT / "README.md", ROOT / "CHANGELOG.md", *(ROOT / "docs").rglob("*.md"),
               *(ROOT / "cnnlint").rglob("*.py"), *(ROOT / "rules").glob("*.py"),
               *(ROOT / "probes").glob("*.py")]
    texts = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in shipped}
    # What users read at run time: explain (also SARIF's help text) and every --help.
    for check in [*RULES.values(), *load_verdicts().values()]:
        texts[f"explain {check.code}"] = run(["explain", check.code])[1]
    for command in ("", "check", "probe", "rules", "explain"):
        texts[f"{command} --help"] = run([*command.split(), "--help"])[1]
    cited = {where: INTERNAL_NOTES.findall(text) for where, text in texts.items()
             if INTERNAL_NOTES.search(text)}
    assert not cited, cited
