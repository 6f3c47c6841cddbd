"""The probe's verdicts: one class per failure story, reading measurements, like a rule.

A verdict has a code (CNN4xx), a fixed kebab-case name, a severity, thresholds as options
(`[tool.cnnlint.probes.NAME]`), the static rules it can confirm, and `evaluate`, which turns
measurements into findings whose messages carry the numbers. Verdicts register themselves
when their module in `cnnlint.probes` is imported.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any, Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.rule import Check, RegistryError, register, registered

if TYPE_CHECKING:
    from cnnlint.probe.measure import Measurements


class Verdict(Check):
    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not str(getattr(cls, "code", "")).startswith("CNN4"):
            raise RegistryError(f"verdict {cls.__qualname__}: its code must be CNN4 + two "
                                "digits (the runtime probe family)")
        register(cls, "verdict")  # the rules' registry: a code taken by any check is refused

    def evaluate(self, run: Measurements, loc: Loc) -> Iterable[Finding]:
        raise NotImplementedError


def load_verdicts() -> dict[str, type[Verdict]]:
    """Every verdict, by code, in code order."""
    import cnnlint.probes as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"cnnlint.probes.{info.name}")
    return registered(Verdict)


def fmt(value: float | None) -> str:
    """Numbers in messages: 3 significant digits, scientific when small or large."""
    if value is None:
        return "n/a"
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.2e}"
