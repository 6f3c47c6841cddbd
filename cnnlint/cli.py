"""The command line. Thin: it parses flags, calls the engine, picks a reporter, and decides
the exit code in exactly one place (`exit_code`)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Protocol, Sequence

import click

from cnnlint import __version__
from cnnlint.findings import SEVERITIES, Finding, severity_rank

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

EXIT_CODES_HELP = """\b
Exit codes:
  0  no finding at or above --fail-on (default: warning)
  1  at least one finding at or above --fail-on
  2  usage, configuration or internal error (a file that cannot be read,
     a rule that crashed, a missing path, an unknown rule or option)
--exit-zero turns 1 into 0; 2 stays 2."""


class UsageProblem(click.ClickException):
    exit_code = EXIT_ERROR


class _Graded(Protocol):
    """What the exit code reads: a lint finding, or a symptom of `diagnose`."""

    @property
    def severity(self) -> str: ...


def exit_code(findings: Sequence[_Graded], had_errors: bool, fail_on: str,
              exit_zero: bool) -> int:
    if had_errors:
        return EXIT_ERROR
    if exit_zero or fail_on == "never":
        return EXIT_CLEAN
    threshold = severity_rank(fail_on)
    failing = any(severity_rank(f.severity) >= threshold for f in findings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


class DefaultGroup(click.Group):
    """`cnnlint PATH...` means `cnnlint check PATH...`, as with ruff's early releases; so the
    group's help lists the lint options too."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h",
                                                                         "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        lint = self.commands["check"]
        own_help = lint.get_help_option(ctx)  # already listed above, as the group's
        records = [record for param in lint.get_params(ctx)
                   if isinstance(param, click.Option) and param is not own_help
                   and (record := param.get_help_record(ctx))]
        with formatter.section("Lint options (`cnnlint [check] [OPTIONS] [PATHS]...`)"):
            formatter.write_dl(records)


# How alike an unknown option and a real one must be (difflib's ratio, dashes left out) to
# be suggested. click's own cutoff, 0.6 with the dashes, offers `--config` for `--fix`.
SUGGEST_CUTOFF = 0.7


def suggest_option(unknown: str, options: list[str]) -> str:
    """" Did you mean '--x'?" for an option close to `unknown`, else nothing."""
    import difflib

    bare = {option.lstrip("-"): option for option in options}
    close = difflib.get_close_matches(unknown.lstrip("-"), list(bare), n=3,
                                      cutoff=SUGGEST_CUTOFF)
    if not close:
        return ""
    return f" Did you mean {' or '.join(repr(bare[name]) for name in close)}?"


def _split(values: tuple[str, ...]) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _write(text: str, output: str | None, colour: bool = False) -> None:
    if output:
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise UsageProblem(f"cannot write {output}: {exc.strerror}") from None
    else:
        click.echo(text, nl=False, color=colour)


def _append(path: str, text: str) -> None:
    """Add to a file others write too (a GitHub step summary)."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageProblem(f"cannot write the step summary {path}: {exc.strerror}") from None


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES_HELP, subcommand_metavar="[PATHS]... | COMMAND [ARGS]...")
@click.version_option(__version__, "--version", prog_name="cnnlint")
def cli() -> None:
    """Lint PyTorch CNN code for designs that train badly.

    `cnnlint PATH...` (short for `cnnlint check PATH...`) reads the files statically: it
    never imports or runs them.
    `cnnlint --trace PATH...` and `cnnlint probe FILE.py:Model` import and run your code
    (opt-in; they need the torch extra).
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option("--select", multiple=True, metavar="RULES",
              help="Rules to enable: codes, prefixes (CNN1), names or ALL. Replaces the config.")
@click.option("--extend-select", multiple=True, metavar="RULES", help="Rules to add.")
@click.option("--ignore", multiple=True, metavar="RULES", help="Rules to disable.")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "never"]),
              help="Lowest severity that makes the exit code 1 [default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (2 stays 2).")
