"""Whole-model findings the way a reader wants them: one report per architecture, and a
block judged as part of the model that holds it.

A file that defines `VGG` and the factories `vgg11` ... `vgg19` (or a class built as
`VGG('VGG11')` ... `VGG('VGG19')`) has one architecture: a finding true of all of them is
said once, at the class, naming the variants. A cell class that only ever serves inside a
network of the same file is not a network of its own: its missing dropout is the network's
business, judged on the network.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Collection

from cnnlint import ir
from cnnlint.findings import Finding, Related


def standalone(models: list[ir.Model], trained: set[str]) -> list[ir.Model]:
    """The models without the classes built (with their defaults, or as the variants its
    calls spell) only as blocks of another model of the same file (`Inception(64)` inside
    `net = nn.Sequential(...)`), without the factories whose network a module-level network
    of their file holds (`whole = nn.Sequential(stack(), head)`: `stack()` is a part), and
    without the factories that hand back another file's model as it builds it. A model a
    training run trains directly stays a model. Those built for comparison only are
    dropped."""
    judged = [m for m in models if not m.for_comparison]
    by_key: dict[str, list[ir.Model]] = {}
    for model in models:
        by_key.setdefault(model.key, []).append(model)
    held: dict[str, set[str]] = {}  # file -> the classes some other model there holds
    # module -> the classes some model of a class it defines holds (a `Detector(n_out=4)`
    # built in a script holds the `Inception` blocks of Detector's file)
    held_in_module: dict[str, set[str]] = {}
    in_globals: dict[str, list[ir.Model]] = {}  # file -> its module-level networks
    for model in judged:
        parts = {part for part in model.parts if part != model.class_key}
        held.setdefault(model.path, set()).update(parts)
        if model.class_key:
            held_in_module.setdefault(_module_of(model.class_key), set()).update(parts)
        if model.kind == "global":
            in_globals.setdefault(model.path, []).append(model)
    return [m for m in judged
            if (m.kind not in ("class", "variant") or not m.class_key or m.key in trained
                or m.class_key not in held.get(m.path, ())
                and m.class_key not in held_in_module.get(_module_of(m.class_key), ()))
            and not (m.key not in trained and _hands_back(m, by_key))
            and not (m.kind == "factory" and m.key not in trained
                     and any(_holds_layers_of(g, m) for g in in_globals.get(m.path, ())))]


def _module_of(key: str) -> str:
    """The module of a model key (`pkg.net:Inception` -> `pkg.net`)."""
    return key.rpartition(":")[0]


def _holds_layers_of(holder: ir.Model, model: ir.Model) -> bool:
    """Whether every layer `model` builds is also built in `holder` (the lines building
    them are the same): `holder` holds that network."""
    built = {n.loc for n in model.network.nodes if n.weighted}
    return bool(built) and None not in built and built <= {
        n.loc for n in holder.network.nodes if n.weighted}


def _hands_back(model: ir.Model, by_key: dict[str, list[ir.Model]]) -> bool:
    """Whether a factory only hands back a model of another file, built the same way (a
    test script's `build_model()` returning `models.__dict__[arch]()`, a loader's
    `restore()` returning `Net()` with weights loaded): that model's findings are said at its
    own definition, not again at the factory. (`by_key`: every model, by its key.)"""
    if model.kind != "factory":
        return False
    keys = set(model.parts)
    if model.class_key:
        keys.add(model.class_key)
    return any(other is not model and other.path != model.path and ir.same_build(other, model)
               for key in keys for other in by_key.get(key, ()))


def one_per_architecture(per_model: list[tuple[ir.Model, list[Finding]]],
                         trained_at: Collection[tuple[str, int]] = ()) -> list[Finding]:
    """Merge the findings that judge a whole model (at its definition, not tied to another
    file) across the builders of one class: those of its file, and its builds spelled in
    other files. A finding merged so is said at the class when a build is judged there,
    else at a build a training run trains (`trained_at`: (path, line)), and names the
    other builds' calls as related places."""
    kept: list[Finding] = []
    # Grouped with the other ends they cite too: builders trained by the same optimizer
    # merge, those trained differently keep their own finding.
    groups: dict[tuple[Any, ...], list[tuple[ir.Model, Finding]]] = {}
    for model, findings in per_model:
        for finding in findings:
            if _about_whole_model(model, finding):
                # Builds of a class spelled in other files (`Net(deep_sup=True)` in train.py,
                # `Net(deep_sup=False)` in predict.py) merge with those of its own file.
                where = _module_of(model.class_key) if model.kind == "variant" or (
                    model.class_loc is not None and model.class_loc.path == model.path) \
                    else model.path
                groups.setdefault((finding.code, where, model.class_key, finding.related),
                                  []).append((model, finding))
            else:
                kept.append(finding)
    kept.extend(_merged(members, trained_at) for members in groups.values())
    return kept


def _about_whole_model(model: ir.Model, finding: Finding) -> bool:
    loc = model.loc
    return bool(model.class_key) and finding.symbol == model.name \
        and (finding.path, finding.line, finding.column) == (loc.path, loc.line, loc.column)


def _merged(members: list[tuple[ir.Model, Finding]],
            trained_at: Collection[tuple[str, int]]) -> Finding:
    # A builder read with arguments not known (`get_net(classes)`) is named after those that
    # need none (`net_cifar10`), whose figures are the finding's.
    # A build judged in the class's own file comes before one spelled in a script, and a
    # build a run trains before one it does not (a prediction script's).
    members = sorted(members, key=lambda member: (
        member[0].guessed, member[0].class_loc is None,
        (member[0].loc.path, member[0].loc.line) not in trained_at))
    model, first = members[0]
    labels = list(dict.fromkeys(m.label for m, _ in members))
    if len(labels) == 1 and not model.built_as:
        return first
    # The figures in the message (counts, a chain's ends) are the first builder's: where
    # another's message says otherwise (vgg19 has more layers than vgg11), say whose they are.
    whose = "counted in " if any(f.message != first.message for _, f in members) else ""
    named = f" ({whose}{labels[0]})" if len(labels) == 1 else \
        f" ({whose}{labels[0]}; also in {', '.join(labels[1:])})"
    # Builds judged at the class but spelled in another file are the finding's other ends.
    builds = tuple(Related.at(m.built_at, f"built as `{m.label}`") for m, _ in members
                   if m.built_at is not None and m.built_at.path != first.path) + tuple(
        Related.at(m.loc, f"built as `{m.label}`") for m, _ in members
        if m.kind == "variant" and m.built_at is None and m.path != first.path)
    first = replace(first, related=tuple(dict.fromkeys(first.related + builds)))
    where = model.class_loc
    if where is None or where.path != model.path:
        return replace(first, message=first.message + named)
    return replace(first, message=first.message + named, line=where.line,
                   column=where.column, end_line=where.end_line, end_column=where.end_column,
                   symbol=model.class_key.rsplit(":", 1)[-1])
