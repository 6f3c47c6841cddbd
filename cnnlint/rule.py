"""The rule framework: a rule is one class carrying its metadata, docs, examples and check.

Rules register themselves when their module is imported (no hand-kept list), and
`load_rules()` imports every module of the `cnnlint.rules` package. A rule implements one or
more of `check_file`, `check_model` and `check_project`; the engine calls them, so that a
failure can be pinned on one rule and one file.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, TypeVar, Union

from cnnlint.findings import SEVERITIES, Finding, Loc, Related
from cnnlint.options import RuleOptions

if TYPE_CHECKING:
    from cnnlint.extract.source import FileFacts
    from cnnlint.fix import Fix, FixContext
    from cnnlint.ir import Model, ProjectFacts

# One source file, or several ({"model.py": ..., "train.py": ...}) for cross-file rules.
Example = Union[str, dict[str, str]]

# The comment that marks where an INVALID example must be flagged.
EXAMPLE_MARKER = "# flagged"

C = TypeVar("C", bound="Check")

CODE_PATTERN = re.compile(r"^CNN\d{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
DOC_HEADINGS = ("What it flags", "Why it matters", "Example", "Instead")

# Families by hundreds, like ruff's prefixes: codes are never reused.
FAMILIES = {
    "CNN1": "model architecture",
    "CNN2": "training script",
    "CNN3": "graph (trace)",
    "CNN4": "runtime probe",
    "CNN9": "meta",
}


class NoOptions(RuleOptions):
    pass


class RegistryError(Exception):
    pass


# Every rule and every probe verdict, by code: one table, so that no two checks of either
# kind can share a code or a name (`cnnlint explain` and the selectors look both up by
# either).
_REGISTRY: dict[str, type[Check]] = {}


class Check:
    """What rules and probe verdicts share: metadata, options with defaults, their
    documentation, and the findings they make."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[str] = "warning"
    summary: ClassVar[str]
    fix: ClassVar[str]  # the default hint: one imperative line
    Options: ClassVar[type[RuleOptions]] = NoOptions

    def __init__(self, options: Any = None) -> None:
        # Any: each check reads the fields of its own Options subclass.
        self.options: Any = options if options is not None else self.Options()

    def finding(self, message: str, loc: Loc, symbol: str, hint: str | None = None,
                severity: str | None = None,
                related: Iterable[tuple[Loc | None, str]] = ()) -> Finding:
        """A finding at `loc`; `related` are (place, what it is) of the other ends of a
        cross-file finding (places in the same file as `loc` are left out)."""
        others = tuple(dict.fromkeys(
            Related.at(where, what) for where, what in related
            if where is not None and where.path != loc.path))
        return Finding(
            code=self.code, name=self.name, severity=severity or self.severity,
            message=message, hint=hint or self.fix, path=loc.path, line=loc.line,
            column=loc.column, end_line=loc.end_line, end_column=loc.end_column, symbol=symbol,
            related=others)

    @classmethod
    def documentation(cls) -> str:
        import inspect
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        return {name.replace("_", "-"): value for name, value in cls.Options.defaults().items()}


class Rule(Check):
    valid: ClassVar[list[Example]] = []
    invalid: ClassVar[list[Example]] = []
    # Autofix (`--fix`): "safe" when the edit keeps what the code computes, "unsafe" when it
    # changes behaviour someone may rely on (applied only with `--unsafe-fixes`); None: the
    # rule offers no fix. `fix_note` says why, for `explain` and the docs. `fixed` pairs a
    # flagged example with the source `--fix` makes of it (the tests check each pair).
    fix_safety: ClassVar[str | None] = None
    fix_note: ClassVar[str] = ""
    fixed: ClassVar[list[tuple[Example, Example]]] = []

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            add_rule(cls)

    # --- hooks (override any) ------------------------------------------------------------

    def check_file(self, facts: FileFacts) -> Iterable[Finding]:
        return ()

    def check_model(self, model: Model, project: ProjectFacts) -> Iterable[Finding]:
        return ()

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        return ()

    def autofix(self, finding: Finding, context: FixContext) -> Fix | None:
        """The edit that fixes `finding`, or None when the code is not the plain shape the
        fix understands (the finding is then reported without a fix)."""
        return None


def add_rule(cls: type[Rule]) -> None:
    register(cls, "rule")


def register(cls: type[Check], kind: str) -> None:
    """The one way into the registry, for rules and probe verdicts alike: the metadata is
    checked, and a code or name that another check already holds is refused (a plain dict
    assignment would let the second class silently replace the first)."""
    for attr in ("code", "name", "summary", "fix"):
        if not isinstance(getattr(cls, attr, None), str):
            raise RegistryError(f"{kind} {cls.__qualname__} has no `{attr}`")
    if not CODE_PATTERN.match(cls.code):
        raise RegistryError(f"{kind} code {cls.code!r} is not CNN + three digits")
    if not NAME_PATTERN.match(cls.name):
        raise RegistryError(f"{kind} name {cls.name!r} is not kebab-case")
    if cls.severity not in SEVERITIES:
        raise RegistryError(f"{kind} {cls.code} has unknown severity {cls.severity!r}")
    safety = getattr(cls, "fix_safety", None)  # rules only: verdicts fix nothing
    if safety not in (None, "safe", "unsafe"):
        raise RegistryError(f"{kind} {cls.code} has unknown fix safety {safety!r}")
    if safety is not None and not (getattr(cls, "fixed", None) and getattr(cls, "fix_note", "")):
        raise RegistryError(f"{kind} {cls.code} offers a fix but has no `fixed` example or "
                            "`fix_note`")
    for other in _REGISTRY.values():
        if other is cls:
            return
        if other.code == cls.code or other.name == cls.name:
            # Also what happens when a module is imported twice under two names.
            raise RegistryError(
                f"{kind} {cls.code} {cls.name} ({cls.__module__}) clashes with "
                f"{other.code} {other.name} ({other.__module__})")
    _REGISTRY[cls.code] = cls


def registered(kind: type[C]) -> dict[str, type[C]]:
    """The registered checks of one kind (Rule, Verdict), by code, in code order."""
    return {code: cls for code, cls in sorted(_REGISTRY.items()) if issubclass(cls, kind)}


def remove_rule(code: str) -> None:
    """For tests that register a temporary rule (or verdict)."""
    _REGISTRY.pop(code, None)


def load_rules() -> dict[str, type[Rule]]:
    """Every registered rule, by code, in code order."""
    import cnnlint.rules as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"cnnlint.rules.{info.name}")
    return registered(Rule)


def family_of(code: str) -> str:
    return FAMILIES.get(code[:4], "other")