@click.option("--config", type=click.Path(), help="Read [tool.cnnlint] from this file.")
@click.option("--baseline", type=click.Path(), help="Report only findings not in FILE.")
@click.option("--write-baseline", type=click.Path(dir_okay=False),
              help="Record the current findings in FILE and exit 0.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Files analysed in parallel [default: the number of CPUs; 1 for one file].")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False),
              help="Cache folder [default: $CNNLINT_CACHE_DIR, else .cnnlint_cache beside the "
                   "config].")
@click.option("--trace/--no-trace", default=None,
              help="Also IMPORT the linted files and trace their models with torch.fx (one "
                   "forward pass on random input when that fails). This EXECUTES your code: "
                   "use it on code you trust. Needs the torch extra. [default: the config's "
                   "`trace`, else off]")
@click.option("--model", "models", multiple=True, metavar="TARGET",
              help="A model to trace (implies --trace): path/file.py:Name or "
                   "package.module:Name, optionally with keyword arguments, "
                   "'pkg.nets:Net(depth=50)'. Repeatable.")
@click.option("--input-shape", metavar="C,H,W",
              help="Input for forward passes in trace mode [default: from the first layer, "
                   "e.g. in_channels,64,64].")
@click.option("--verbose", "-v", is_flag=True, help="Say what could not be analysed.")
@click.option("--color/--no-color", default=None, help="Colour text output [default: on a TTY].")
@click.option("--fix", is_flag=True,
              help="Apply the safe fixes in place, then report the findings that remain.")
@click.option("--unsafe-fixes", is_flag=True,
              help="Also apply (--fix), show (--diff) and mark unsafe fixes: they change what "
                   "the code does.")
@click.option("--diff", is_flag=True,
              help="Print a unified diff of what --fix would change and write nothing; exit 1 "
                   "when there is something to fix.")
@click.option("--stdin-filename", metavar="PATH",
              help="With `-` as the path: the file the source on stdin stands for (its name "
                   "in findings, and where its project is) [default: -].")
@click.option("--statistics", is_flag=True,
              help="Print how many findings each rule has instead of the findings "
                   "(text or json).")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None,
              help="Skip files .gitignore ignores when walking folders [default: the "
                   "config's `respect-gitignore`, else on].")
