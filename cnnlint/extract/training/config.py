"""Hyper-parameters and where they come from: literals, module constants, `argparse` defaults,
`SimpleNamespace`/dataclass configs, config dicts and modules, and parameters bound at call
sites. A message says "batch size 8 (argparse default of `--batch-size`)", so a setting
carries its origin along with its value."""

from __future__ import annotations

from typing import Any

from cnnlint import ir
from cnnlint.extract import values as v
from cnnlint.extract.frames import MISSING, Args, Frame
from cnnlint.extract.interp import Interp
from cnnlint.extract.training.objects import TrainObj, plain_path, text
from cnnlint.extract.values import UNKNOWN
from cnnlint.findings import Loc


class _Absent:
    pass


ABSENT: Any = _Absent()  # an argument the call does not pass
_NO_DEFAULT: Any = _Absent()  # `setting()` was given no default


class ConfigInterp(Interp):
    """The interpreter that remembers where values came from, and reads argparse."""

    def __init__(self, scopes: Any, modules: Any = None) -> None:
        super().__init__(scopes, modules)
        # Origins of the arguments of the call being made, for the callee's parameters.
        self.passing: tuple[list[str], dict[str, str]] | None = None
        self.tracking_origins = False  # only training passes need them (model reading: off)
        # Where attributes set in training code came from (`self.arch = args.arch`), by
        # (id of the object, attribute): the origins of local names are kept by the frame.
        self.attr_origins: dict[tuple[int, str], str] = {}

    # --- origins ---------------------------------------------------------------------------

    def origin(self, expr: tuple[Any, ...] | None, f: Frame) -> str:
        """Where an argument's value came from, for messages."""
        if expr is None:
            return "default"
        tag = expr[0]
        if tag == "const":
            return "literal"
        if tag == "name":
            if expr[1] in f.origins:
                return f.origins[expr[1]]
            if expr[1] in f.scope.globals and f.locals is not f.scope.globals:
                return f"module constant `{expr[1]}`"
            return f"`{expr[1]}`"
        if tag in ("attr", "sub") and plain_path(expr[1]):
            base = self.eval(expr[1], f)
            if isinstance(base, TrainObj) and base.kind == "namespace":
                if tag == "attr" and expr[2] in base.fields.get("written", ()):
                    return f"`{text(expr)}`"  # set by the code, not the option's default
                if base.name == "argparse" and tag == "attr":
                    flag = base.fields.get("flags", {}).get(expr[2], "--" + expr[2])
                    return f"argparse default of `{flag}`"
                return f"`{text(expr)}` ({base.name})"
            if isinstance(base, v.ModuleVal) and base.scope is not None:
                names = base.scope.globals
                if (id(names), expr[2]) in self.attr_origins:
                    return self.attr_origins[(id(names), expr[2])]
                saved = self.journal.saves.get(id(names)) if self.journal is not None else None
                if saved is not None and saved[1].get(expr[2], MISSING) is not \
                        names.get(expr[2], MISSING):
                    return f"`{text(expr)}` as the run sets it"  # (`setattr(config, ...)`)
                return f"`{text(expr)}` in {base.scope.path}"
            if isinstance(base, v.Instance) and self.is_module_class(base.cls):
                return f"`{text(expr)}`"
            if isinstance(base, (dict, v.Instance, v.ClassVal)):
                return f"config `{text(expr)}`"
        return "expression"

    def call_exprs(self) -> tuple[list[Any], dict[str | None, Any]]:
        """The argument expressions of the call being made (none past a `*splat`); a
        `**splat` is under the key None."""
        if self.current_call is None:
            return [], {}
        e = self.current_call[0]
        pos = [a for a in e[2] if a[0] != "*"] if not any(a[0] == "*" for a in e[2]) else []
        return pos, {k: x for k, x in e[3]}

    def arg(self, args: Args, index: int, name: str,
            f: Frame | None = None) -> tuple[Any, str]:
        """An argument by position or keyword, with its origin (ABSENT when not passed)."""
        pos_exprs, kw_exprs = self.call_exprs()
        if name in args.kw:
            expr = kw_exprs.get(name)
            if expr is None and kw_exprs.get(None) is not None:
                # `optimizer_cls(params, **optimizer_params)`: name the dict it came from.
                return args.kw[name], f"from `**{text(kw_exprs[None])}`"
            return args.kw[name], self.origin(expr, f) if f is not None and expr else "keyword"
        if len(args.pos) > index:
            expr = pos_exprs[index] if index < len(pos_exprs) else None
            return args.pos[index], self.origin(expr, f) if f is not None and expr else "argument"
        if args.open_kw or args.open_pos:
            # `SGD(params, **cfg)` with a mapping not known: it may hold the argument.
            return UNKNOWN, "not known"
        return ABSENT, "default"

    def setting(self, args: Args, index: int, name: str, f: Frame, loc: Loc | None,
                default: Any = _NO_DEFAULT) -> ir.Setting | None:
        value, origin = self.arg(args, index, name, f=f)
        if value is ABSENT:
            if default is _NO_DEFAULT:
                return None
            return ir.Setting(default, "torch default", loc)
        return ir.Setting(value if v.is_const(value) else None, origin, loc)

    def remember_origin(self, target: tuple[Any, ...], expr: tuple[Any, ...], value: Any,
                        f: Frame) -> None:
        """After `name = expr`: keep where the value came from, and name loaders and
        datasets after the variable that holds them."""
        if target[0] in ("tuple", "list") and expr[0] in ("tuple", "list") \
                and len(target[1]) == len(expr[1]):
            for part, source in zip(target[1], expr[1]):  # `a, b = cfg.a, cfg.b`
                self.remember_origin(part, source, UNKNOWN, f)
            return
        if target[0] in ("tuple", "list") and type(value) in (tuple, list) \
                and len(target[1]) == len(value):
            # `train_loader, test_loader = get_loaders()`: each loader is named as well.
            for part, item in zip(target[1], value):
                if part[0] == "name" and isinstance(item, TrainObj) \
                        and item.kind in ("loader", "dataset"):
                    item.fields.setdefault("var", part[1])
                    item.fields["shown"] = part[1]
            return
        if target[0] == "attr" and plain_path(target[1]):
            holder = self.eval(target[1], f)
            if isinstance(holder, v.ModuleVal) and holder.scope is not None:
                # `config.LR = args.lr` in a script: the value is no longer the module's own.
                origin = self.origin(expr, f)
                self.attr_origins[(id(holder.scope.globals), target[2])] = origin if origin \
                    not in ("literal", "expression") else f"`{text(target)}` set in {f.scope.path}"
            elif isinstance(holder, v.Instance):
                origin = self.origin(expr, f)
                if origin.startswith("argparse default of"):
                    self.attr_origins[(id(holder), target[2])] = origin
                else:
                    self.attr_origins.pop((id(holder), target[2]), None)
            return
        if target[0] != "name":
            return
        origin = self.origin(expr, f)
        if origin not in ("literal", "expression"):
            f.origins[target[1]] = origin
        else:
            f.origins.pop(target[1], None)
        if isinstance(value, TrainObj) and value.kind in ("loader", "dataset") \
                and expr[:2] != ("call", ("name", "iter")):
            # The first name tells its role (`train_loader` in a helper); messages use the
            # last, the caller's (`loader_small, _ = make_loaders(...)`), but for an iterator
            # over it (`dataiter = iter(test_loader)`).
            value.fields.setdefault("var", target[1])
            value.fields["shown"] = target[1]

    def prepare_call(self, f: Frame) -> None:
        """Before a project function runs: the origins of the arguments it is passed."""
        if self.current_call is not None:
            pos, kw = self.call_exprs()
            self.passing = ([self.origin(e, f) for e in pos],
                            {k: self.origin(e, f) for k, e in kw.items() if k is not None})

    def bind(self, params: tuple[Any, ...], args: Args, frame: Frame) -> None:
        super().bind(params, args, frame)
        if not self.tracking_origins:
            return
        passing, self.passing = self.passing, None
        passed = len(args.pos)
        offset = passed - len(passing[0]) if passing else 0  # a bound `self` comes first
        for index, (pname, default, kind) in enumerate(params):
            if kind not in ("pos", "kw"):
                continue
            origin = None
            if passing and pname in passing[1]:
                origin = passing[1][pname]
            elif passing and kind == "pos" and 0 <= index - offset < len(passing[0]):
                origin = passing[0][index - offset]
            elif default is not None and pname not in args.kw and index >= passed \
                    and not (args.open_pos or args.open_kw):
                origin = f"default of parameter `{pname}`"
            if origin and origin not in ("literal", "expression", "argument", "keyword"):
                frame.origins[pname] = origin

    # --- argparse and namespaces ---------------------------------------------------------

    def config_call(self, qualname: str, args: Args, loc: Loc | None) -> Any:
        """argparse parsers and namespaces; ABSENT for any other call."""
        if qualname == "argparse.ArgumentParser":
            defaults: dict[str, Any] = {}
            flags: dict[str, str] = {}
            for parent in args.kw.get("parents", None) or ():
                if isinstance(parent, TrainObj) and parent.kind == "parser":
                    defaults.update(parent.fields["defaults"])
                    flags.update(parent.fields["flags"])
            return TrainObj("parser", "ArgumentParser", loc,
                            {"defaults": defaults, "flags": flags})
        if qualname in ("types.SimpleNamespace", "argparse.Namespace"):
            return TrainObj("namespace", qualname.rsplit(".", 1)[-1], loc,
                            {"values": dict(args.kw)})
        return ABSENT

    def parser_method(self, parser: TrainObj, name: str, args: Args) -> Any:
        if name == "add_argument":
            _add_argument(parser, args)
            return None
        if name in ("add_argument_group", "add_mutually_exclusive_group"):
            return parser
        if name == "set_defaults":
            parser.fields["defaults"].update(args.kw)
            return None
        if name in ("parse_args", "parse_known_args"):
            ns = TrainObj("namespace", "argparse", parser.loc,
                          {"values": dict(parser.fields["defaults"]),
                           "flags": parser.fields["flags"],
                           "options": frozenset(parser.fields["defaults"])})
            return ns if name == "parse_args" else (ns, UNKNOWN)
        return UNKNOWN


def _add_argument(parser: TrainObj, args: Args) -> None:
    flags = [a for a in args.pos if type(a) is str]
    dest = args.kw.get("dest")
    if not isinstance(dest, str):
        longs = [a for a in flags if a.startswith("--")]
        chosen = longs[0] if longs else (flags[0] if flags else "")
        dest = chosen.lstrip("-").replace("-", "_")
    if not dest:
        return
    spelled = [a for a in flags if a.startswith("--")] or flags
    if spelled:
        parser.fields["flags"][dest] = spelled[0]
    default = args.kw.get("default", None)
    if args.kw.get("required") is True or (flags and not flags[0].startswith("-")):
        default = UNKNOWN  # given on every command line: not known here
    action = args.kw.get("action")
    if "default" not in args.kw and action in ("store_true", "store_false"):
        default = action == "store_false"
    kind = args.kw.get("type")
    if type(default) is str and isinstance(kind, v.Builtin) and kind.name in ("int", "float"):
        try:
            default = int(default) if kind.name == "int" else float(default)
        except ValueError:
            pass
    parser.fields["defaults"][dest] = default if v.is_const(default) else UNKNOWN
