"""Generate docs/rules.md from the rules' metadata: `python -m cnnlint.docs > docs/rules.md`."""

from __future__ import annotations

import textwrap

from cnnlint.rule import Rule, family_of, load_rules


def _examples(rule: type[Rule]) -> list[str]:
    out = []
    for kind, examples in (("Flagged", rule.invalid), ("Not flagged", rule.valid)):
        for example in examples[:1]:
            files = example if isinstance(example, dict) else {"": example}
            for name, source in files.items():
                title = f"{kind}{f' ({name})' if name else ''}:"
                out.append(f"{title}\n\n```python\n{textwrap.dedent(source).strip()}\n```\n")
    return out


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
        lines += ["#### Examples from the rule's tests", "", *_examples(rule)]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render_rules_md(), end="")