def check(paths: tuple[str, ...], fmt: str, output: str | None, select: tuple[str, ...],
          extend_select: tuple[str, ...], ignore: tuple[str, ...], fail_on: str | None,
          exit_zero: bool, config: str | None, baseline: str | None,
          write_baseline: str | None, jobs: int | None, no_cache: bool, cache_dir: str | None,
          trace: bool | None, models: tuple[str, ...], input_shape: str | None,
          verbose: bool, color: bool | None, stdin_filename: str | None, statistics: bool,
          respect_gitignore: bool | None, fix: bool = False, unsafe_fixes: bool = False,
          diff: bool = False) -> None:
    """Lint files and folders (recursively: *.py and Jupyter notebooks). The default command.

    Static by default: nothing is imported or run. --trace (or --model) imports your code.
    `-` reads one file's source from stdin (for editors), named by --stdin-filename.
    """
    from cnnlint import report
    from cnnlint.cache import Cache
    from cnnlint.config import ConfigError, Flags, build_settings
    from cnnlint.engine import lint
    from cnnlint.sources import forget_given_sources
    from cnnlint.rule import load_rules

    if (fix or diff) and "-" in paths:
        raise UsageProblem("--fix and --diff work on files; they do not read stdin")
    targets = _stdin_targets(list(paths) or ["."], stdin_filename)
    rules = load_rules()
    flags = Flags(select=_split(select), extend_select=_split(extend_select),
                  ignore=_split(ignore), fail_on=fail_on, config=config)
    try:
        settings = build_settings(targets, flags, rules)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    if respect_gitignore is not None:
        settings.respect_gitignore = respect_gitignore
    cache = None if no_cache else Cache(Cache.location(cache_dir, settings.root))
    if jobs is None:
        jobs = _default_jobs(targets)
    tracing = _trace_settings(trace, models, input_shape, settings)
    fixing = fix or diff
    if fixing and write_baseline:
        raise UsageProblem("--fix and --diff cannot be combined with --write-baseline")

    def run_lint() -> Any:
        # --fix needs each finding's fix, which a run served from the cache does not keep.
        try:
            done = lint(targets, settings, rules, cache=cache, jobs=jobs, trace=tracing,
                        fixes=fixing or fmt == "text", fresh=fixing)
        finally:
            forget_given_sources()  # stdin stands for its file for this run only
        if done.missing:
            raise UsageProblem(f"path does not exist: {done.missing[0]}")
        return done

    result = run_lint()
    findings = result.findings
    if write_baseline or baseline:
        from cnnlint import baseline as baselines  # only gates with a baseline pay for it
    if write_baseline:
        count = baselines.write(write_baseline, findings, result.source_line)
        click.echo(f"Wrote {count} finding{'s' if count != 1 else ''} to {write_baseline}.",
                   err=True)
        sys.exit(EXIT_ERROR if result.errors else EXIT_CLEAN)

    def reported(done: Any) -> list[Finding]:
        if not baseline:
            return list(done.findings)
        try:
            return baselines.filter_new(done.findings, baseline, done.source_line)
        except baselines.BaselineError as exc:
            raise UsageProblem(str(exc)) from None

    findings = reported(result)
    closing: list[str] = []
    fixed: int | None = None  # under --fix: how many were fixed, for the text summary
    if fixing:
        from cnnlint import autofix

        outcome = autofix.run(result, run_lint, reported, unsafe_fixes, dry_run=diff)
        for warning in outcome.warnings:
            click.echo(f"cnnlint: warning: {warning}", err=True)
        if diff:
            _write(outcome.diff, output)
            for e in outcome.result.errors:  # no report follows the diff: say them here
                click.echo(f"{e.path or '<run>'}: error ({e.kind}): {e.message}", err=True)
            click.echo("\n".join(autofix.diff_summary(outcome, unsafe_fixes)), err=True)
            failed = outcome.fixed and not exit_zero
            sys.exit(EXIT_ERROR if outcome.result.errors else
                     EXIT_FINDINGS if failed else EXIT_CLEAN)
        result, findings, fixed = outcome.result, outcome.findings, outcome.fixed
        closing = autofix.fix_summary(outcome, result.fixable, unsafe_fixes)
        if fmt == "text" and not statistics:
            closing = closing[1:]  # the report's own summary says it (`fixed=`)
    shown = findings
    if fmt == "text" and "-" not in paths:
        # ruff's marks: `[*]` on what --fix fixes, and how many it would (not for a source
        # read from stdin, which --fix does not edit).
        from cnnlint.autofix import available_line, mark

        shown = mark(findings, result.fixable, unsafe_fixes)
        if not fixing:
            closing = [line for line in [
                available_line(findings, result.fixable, unsafe_fixes, fixing=False)] if line]
    use_colour = color if color is not None else (
        output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    notes = result.trace_notes + (result.notes() if verbose else [])
    if statistics:
        if fmt not in ("text", "json"):
            raise UsageProblem("--statistics prints text or json, not " + fmt)
        from cnnlint.report import statistics as stats

        text = stats.render(findings, result.errors, fmt)
    else:
        text = report.get(fmt)(shown, result.errors, len(result.files), rules=rules,
                               colour=use_colour, notes=notes, verbose=verbose,
                               partly_read=result.partly_read(),
                               root=result.project_root or settings.root,
                               line_text=result.line_text, docs_url=settings.docs_url,
                               fixed=fixed)
    if fmt == "text" and not statistics:
        text += "".join(line + "\n" for line in closing)
    elif closing:  # machine-readable output stays clean; the summary goes to stderr
        click.echo("\n".join(closing), err=True)
    _write(text, output, use_colour)
    if fmt == "github" and os.environ.get("GITHUB_STEP_SUMMARY"):
        from cnnlint.report.github import step_summary

        _append(os.environ["GITHUB_STEP_SUMMARY"],
                step_summary(findings, result.errors, len(result.files)))
    sys.exit(exit_code(findings, bool(result.errors), settings.fail_on, exit_zero))


def _stdin_targets(targets: list[str], stdin_filename: str | None) -> list[str]:
    """`-` among the paths: read stdin now and let it stand for --stdin-filename."""
    if "-" not in targets:
        if stdin_filename:
            raise UsageProblem("--stdin-filename needs `-` among the paths")
        return targets
    if targets != ["-"]:
        raise UsageProblem("`-` (stdin) cannot be combined with other paths")
    from cnnlint.sources import provide_source

    name = stdin_filename or "-"
    provide_source(name, sys.stdin.buffer.read())
    return [name]


def _default_jobs(targets: list[str]) -> int:
    single = len(targets) == 1 and os.path.isfile(targets[0])
    return 1 if single else (os.cpu_count() or 1)


def _need_matplotlib() -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageProblem("--plot needs matplotlib: pip install 'cnnlint[plot]'")


def _trace_settings(trace: bool | None, models: tuple[str, ...], input_shape: str | None,
                    settings: Any) -> Any:
    """TraceSettings when this run traces (flag, config or --model), else None."""
    if trace is False or not (trace or models or settings.trace):
        return None
    from cnnlint.trace import TORCH_MISSING, torch_available
    from cnnlint.trace.ops import parse_shape
    from cnnlint.targets import TargetError, parse_target

    if not torch_available():
        raise UsageProblem(f"--trace: {TORCH_MISSING}")
    try:
        targets = [parse_target(m) for m in models]
        shape = parse_shape(input_shape) if input_shape else None
    except (TargetError, ValueError) as exc:
        raise UsageProblem(str(exc)) from None
    from cnnlint.trace.runner import TraceSettings

    return TraceSettings(targets=[*settings.models, *targets], input_shape=shape,
                         timeout=settings.trace_timeout,
                         root=settings.root)


PROBE_EXIT_HELP = EXIT_CODES_HELP.replace(
    "a missing path, an unknown rule or option)",
    "a missing path, an unknown rule or option;\n     the target failing to import, build "
    "or run)")


@cli.command(epilog=PROBE_EXIT_HELP)
@click.argument("target")
@click.option("--args", "args_json", metavar="JSON",
              help='Constructor keyword arguments, e.g. \'{"depth": 20}\'.')
@click.option("--input-shape", "input_shapes", metavar="C,H,W", multiple=True,
              help="Input shape without the batch [default: from the first conv or linear]; "
                   "once per input for a forward with several.")
@click.option("--inputs", "inputs_spec", metavar="module:callable",
              help="A callable taking a batch size and returning the forward's inputs (a "
                   "tensor or a tuple): its floating tensors set the shapes and get the data; "
                   "other values are passed as returned.")
@click.option("--num-classes", type=click.IntRange(min=1),
              help="Classes of the synthetic labels [default: the model's output width].")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="[default: the training script's batch size for this model, else 16]")
