"""`[tool.cnnlint]` in pyproject.toml, merged with command-line flags into run settings.

Flags win over the file. Unknown keys, rules and options are errors with a did-you-mean,
raised as ConfigError; the CLI turns that into one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

from cnnlint.findings import SEVERITIES
from cnnlint.rule import Rule

# Folders of tools, not code (as ruff skips them): Jupyter's `.ipynb_checkpoints` holds
# autosaved copies of the notebooks and scripts beside it, which are not the code.
DEFAULT_EXCLUDES = (".git", ".venv", "venv", "build", "dist", "__pycache__", ".tox", ".nox",
                    "node_modules", ".cnnlint_cache", ".ipynb_checkpoints", ".mypy_cache",
                    ".pytest_cache", ".ruff_cache", ".eggs")
FAIL_ON = (*SEVERITIES, "never")
KNOWN_KEYS = ("select", "extend-select", "ignore", "exclude", "per-file-ignores", "fail-on",
              "rules", "trace", "trace-timeout", "models", "probes", "respect-gitignore",
              "docs-url", "diagnose")
MODEL_KEYS = ("target", "args", "input-shape")


class ConfigError(Exception):
    pass


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only errors pay for it

    choices = list(choices)
    # Codes are mistyped by look-alike characters first: CNN1O1, CNNl01.
    fixed = word.upper()[:3] + word.upper()[3:].translate(str.maketrans("OIL", "011"))
    if fixed != word and fixed in choices:
        return f" (did you mean `{fixed}`?)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f" (did you mean `{close[0]}`?)"
    # A word of a rule's name (`eval` for `missing-eval-mode`): the names holding it.
    holding = [f"`{c}`" for c in choices if word.lower() in c.lower().split("-")][:3]
    if not holding:
        return ""
    named = holding[0] if len(holding) == 1 else f"{', '.join(holding[:-1])} or {holding[-1]}"
    return f" (did you mean {named}?)"


@dataclass
class Settings:
    """What one run needs to know, after config file and flags are merged."""

    enabled: list[str]  # rule codes, sorted
    options: dict[str, Any]  # code -> the rule's Options instance
    root: str  # the folder paths in the config are relative to
    config_path: str | None = None
    exclude: list[str] = field(default_factory=list)
    per_file_ignores: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    fail_on: str = "warning"
    trace: bool = False  # `trace = true`: import and trace the models (--trace)
    models: list[Any] = field(default_factory=list)  # [tool.cnnlint.models]: trace Targets
    probe_options: dict[str, Any] = field(default_factory=dict)  # [tool.cnnlint.probes]
    respect_gitignore: bool = True  # skip what .gitignore ignores when walking folders
    trace_timeout: float = 120.0  # seconds one model may take to import, build and trace
    docs_url: str | None = None  # where the rule reference is published (SARIF helpUri)
    diagnose_options: Any = None  # [tool.cnnlint.diagnose]: diagnose's Thresholds, if set


def find_config(paths: Iterable[str]) -> str | None:
    """The nearest pyproject.toml with a [tool.cnnlint] table, above the linted paths."""
    absolute = [os.path.abspath(p) for p in paths] or [os.getcwd()]
    try:
        start = os.path.commonpath(absolute)
    except ValueError:
        start = os.getcwd()
    if not os.path.isdir(start):
        start = os.path.dirname(start)
    current = start
    while True:
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate) and _has_table(candidate):
            return candidate
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _has_table(path: str) -> bool:
    try:
        return "cnnlint" in read_toml(path, only_if=b"cnnlint").get("tool", {})
    except ConfigError:
        return True  # let the load report the broken file


def read_toml(path: str, only_if: bytes = b"") -> dict[str, Any]:
    """The parsed file; {} without parsing when it does not contain `only_if` (most
    pyproject.toml files on the way up have no cnnlint table: no TOML parser to import)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if only_if and only_if not in data:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def load_table(config_path: str | None) -> dict[str, Any]:
    if config_path is None:
        return {}
    data = read_toml(config_path)
    table = data.get("tool", {}).get("cnnlint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{config_path}: [tool.cnnlint] must be a table")
    for key in table:
        if key not in KNOWN_KEYS:
            raise ConfigError(
                f"{config_path}: unknown key `{key}` in [tool.cnnlint]"
                f"{did_you_mean(key, KNOWN_KEYS)}")
    return table


