"""Generate docs/rules.md from the rules' metadata: `python -m cnnlint.docs > docs/rules.md`."""

from __future__ import annotations

import difflib
import textwrap

from cnnlint.rule import Example, Rule, family_of, load_rules


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
        lines.append(f"| [{code}](#{code.lower()}-{rule.name}) | `{rule.name}` | "
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
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render_rules_md(), end="")
