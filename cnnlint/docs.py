"""Generate docs/rules.md from the rules' metadata: `python -m cnnlint.docs > docs/rules.md`;
and say where each rule's documentation is published (SARIF's `helpUri`)."""

from __future__ import annotations

import difflib
import textwrap

from cnnlint.rule import Check, Example, Rule, family_of, load_rules

# The rule reference in the repository, for an installation without metadata. OWNER is the
# placeholder pyproject's [project.urls] also carries (a test keeps the two equal).
REPOSITORY_DOCS = "https://github.com/OWNER/cnnlint/blob/main/docs/rules.md"


def anchor(rule: type[Check]) -> str:
    """The fragment of a rule's section in docs/rules.md (its heading, as GitHub slugs it)."""
    return f"{rule.code.lower()}-{rule.name}"


def docs_base(configured: str | None = None) -> str:
    """Where the rule reference lives: `[tool.cnnlint] docs-url`, else the Documentation
    URL of the installed distribution's metadata, else the page in the repository."""
    if configured:
        return configured
    from importlib import metadata  # only SARIF output pays for it

    try:
        entries = metadata.metadata("cnnlint").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        entries = []
    for entry in entries:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation" and url.strip():
            return url.strip()
    return REPOSITORY_DOCS


def help_uri(rule: type[Check], base: str) -> str:
    """A rule's page: `{code}` and `{name}` in `base` are filled in (one page per rule),
    else the rule's section of the one-page reference is appended as a fragment."""
    if "{code}" in base or "{name}" in base:
        return base.replace("{code}", rule.code).replace("{name}", rule.name)
    return f"{base.split('#')[0]}#{anchor(rule)}"


def _examples(rule: type[Rule]) -> list[str]:
    out = []
    for kind, examples in (("Flagged", rule.invalid), ("Not flagged", rule.valid)):
        for example in examples[:1]:
            files = example if isinstance(example, dict) else {"": example}
            for name, source in files.items():
                title = f"{kind}{f' ({name})' if name else ''}:"
                out.append(f"{title}\n\n```python\n{textwrap.dedent(source).strip()}\n```\n")
    return out


def fix_diff(before: Example, after: Example) -> str:
    """A `fixed` example as the unified diff `cnnlint --diff` prints for it."""
    old = before if isinstance(before, dict) else {"model.py": before}
    new = after if isinstance(after, dict) else {"model.py": after}
    out: list[str] = []
    for name, source in old.items():
        a = textwrap.dedent(source).lstrip("\n").splitlines(keepends=True)
        b = textwrap.dedent(new.get(name, source)).lstrip("\n").splitlines(keepends=True)
        out.extend(difflib.unified_diff(a, b, fromfile=name, tofile=name))
    return "".join(out)


def fix_summary(rule: type[Rule]) -> str:
    """One paragraph on the rule's autofix: whether it is safe, what it does, and why."""
    if rule.fix_safety is None:
        return ""
    if rule.fix_safety == "safe":
        return f"A safe fix, applied by `--fix`. {rule.fix_note}"
    return f"An unsafe fix, applied only by `--fix --unsafe-fixes`. {rule.fix_note}"


def render_rules_md() -> str:
    rules = load_rules()
    lines = ["# cnnlint rules", "",
             "Generated from the rules' metadata by `python -m cnnlint.docs`; do not edit.", "",
             "| Code | Name | Severity | Family | Summary |", "|---|---|---|---|---|"]
    for code, rule in rules.items():
        lines.append(f"| [{code}](#{anchor(rule)}) | `{rule.name}` | "
                     f"{rule.severity} | {family_of(code)} | {rule.summary} |")
    for code, rule in rules.items():
        docs = rule.documentation().replace("\n## ", "\n#### ")
        lines += ["", f"## {code} {rule.name}", "",
                  f"*{rule.severity}* · {family_of(code)} · `# noqa: {code}`", "", docs, ""]
        defaults = rule.option_defaults()
        if defaults:
            lines += [f"#### Options (`[tool.cnnlint.rules.{rule.name}]`)", ""]
            lines += [f"- `{key}` = `{value!r}`" for key, value in defaults.items()]
            lines.append("")
        if rule.fix_safety is not None:
            lines += ["#### Fix", "", textwrap.fill(fix_summary(rule), 92), "",
                      f"```diff\n{fix_diff(*rule.fixed[0])}```", ""]
        lines += ["#### Examples from the rule's tests", "", *_examples(rule)]
    lines += _verdicts()
    return "\n".join(lines).rstrip() + "\n"


def _verdicts() -> list[str]:
    """The runtime probe's verdicts: `cnnlint explain` knows them, so the reference does."""
    from cnnlint.verdict import load_verdicts  # torch-free

    verdicts = load_verdicts()
    lines = ["", "# Runtime probe verdicts", "",
             "What `cnnlint probe` can measure and report (see the README's *Runtime probe*).",
             "", "| Code | Name | Severity | Summary |", "|---|---|---|---|"]
    lines += [f"| [{code}](#{anchor(v)}) | `{v.name}` | {v.severity} | {v.summary} |"
              for code, v in verdicts.items()]
    for code, v in verdicts.items():
        lines += ["", f"## {code} {v.name}", "", f"*{v.severity}* · {family_of(code)}", "",
                  v.documentation(), ""]
        defaults = v.option_defaults()
        if defaults:
            lines += [f"#### Options (`[tool.cnnlint.probes.{v.name}]`)", ""]
            lines += [f"- `{key}` = `{value!r}`" for key, value in defaults.items()]
    return lines


if __name__ == "__main__":
    print(render_rules_md(), end="")