def resolve_selectors(selectors: Iterable[str], rules: dict[str, type[Rule]],
                      origin: str) -> set[str]:
    """Codes for selectors: `ALL`, a code, a code prefix (`CNN1`) or a rule name."""
    by_name = {r.name: code for code, r in rules.items()}
    codes: set[str] = set()
    for raw in selectors:
        selector = raw.strip()
        if not selector:
            continue
        if selector.upper() == "ALL":
            codes.update(rules)
        elif selector in by_name:
            codes.add(by_name[selector])
        elif selector.upper() in rules:
            codes.add(selector.upper())
        elif selector.upper().startswith("CNN") and any(
                c.startswith(selector.upper()) for c in rules):
            codes.update(c for c in rules if c.startswith(selector.upper()))
        else:
            raise ConfigError(
                f"{origin}: unknown rule selector `{selector}`"
                f"{did_you_mean(selector, [*rules, *by_name])}")
    return codes


def _string_list(value: Any, key: str, origin: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ConfigError(f"{origin}: `{key}` must be a list of strings")
    return value


def _rule_options(table: Any, rules: dict[str, Any], origin: str,
                  section: str = "rules", noun: str = "rule") -> dict[str, Any]:
    """Options of rules ([tool.cnnlint.rules.NAME]) or of probe verdicts
    ([tool.cnnlint.probes.NAME]), checked against each one's Options defaults."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: [tool.cnnlint.{section}] must be a table")
    by_key = {**{r.name: c for c, r in rules.items()}, **{c: c for c in rules}}
    overrides: dict[str, Any] = {}
    for key, values in table.items():
        code = by_key.get(key)
        if code is None:
            raise ConfigError(f"{origin}: unknown {noun} `{key}` in [tool.cnnlint.{section}]"
                              f"{did_you_mean(key, by_key)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{origin}: [tool.cnnlint.{section}.{key}] must be a table")
        rule = rules[code]
        overrides[code] = _checked_options(values, rule.Options, f"{noun} `{rule.name}`",
                                           origin)
    return overrides


def _checked_options(values: dict[str, Any], options: Any, owner: str, origin: str) -> Any:
    """`options` (a RuleOptions class) set from a config table (kebab-case keys), each
    value checked against its default's type."""
    defaults = {name.replace("_", "-"): value for name, value in options.defaults().items()}
    changes: dict[str, Any] = {}
    for option, value in values.items():
        if option not in defaults:
            known = ", ".join(defaults) or "none"
            raise ConfigError(
                f"{origin}: {owner} has no option `{option}`"
                f"{did_you_mean(option, defaults)} (its options: {known})")
        default = defaults[option]
        ok = isinstance(value, type(default)) or (
            isinstance(default, float) and isinstance(value, int)
            and not isinstance(value, bool))
        if not ok or (isinstance(value, bool) and not isinstance(default, bool)):
            raise ConfigError(
                f"{origin}: option `{option}` of {owner} must be "
                f"{type(default).__name__}, not {type(value).__name__}")
        changes[option.replace("-", "_")] = value
    return options().replace(**changes)


@dataclass
class Flags:
    """The command line's say; None means "not given"."""

    select: list[str] | None = None
    extend_select: list[str] | None = None
    ignore: list[str] | None = None
    fail_on: str | None = None
    config: str | None = None


def build_settings(paths: list[str], flags: Flags, rules: dict[str, type[Rule]]) -> Settings:
    config_path = flags.config
    if config_path is not None and not os.path.isfile(config_path):
        raise ConfigError(f"config file not found: {config_path}")
    if config_path is None:
        config_path = find_config(paths)
    table = load_table(config_path)
    origin = config_path or "config"
    root = os.path.dirname(os.path.abspath(config_path)) if config_path else os.getcwd()

    # Layers like ruff's: the file, then the command line. A layer's `select` replaces the
    # set; `extend-select` adds; `ignore` removes.
    enabled = set(rules)
    layers = [
        (origin, table.get("select"), table.get("extend-select"), table.get("ignore")),
        ("--select/--ignore", flags.select, flags.extend_select, flags.ignore),
    ]
    for where, select, extend, ignore in layers:
        if select is not None:
            enabled = resolve_selectors(_string_list(select, "select", where), rules, where)
        if extend is not None:
            enabled |= resolve_selectors(_string_list(extend, "extend-select", where), rules,
                                         where)
        if ignore is not None:
            enabled -= resolve_selectors(_string_list(ignore, "ignore", where), rules, where)

    per_file: list[tuple[str, frozenset[str]]] = []
    raw_per_file = table.get("per-file-ignores", {})
    if not isinstance(raw_per_file, dict):
        raise ConfigError(f"{origin}: `per-file-ignores` must be a table of glob = [codes]")
    for glob, selectors in raw_per_file.items():
        per_file.append((glob, frozenset(resolve_selectors(
            _string_list(selectors, f"per-file-ignores.{glob}", origin), rules, origin))))

    fail_on = flags.fail_on or table.get("fail-on", "warning")
    if fail_on not in FAIL_ON:
        raise ConfigError(f"{origin}: `fail-on` must be one of {', '.join(FAIL_ON)}, "
                          f"not {fail_on!r}")
    options = {code: rule.Options() for code, rule in rules.items()}
    options.update(_rule_options(table.get("rules", {}), rules, origin))
    trace, respect_gitignore = table.get("trace", False), table.get("respect-gitignore", True)
    for key, value in (("trace", trace), ("respect-gitignore", respect_gitignore)):
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: `{key}` must be true or false")
    trace_timeout = table.get("trace-timeout", 120)
    if isinstance(trace_timeout, bool) or not isinstance(trace_timeout, (int, float)) \
            or not 0 < trace_timeout < float("inf"):
        raise ConfigError(f"{origin}: `trace-timeout` must be a positive number of seconds")
    return Settings(
        enabled=sorted(enabled), options=options, root=root, config_path=config_path,
        exclude=_string_list(table.get("exclude", []), "exclude", origin),
        per_file_ignores=per_file, fail_on=fail_on, trace=trace,
        respect_gitignore=respect_gitignore, trace_timeout=float(trace_timeout),
        models=_models(table.get("models", {}), root, origin),
        probe_options=_probe_options(table.get("probes", {}), origin),
        docs_url=_docs_url(table.get("docs-url"), origin),
        diagnose_options=_diagnose_options(table.get("diagnose", {}), origin))


def _docs_url(value: Any, origin: str) -> str | None:
    """`docs-url`: an absolute http(s) URL of the rule reference, or of one rule's page with
    `{code}` or `{name}` in it."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") \
            or not urlsplit(value).netloc or any(c.isspace() for c in value):
        raise ConfigError(f"{origin}: `docs-url` must be an http(s) URL, e.g. "
                          "\"https://example.org/cnnlint/rules.html\" (or with {code} or "
                          "{name} for a page per rule)")
    return value


def _diagnose_options(table: Any, origin: str) -> Any:
    """[tool.cnnlint.diagnose]: the symptom thresholds of `cnnlint diagnose`."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: [tool.cnnlint.diagnose] must be a table")
    if not table:
        return None
    from cnnlint.diagnose.symptoms import Thresholds  # only configs that set any

    return _checked_options(table, Thresholds, "[tool.cnnlint.diagnose]", origin)