@click.option("--steps", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--optimizer", metavar="NAME",
              help="A torch.optim class [default: the training script's, else SGD with "
                   "momentum 0.9].")
@click.option("--lr", type=float, callback=lambda ctx, param, value: _positive_lr(value),
              help="[default: the training script's, else 0.01]")
@click.option("--momentum", type=click.FloatRange(min=0.0),
              help="[default: the training script's for its optimizer, else 0.9 for the "
                   "default SGD]")
@click.option("--weight-decay", type=click.FloatRange(min=0.0),
              help="[default: the training script's for its optimizer, else none]")
@click.option("--time-budget", type=click.FloatRange(min=0.0, min_open=True),
              metavar="SECONDS", help="End the run cleanly after about this long, with "
                                      "what was measured by then.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="auto takes CUDA when available.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--data", metavar="DIR|module:callable",
              help="An ImageFolder directory, or a callable (module:name or FILE.py:name, "
                   "from the working folder) returning a Dataset [default: seeded synthetic "
                   "images whose labels depend on the input].")
@click.option("--sanity/--no-sanity", default=True, show_default=True,
              help="Sanity checks on copies of the model: the loss at init, overfitting one "
                   "batch, a zeroed-input baseline, class balance.")
@click.option("--lr-range/--no-lr-range", default=True, show_default=True,
              help="An LR range test on a copy of the model (rate 1e-7 to 10).")