def _probe_options(table: Any, origin: str) -> dict[str, Any]:
    if table == {}:
        return {}
    from cnnlint.verdict import load_verdicts  # torch-free; only configs that set any

    return _rule_options(table, load_verdicts(), origin, section="probes", noun="probe")


def _models(table: Any, root: str, origin: str) -> list[Any]:
    """[tool.cnnlint.models.NAME] tables: `target`, optional `args` and `input-shape`."""
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: [tool.cnnlint.models] must be a table of tables")
    if not table:
        return []
    from cnnlint.targets import TargetError, parse_target

    targets = []
    for name, entry in table.items():
        where = f"{origin}: [tool.cnnlint.models.{name}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("target"), str):
            raise ConfigError(f"{where} needs `target = \"path/file.py:Name\"` (or "
                              "`package.module:Name`)")
        for key in entry:
            if key not in MODEL_KEYS:
                raise ConfigError(f"{where}: unknown key `{key}`{did_you_mean(key, MODEL_KEYS)}")
        try:
            target = parse_target(entry["target"], base_dir=root)
        except TargetError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        args = entry.get("args", {})
        if not isinstance(args, dict):
            raise ConfigError(f"{where}: `args` must be a table of constructor arguments")
        target.kwargs.update(args)
        shape = entry.get("input-shape")
        if shape is not None:
            if not isinstance(shape, list) or not shape or not all(
                    isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
                raise ConfigError(f"{where}: `input-shape` must be a list of positive "
                                  "integers, [C, H, W] without the batch")
            target.input_shape = tuple(shape)
        target.label = f"{name} ({entry['target']})"
        targets.append(target)
    return targets