@click.option("--lr-range-steps", type=click.IntRange(min=10), default=100, show_default=True,
              help="Steps of the LR range test.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="FILE.png",
              help="Plot the loss, gradient flow, update sizes and activation statistics "
                   "with the verdicts' thresholds (needs the plot extra).")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "never"]),
              help="Lowest severity that makes the exit code 1 [default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (2 stays 2).")
@click.option("--config", type=click.Path(), help="Read [tool.cnnlint] from this file.")
@click.option("--verbose", "-v", is_flag=True, help="Show the traceback of a failure.")
def probe(target: str, args_json: str | None, input_shapes: tuple[str, ...],
          inputs_spec: str | None,
          num_classes: int | None, batch_size: int | None, steps: int, optimizer: str | None,
          lr: float | None, momentum: float | None, weight_decay: float | None,
          time_budget: float | None, device: str, seed: int, data: str | None, sanity: bool,
          lr_range: bool, lr_range_steps: int, fmt: str,
          output: str | None, plot_path: str | None, fail_on: str | None, exit_zero: bool,
          config: str | None, verbose: bool) -> None:
    """Train a copy of TARGET for a few steps and measure what goes wrong.

    TARGET is path/to/file.py:ClassOrFactory or package.module:ClassOrFactory. This IMPORTS
    and RUNS your code (on a deep copy of the model; your files are never written). It
    measures gradient flow, dead and saturated units, BatchNorm noise and the loss, runs
    sanity checks of the training recipe and an LR range test on further copies, gives
    verdicts, and says for each static finding on the model whether the run confirms it.
    Needs the torch extra.
    """
    from cnnlint.trace import TORCH_MISSING, torch_available

    if not torch_available():
        raise UsageProblem(f"probe: {TORCH_MISSING}")
    if plot_path:
        _need_matplotlib()
    if input_shapes and inputs_spec:
        raise UsageProblem("give --input-shape or --inputs, not both")
    for path in (plot_path, output):
        _folder_for(path)  # before the run, not after a minute of work
    settings = _probe_settings(target, args_json, input_shapes, num_classes, batch_size,
                               steps, optimizer, lr, device, seed, data, config, fmt, output)
    settings.momentum, settings.weight_decay = momentum, weight_decay
    settings.time_budget = time_budget
    settings.inputs = inputs_spec
    settings.sanity, settings.lr_range = sanity, lr_range
    settings.lr_range_steps = lr_range_steps
    from cnnlint.probe.output import as_json, plot, text
    from cnnlint.probe.runner import ProbeError, ProbeReport, run_probe

    try:
        report = run_probe(settings)
    except ProbeError as exc:
        _clear_progress(settings)
        if verbose and exc.cause is not None:
            import traceback

            traceback.print_exception(exc.cause, file=sys.stderr)
        if fmt == "json":  # still a report, with the error and what was measured
            partial = exc.report or ProbeReport(target=target, device=device, steps=0)
            _write(as_json(partial, exc), output)
        raise UsageProblem(f"probe failed at {exc}") from None
    _clear_progress(settings)
    if plot_path:
        try:
            plot(report, plot_path, {v.name: v.options for v in settings.verdicts.values()})
        except OSError as exc:
            raise UsageProblem(f"cannot write {plot_path}: {exc.strerror}") from None
    _write(as_json(report) if fmt == "json" else text(report), output)
    threshold = fail_on or settings.fail_on
    sys.exit(exit_code(report.findings, bool(report.errors), threshold, exit_zero))


def _positive_lr(value: float | None) -> float | None:
    import math

    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value} is not a learning rate: it must be a finite number "
                                 f"above 0", param_hint="'--lr'")
    return value


def _folder_for(path: str | None) -> None:
    """Create the folder an output file goes to; refuse a path that cannot be written."""
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(f"cannot create the folder of {path}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise UsageProblem(f"cannot write {path}: the folder {folder} is not writable")
    if os.path.isdir(path):
        raise UsageProblem(f"cannot write {path}: it is a folder")


def _probe_settings(target: str, args_json: str | None, input_shapes: tuple[str, ...],
                    num_classes: int | None, batch_size: int | None, steps: int,
                    optimizer: str | None, lr: float | None, device: str, seed: int,
                    data: str | None, config: str | None, fmt: str, output: str | None
                    ) -> Any:
    from cnnlint.config import ConfigError, Flags, build_settings
    from cnnlint.probe.runner import ProbeSettings
    from cnnlint.verdict import load_verdicts
    from cnnlint.rule import load_rules
    from cnnlint.trace.ops import parse_shape

    kwargs: dict[str, Any] = {}
    if args_json:
        try:
            kwargs = json.loads(args_json)
        except json.JSONDecodeError as exc:
            raise UsageProblem(f"--args is not valid JSON: {exc.msg}") from None
        if not isinstance(kwargs, dict):
            raise UsageProblem("--args must be a JSON object of keyword arguments")
    try:
        shapes = [parse_shape(text) for text in input_shapes]
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    if data is not None:
        from cnnlint.probe.data import DataError, check_spec

        try:
            check_spec(data)
        except DataError as exc:
            raise UsageProblem(str(exc)) from None
    path = target.rpartition(":")[0]
    try:
        lint_settings = build_settings([path if path.endswith(".py") else "."],
                                       Flags(config=config), load_rules())
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    verdicts = {code: cls(lint_settings.probe_options.get(code))
                for code, cls in load_verdicts().items()}
    show_progress = fmt == "text" and output is None and sys.stderr.isatty() \
        and not os.environ.get("CI")
    settings = ProbeSettings(
        target=target, kwargs=kwargs, input_shape=shapes[0] if shapes else None,
        extra_input_shapes=tuple(shapes[1:]), num_classes=num_classes,
        batch_size=batch_size, steps=steps, optimizer=optimizer, lr=lr, device=device,
        seed=seed, data=data, root=lint_settings.root, config=config, verdicts=verdicts,
        progress=_progress if show_progress else None, phase=_phase_line,
        fail_on=lint_settings.fail_on)
    return settings


def _phase_line(text: str) -> None:
    """One line per phase of a probe run on stderr, on a terminal or not (a CI log shows
    where a long run is). On a terminal it first clears the progress bar's line."""
    clear = "\r" + " " * 60 + "\r" if sys.stderr.isatty() else ""
    click.echo(f"{clear}cnnlint probe: {text}", err=True)


def _progress(step: int, steps: int, loss: float) -> None:
    width = 30
    done = width * step // steps
    click.echo(f"\r[{'#' * done}{' ' * (width - done)}] {step}/{steps} loss {loss:.4g}  ",
               err=True, nl=False)


def _clear_progress(settings: Any) -> None:
    if settings.progress is not None:
        click.echo("\r" + " " * 60 + "\r", err=True, nl=False)


class _DiagnoseCommand(click.Command):
    """Its help ends with the metric roles and the thresholds, read from the diagnose
    package only when help is asked for (a lint run never imports it)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from cnnlint.diagnose.metrics import ROLES
        from cnnlint.diagnose.symptoms import THRESHOLD_HELP, Thresholds

        defaults = {k.replace("_", "-"): v for k, v in Thresholds.defaults().items()}
        for title, rows in (
                ("Roles (--metric ROLE=NAME; found by name when not given)", ROLES),
                ("Thresholds ([tool.cnnlint.diagnose] in pyproject.toml)",
                 {f"{k} = {defaults[k]}": v for k, v in THRESHOLD_HELP.items()})):
            with formatter.section(title):
                formatter.write_dl(list(rows.items()))
        formatter.write_paragraph()
        formatter.write_text(DIAGNOSE_EXIT_HELP)


DIAGNOSE_EXIT_HELP = """\b
Exit codes:
  0  no symptom at or above --fail-on (default: warning)
  1  at least one symptom at or above --fail-on
  2  bad input: a missing folder, an unreadable log, no recognisable
     metrics, a configuration error, a code file that cannot be read
--exit-zero turns 1 into 0; 2 stays 2."""


@cli.command(cls=_DiagnoseCommand)
@click.argument("run_path", metavar="RUN", type=click.Path())
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--metric", "metrics", multiple=True, metavar="ROLE=NAME",
              help="Which logged series plays a role, e.g. val_loss=valid/loss. Repeatable.")
@click.option("--num-classes", type=click.IntRange(min=2),
              help="Number of classes, for ln C (the loss of a uniform guess) and chance "
                   "level [default: the number of per-class metrics].")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="FILE.png",
              help="Plot the curves with the symptoms marked (needs the plot extra).")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "never"]),
              help="Lowest severity of a symptom that makes the exit code 1 "
                   "[default: warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with symptoms (2 stays 2).")
@click.option("--config", type=click.Path(), help="Read [tool.cnnlint] from this file.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write lint's cache.")
def diagnose(run_path: str, paths: tuple[str, ...], metrics: tuple[str, ...],
             num_classes: int | None, fmt: str, output: str | None, plot_path: str | None,
             fail_on: str | None, exit_zero: bool, config: str | None, no_cache: bool) -> None:
    """Name the symptoms in a training's logged metrics, and rank their causes in the code.

    RUN is a log file or a folder holding one: TensorBoard event files (needs the
    diagnose extra), a Lightning CSVLogger metrics.csv, or a CSV or JSON-lines file with a
    step or epoch column. Metrics are found by their names (per-class ones too:
    val_auc_class_3, val/acc_class0), or named with --metric. PATHS (default: .) are
    linted with every rule selected, and the findings that explain each symptom are listed
    with it. Static: nothing is imported or run.
    """
    from cnnlint.cache import Cache
    from cnnlint.config import ConfigError, Flags, build_settings
    from cnnlint.diagnose import DiagnoseError, diagnosis
    from cnnlint.diagnose import report as diagnose_report
    from cnnlint.diagnose.metrics import parse_overrides
    from cnnlint.diagnose.symptoms import Thresholds
    from cnnlint.engine import lint
    from cnnlint.rule import load_rules

    if plot_path:
        _need_matplotlib()
    targets = list(paths) or ["."]
    rules = load_rules()
    try:
        settings = build_settings(targets, Flags(select=["ALL"], config=config), rules)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    try:
        seen = diagnosis.observe(run_path, parse_overrides(metrics),
                                 settings.diagnose_options or Thresholds(), num_classes)
    except DiagnoseError as exc:
        raise UsageProblem(str(exc)) from None
    cache = None if no_cache else Cache(Cache.location(None, settings.root))
    result = lint(targets, settings, rules, cache=cache, jobs=_default_jobs(targets))
    if result.missing:
        raise UsageProblem(f"path does not exist: {result.missing[0]}")
    found = diagnosis.explain(seen, result.findings, result.errors, len(result.files))
    if plot_path:
        try:
            diagnose_report.plot(found, plot_path)
        except OSError as exc:
            raise UsageProblem(f"cannot write {plot_path}: {exc.strerror}") from None
    _write(diagnose_report.as_json(found) if fmt == "json" else diagnose_report.text(found),
           output)
    sys.exit(exit_code(seen.symptoms, bool(result.errors), fail_on or settings.fail_on,
                       exit_zero))


@cli.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def list_rules(fmt: str) -> None:
    """List every rule: code, name, severity, summary. The static rules come first, then
    the verdicts of `cnnlint probe` (CNN4xx)."""
    from cnnlint.rule import load_rules
    from cnnlint.verdict import load_verdicts  # torch-free

    groups: list[tuple[str, list[Any]]] = [("static", list(load_rules().values())),
                                           ("probe", list(load_verdicts().values()))]
    if fmt == "json":
        rows: list[dict[str, Any]] = [
            {"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary,
             "options": r.option_defaults(), "kind": kind}
            for kind, found in groups for r in found]
        rows.sort(key=lambda row: row["code"])
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r.name) for _, found in groups for r in found)
    for kind, found in groups:
        if kind == "probe":
            click.echo("\nVerdicts of `cnnlint probe` (a short training run measures them):")
        for r in found:
            click.echo(f"{r.code}  {r.name:<{width}}  {r.severity:<7}  {r.summary}")


@cli.command()
@click.argument("rule")
def explain(rule: str) -> None:
    """Print a rule's documentation (by code or name)."""
    from cnnlint.config import did_you_mean
    from cnnlint.rule import load_rules

    from cnnlint.verdict import load_verdicts  # torch-free: probe verdicts explain too

    rules: dict[str, Any] = {**load_rules(), **load_verdicts()}
    by_key = {**{r.name: r for r in rules.values()}, **rules}
    found = by_key.get(rule) or by_key.get(rule.upper())
    if found is None:
        raise UsageProblem(f"unknown rule `{rule}`{did_you_mean(rule, by_key)}")
    click.echo(f"{found.code} {found.name} ({found.severity})\n")
    click.echo(found.documentation())
    if getattr(found, "fix_safety", None) is not None:
        import textwrap

        from cnnlint.docs import fix_diff, fix_summary

        click.echo("\n## Fix\n" + textwrap.fill(fix_summary(found), 92) + "\n")
        click.echo(fix_diff(*found.fixed[0]), nl=False)
    defaults = found.option_defaults()
    if defaults:
        section = "probes" if found.code.startswith("CNN4") else "rules"
        click.echo(f"\nOptions ([tool.cnnlint.{section}.{found.name}]):")
        for key, value in defaults.items():
            click.echo(f"  {key} = {json.dumps(value)}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: click errors become one line on stderr and exit code 2. Run as the
    `cnnlint` command (no argv given), it ends without tearing its heap down."""
    try:
        _main(argv)
    except SystemExit as exc:
        if argv is None:
            _finish(exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1)
        raise


def _finish(code: int) -> None:
    """Exit at once, as mypy does: freeing every object of a large run costs tens of
    milliseconds that nobody waits for. Output is flushed first; the caches were written
    and worker pools shut down before. Not under a tracer or coverage, whose exit hooks
    must run."""
    if sys.gettrace() is not None or "coverage" in sys.modules:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe (`cnnlint | head`)
        code = code or EXIT_ERROR
    os._exit(code)


def _main(argv: list[str] | None) -> None:
    try:
        os.getcwd()  # paths, the config and the project root are all found from it
    except FileNotFoundError:
        click.echo("cnnlint: error: the current folder no longer exists", err=True)
        sys.exit(EXIT_ERROR)
    try:
        cli.main(args=argv, prog_name="cnnlint", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        message = exc.format_message()
        if isinstance(exc, click.NoSuchOption):  # only a close match is worth suggesting
            message = exc.message + suggest_option(exc.option_name, exc.possibilities or [])
        if isinstance(exc, click.UsageError) and not isinstance(exc, UsageProblem):
            command = exc.ctx.command_path if exc.ctx else "cnnlint"
            message += f" (see `{command} --help`)"
        click.echo(f"cnnlint: error: {message}", err=True)
        sys.exit(EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("cnnlint: aborted", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_CLEAN)
