"""One lint run: paths -> files -> facts -> project -> rules -> suppressions -> result.

The engine never prints and never exits; the CLI decides what to show and the exit code.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from cnnlint import __version__, ir, suppress
from cnnlint.architectures import one_per_architecture, standalone
from cnnlint.cache import Cache, code_stamp, content_key, quick_key
from cnnlint.config import Settings
from cnnlint.extract.frames import forget_run_caches
from cnnlint.extract.models import build_interp, extract_models, model_files
from cnnlint.extract.training import extract_runs
from cnnlint.extract.source import FileFacts, analyse_source, module_name
from cnnlint.sources import ReadError, decode_python, notebook_cells, read_bytes, read_python
from cnnlint.fanout import can_fork, fan_out, no_cyclic_gc
from cnnlint.extract.modules import ProjectModules
from cnnlint.files import discover, display_path, matches
from cnnlint.project import Project, is_entry, may_train
from cnnlint.locate import Locator
from cnnlint.findings import ErrorEntry, Finding, Related
from cnnlint.notebook import cell_position, joined_line
from cnnlint.rule import Rule
from cnnlint.stack_room import with_stack_room


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    errors: list[ErrorEntry] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    models: list[ir.Model] = field(default_factory=list)
    # With --trace, the models as read from the source before traced graphs replaced some:
    # fixes edit the source, so they are found on these.
    read_models: list[ir.Model] | None = None
    runs: list[ir.TrainingRun] = field(default_factory=list)
    facts: dict[str, FileFacts] = field(default_factory=dict)
    cached_notes: list[str] | None = None  # a run served from the run cache
    cached_partly: int | None = None
    trace_notes: list[str] = field(default_factory=list)  # what --trace traced, and how
    trace_skipped: list[str] = field(default_factory=list)  # what it left out (--verbose)
    context_notes: list[str] = field(default_factory=list)  # files read for context only
    may_train: dict[str, bool] = field(default_factory=dict)  # looks like training code
    entry: dict[str, bool] = field(default_factory=dict)  # the entry test, by file
    project_root: str | None = None
    # Autofixes (`cnnlint.autofix`): the safety of each finding's fix (kept in the run
    # cache), and the fixes themselves with the parsed files they edit (this run only).
    fixable: dict[Finding, str] = field(default_factory=dict)
    fixes: dict[Finding, Any] = field(default_factory=dict)
    fix_context: Any = None
    _read: dict[str, list[str]] = field(default_factory=dict, repr=False)  # lines, by path

    def source_line(self, finding: Finding) -> str:
        line = finding.line
        cells = notebook_cells(finding.path) if finding.cell else None
        if cells:
            line = joined_line(cells, finding.cell or 1, line)
        return self.line_text(finding.path, line)

    def line_text(self, path: str, line: int) -> str:
        """The text of a line of a file as it was analysed ("" when there is none): for
        baselines, and for the SARIF output's columns and fingerprints. In a notebook,
        `line` counts in the cells joined."""
        facts = self.facts.get(path)
        if facts is not None:
            lines = facts.lines
        elif path in self._read:
            lines = self._read[path]
        else:
            lines = self._read[path] = _read_lines(path)
        if not 0 < line <= len(lines):
            return ""
        return lines[line - 1]

    def partly_read(self) -> int:
        """How many models of the named files were read only partially."""
        if self.cached_partly is not None:
            return self.cached_partly
        return sum(1 for m in self.models if m.network.unresolved and m.path in self.files)

    def notes(self) -> list[str]:
        """"Partially analysed" notes for --verbose."""
        if self.cached_notes is not None:
            return self.cached_notes
        partial = [f"{m.path}: {m.label}: partially analysed: {'; '.join(m.network.unresolved)}"
                   for m in self.models if m.network.unresolved and m.path in self.files]
        training = [note for run in self.runs for note in run.notes]
        # Each pass of a loop around a training loop is a run of its own: one note each.
        notes = dict.fromkeys(self.trace_skipped + partial + training + self.context_notes)
        return [_NOTEBOOK_PLACE.sub(_place_in_cells, note) if ".ipynb:" in note else note
                for note in notes]


def _read_lines(path: str) -> list[str]:
    try:
        return read_python(path).splitlines()
    except ReadError:
        return []


def _in_cells(finding: Finding) -> Finding:
    """A notebook finding with its lines counted within its code cell, as Jupyter shows
    them (the analysis sees the cells joined into one text), in its message too."""
    related = tuple(_related_in_cells(r) for r in finding.related)
    if ".ipynb:" in finding.message:
        finding = replace(finding, message=_NOTEBOOK_PLACE.sub(_place_in_cells, finding.message))
    if finding.code == "CNN900" and " line " in finding.message:
        finding = _error_in_its_cell(finding)
        # Python's own text counts the joined lines too ("detected at line 93").
        finding = replace(finding, message=_PYTHON_LINE.sub(
            lambda m: _line_in_cells(finding.path, m), finding.message))
    place = _cell_lines(finding.path, finding.line, finding.end_line)
    if place is None:
        return replace(finding, related=related) if related != finding.related else finding
    cell, line, end_line, same_cell = place
    end_column = finding.end_column if same_cell else finding.column
    return replace(finding, cell=cell, line=line, end_line=end_line, end_column=end_column,
                   related=related)


# A place a message names in a notebook (`Adam` at "train.ipynb:56"), in joined lines. Its
# path may hold spaces and parentheses ("sub dir/copy (1).ipynb"), so the words before it are
# taken too (a word may open a parenthesis of the message: "(from a.ipynb:3)") and the
# notebook is the longest run of them ending in ".ipynb" that is a notebook read.
_NOTEBOOK_PLACE = re.compile(r"((?:[^\s`'\"]+ )*[^\s`'\"]+\.ipynb):(\d+)\b")


# A line Python's syntax error text names: "on line 126", "(detected at line 93)".
_PYTHON_LINE = re.compile(r"\b(on|at) line (\d+)\b")


def _error_in_its_cell(finding: Finding) -> Finding:
    """A syntax error Python finds at the start of the next cell, about a statement it names
    in an earlier one ("expected an indented block after 'if' statement on line 2": the cell
    ends before the body): Jupyter reads each cell alone, so the error is that statement's."""
    cells = notebook_cells(finding.path)
    match = _PYTHON_LINE.search(finding.message)
    if not cells or match is None:
        return finding
    named = int(match.group(2))
    if named >= finding.line or cell_position(cells, named)[0] == \
            cell_position(cells, finding.line)[0]:
        return finding
    return replace(finding, line=named, column=1, end_line=named, end_column=1)


def _line_in_cells(path: str, match: re.Match[str]) -> str:
    place = _cell_lines(path, int(match.group(2)), int(match.group(2)))
    return match.group(0) if place is None else \
        f"{match.group(1)} line {place[1]} of cell {place[0]}"


def _place_in_cells(match: re.Match[str]) -> str:
    words = match.group(1).split(" ")
    for start in range(len(words)):
        path = " ".join(words[start:])
        before = " ".join(words[:start] + [""]) if start else ""
        # (The parenthesis a message opens right before the path: "`Net` (demo.ipynb:7)".)
        for opened in ("", "(") if path.startswith("(") else ("",):
            place = _cell_lines(path[len(opened):], int(match.group(2)), int(match.group(2)))
            if place is not None:
                return f"{before}{path}:cell {place[0]}:{place[1]}"
    return match.group(0)


def _related_in_cells(related: Related) -> Related:
    place = _cell_lines(related.path, related.line, related.end_line)
    if place is None:
        return related
    cell, line, end_line, _ = place
    return replace(related, cell=cell, line=line, end_line=end_line)


def _cell_lines(path: str, line: int, end_line: int) -> tuple[int, int, int, bool] | None:
    """(cell, line, end line, whether the span ends in that cell) for a notebook's joined
    lines, else None. A span cannot leave its cell: it then ends on its first line."""
    cells = notebook_cells(path)
    if not cells:
        return None
    cell, first = cell_position(cells, line)
    end_cell, last = cell_position(cells, end_line)
    same_cell = end_cell == cell
    return cell, first, last if same_cell else first, same_cell


def _internal(path: str, what: str, exc: BaseException) -> ErrorEntry:
    return ErrorEntry(path=path, kind="internal",
                      message=f"{what} failed: {type(exc).__name__}: {exc}")


READING_RECURSION_LIMIT = 6_000  # Python frames while reading (see `lint`)


def lint(paths: list[str], settings: Settings, rules: dict[str, type[Rule]],
         cache: Cache | None = None, jobs: int = 1, trace: Any = None,
         report_everything: bool = False, fixes: bool = False, fresh: bool = False) -> Result:
    """Lint `paths`. Analysis covers the project around them (see `cnnlint.project`): the
    scripts that train their models and everything those import; findings are reported for
    the files named, and cross-file findings for either of their ends (`report_everything`:
    for every file analysed, as the probe wants for the scripts that train its model).

    With `trace` (a `cnnlint.trace.runner.TraceSettings`) the models are also imported and
    traced, and the traced graphs replace the statically read ones.

    `fixes`: also ask the rules for each finding's fix (`result.fixable`, `result.fixes`);
    it re-parses the files with fixable findings, so only runs that show or apply fixes pay
    for it. `fresh`: never serve the run from the whole-run cache, which keeps only
    whether a finding has a fix (`--fix` needs the fix itself)."""
    # (Reading code recurses deeply, up and down: see `cnnlint.stack_room`.) The reader's
    # own limit on nested calls (MAX_CALL_DEPTH) is the one that should stop it: a function
    # read 40 calls deep, each call some 25-60 Python frames, passes Python's default limit
    # of 1,000 frames, and a training script would be given up as too complex.
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, READING_RECURSION_LIMIT))
    try:
        return with_stack_room(_lint, paths, settings, rules, cache, jobs, trace,
                               report_everything, fixes, fresh)
    finally:
        sys.setrecursionlimit(previous)
        forget_run_caches()  # (they hold the run's code)


def _lint(paths: list[str], settings: Settings, rules: dict[str, type[Rule]],
          cache: Cache | None, jobs: int, trace: Any, report_everything: bool, fixes: bool,
          fresh: bool) -> Result:
    found = discover(paths, settings.exclude, settings.root, settings.respect_gitignore)
    result = Result(files=found.files, missing=found.missing)
    result.errors.extend(ErrorEntry(path=p, kind="read", message=(
        "not a Python file (name .py files, .ipynb notebooks, folders, or scripts with a "
        "python shebang)"))
        for p in found.not_python)
    project = Project.open(found.files, settings.exclude, settings.root, cache,
                           settings.respect_gitignore, given=paths)
    scope = Scope.of(project, found.files)
    result.project_root = project.root
    content_keys: dict[str, str] = {}
    kept: dict[str, Any] = {}  # node positions of a small run: findings located, no re-parse
    keys = _analyse_files(scope.analysed, result, cache, jobs, content_keys, kept,
                          reported=set(found.files))
    # A traced run depends on code the cache does not see (imports, installed packages).
    run_key = _run_key(keys, settings, rules, found.files, project.root) \
        if cache is not None and keys is not None and trace is None \
        and not report_everything else None
    if run_key is not None and cache is not None and not fresh:
        cached = cache.get_run(run_key)
        if cached is not None and _restore_run(cached, result, fixes):
            return result
    active = [rules[code](settings.options.get(code)) for code in settings.enabled
              if code in rules]
    loader = _Loader(result, cache, content_keys)
    # Building models allocates millions of objects while what is kept (every file's
    # lowered code, the models built so far) only grows: the cyclic collector's passes over
    # it cost a fifth of a zoo's run and free a few megabytes.
    with no_cyclic_gc():
        findings = _run_rules(active, result, Locator(cache, content_keys, kept), jobs=jobs,
                              trace=trace, scope=scope, modules=ProjectModules(
                                  project, loader, None))
    if not report_everything:
        # A model named with --model is reported where it is defined, linted there or not.
        reported = frozenset(found.files) | {m.path for m in result.models if m.requested_as}
        findings = [f for f in findings if f.touches(reported)]
    result.findings = [_in_cells(f) for f in _suppress(_dedupe(findings), result.facts,
                                                       settings)]
    if fixes:
        from cnnlint import autofix  # only runs that show or apply fixes pay for it

        with no_cyclic_gc():  # it indexes every layer of every model: see above
            autofix.offer(result, active)
    kept.clear()  # a position read after the run parses its file again
    result.errors.sort(key=lambda e: (e.path, e.kind, e.message))
    if run_key is not None and cache is not None and not result.errors:
        payload = {"findings": [f.to_dict() for f in result.findings],
                   "notes": result.notes(), "partly": result.partly_read()}
        if fixes:
            payload["fixable"] = [[i, result.fixable[f]] for i, f in
                                  enumerate(result.findings) if f in result.fixable]
        cache.put_run(run_key, payload)
    return result


@dataclass
class Scope:
    """What one run reads and for which files it reports (display paths)."""

    reported: list[str]  # the files named on the command line
    analysed: list[str]  # those, the scripts that import them, and everything they import
    # The files that get a script pass (they may train something); None: every analysed
    # file whose bytes pass `may_train` (a run over the whole project needs no index).
    entries: list[str] | None

    @classmethod
    def of(cls, project: Project, files: list[str]) -> Scope:
        by_abs = {os.path.abspath(p): p for p in files}
        analysed, entries = project.analysis_set(list(by_abs))
        name = lambda path: by_abs.get(path) or display_path(path)  # noqa: E731
        # The named files first: their read errors are the run's.
        others = [name(p) for p in analysed if p not in by_abs]
        return cls(reported=list(files), analysed=[*files, *others],
                   entries=None if entries is None else [name(p) for p in entries])


class _Loader:
    """Reads a project file the interpreter imports that the scope did not foresee."""

    def __init__(self, result: Result, cache: Cache | None, keys: dict[str, str]) -> None:
        self.result, self.cache, self.keys = result, cache, keys

    def __call__(self, path: str) -> FileFacts | None:
        shown = display_path(path)
        facts = self.result.facts.get(shown)
        if facts is not None:
            return facts
        try:
            data = read_bytes(path)
        except ReadError:
            return None
        key = content_key(data) if self.cache is not None else quick_key(data)
        cached = self.cache.get_facts(key) if self.cache is not None else None
        value = cached if cached is not None else _analyse_one((shown, data))[0]
        if value is None:
            return None
        if cached is None and self.cache is not None:
            self.cache.put_facts_payload(key, marshal.dumps(value))
        self.keys[shown] = key
        facts = self.result.facts[shown] = _facts_from(shown, data, value)
        return facts


def _analyse_files(paths: list[str], result: Result, cache: Cache | None, jobs: int,
                   content_keys: dict[str, str], kept: dict[str, Any],
                   reported: set[str] | None = None) -> list[tuple[str, str]] | None:
    """Fill result.facts (from the cache, or by analysing); return (path, content key) for
    the run key, or None when some file could not be read. A run of a few files, or a
    sequential run of a few megabytes, keeps their node positions in `kept`: the files with
    findings then need no second parse for line numbers."""
    keys: list[tuple[str, str]] | None = []
    pending: list[tuple[str, bytes, str]] = []
    for path in paths:
        try:
            data = read_bytes(path)
        except ReadError as exc:
            _file_error(result, ErrorEntry(path=path, kind="read", message=str(exc)), reported)
            keys = None
            continue
        key = content_key(data) if cache is not None else quick_key(data)
        content_keys[path] = key
        result.may_train[path] = may_train(data)
        result.entry[path] = is_entry(data)
        if keys is not None:
            keys.append((path, key))
        cached = cache.get_facts(key) if cache is not None else None
        if cached is not None:
            result.facts[path] = _facts_from(path, data, cached)
        else:
            pending.append((path, data, key))
    if jobs > 1 and len(pending) >= MIN_PARALLEL_FILES:
        outcomes = _analyse_parallel([(p, d) for p, d, _ in pending], jobs)
    else:
        small = len(pending) <= MIN_PARALLEL_FILES \
            or sum(len(data) for _, data, _ in pending) <= KEEP_POSITIONS_BYTES
        keep = kept if small else None
        with no_cyclic_gc():
            outcomes = [_analyse_one((p, d), keep) for p, d, _ in pending]
    for (path, data, key), (value, error) in zip(pending, outcomes):
        if error is not None:
            _file_error(result, error, reported)
            keys = None
            continue
        result.facts[path] = _facts_from(path, data, value)
        if cache is not None:
            cache.put_facts_payload(key, marshal.dumps(value))
    result.facts = {p: result.facts[p] for p in paths if p in result.facts}
    for path, facts in result.facts.items():
        if facts.syntax_error is not None and reported is not None and path not in reported:
            result.context_notes.append(
                f"{path}: not analysed: syntax error at line {facts.syntax_error[1]} "
                "(what it defines is unknown to the files that import it)")
    return keys


def _file_error(result: Result, error: ErrorEntry, reported: set[str] | None) -> None:
    """A named file's error is the run's; a file read only for context is a verbose note."""
    if reported is None or error.path in reported:
        result.errors.append(error)
    else:
        result.context_notes.append(f"{error.path}: not analysed ({error.kind}): "
                                    f"{error.message}")


def _facts_from(path: str, data: bytes, value: tuple[Any, ...]) -> FileFacts:
    """FileFacts from the (body, spans, syntax error) triple the cache and workers carry."""
    body, spans, syntax_error = value
    try:
        lines = decode_python(data).splitlines()
    except ReadError:
        lines = []
    return FileFacts(path=path, module=module_name(path), body=body, spans=spans,
                     syntax_error=syntax_error, lines=lines)


# Below this many files to analyse, starting workers costs more than it saves.
MIN_PARALLEL_FILES = 8
# A sequential run keeps the node positions of up to this much source (with the source, for
# its columns), so that the files with findings need no second parse for line numbers. They
# take about 7x the source in memory, so this is about 30 MB.
KEEP_POSITIONS_BYTES = 4_000_000


def _analyse_parallel(items: list[tuple[str, bytes]], jobs: int
                      ) -> list[tuple[Any, ErrorEntry | None]]:
    """Analyse in `jobs` forked workers, largest files first, each taking the next file
    when free. Workers send facts back as marshal data."""
    if not can_fork():
        return _analyse_spawned(items, jobs)
    largest_first = sorted(range(len(items)), key=lambda i: -len(items[i][1]))
    with no_cyclic_gc():
        done = fan_out([[i] for i in largest_first], lambda i: _analyse_one(items[i]), jobs,
                       dump=_dump_outcomes, load=_load_outcomes)
    return [done[i] for i in range(len(items))]


def _dump_outcomes(done: list[tuple[int, tuple[Any, ErrorEntry | None]]]) -> bytes:
    return marshal.dumps([(i, value, error and (error.path, error.kind, error.message))
                          for i, (value, error) in done])


def _load_outcomes(payload: bytes) -> list[tuple[int, tuple[Any, ErrorEntry | None]]]:
    return [(i, (value, error and ErrorEntry(*error)))
            for i, value, error in marshal.loads(payload)]


def _analyse_spawned(items: list[tuple[str, bytes]], jobs: int
                     ) -> list[tuple[Any, ErrorEntry | None]]:
    """Where there is no fork (Windows), workers are fresh interpreters that import the
    engine and take files in chunks; this process waits."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_analyse_one, items, chunksize=max(1, len(items) // (4 * jobs))))


def _analyse_one(item: tuple[str, bytes], keep: dict[str, Any] | None = None
                 ) -> tuple[tuple[Any, ...] | None, ErrorEntry | None]:
    """One file's facts as the (body, spans, syntax error) triple the cache stores."""
    path, data = item
    try:
        facts = analyse_source(path, decode_python(data), spans=False, keep=keep)
        return (facts.body, None, facts.syntax_error), None
    except ReadError as exc:
        return None, ErrorEntry(path=path, kind="read", message=str(exc))
    except RecursionError:
        return None, ErrorEntry(path=path, kind="read", message=(
            "the file nests too deeply to analyse (recursion limit)"))
    except Exception as exc:  # a bug in cnnlint must not stop the run
        return None, _internal(path, "reading the file", exc)


def _run_key(keys: list[tuple[str, str]], settings: Settings,
             rules: dict[str, type[Rule]], reported: list[str], root: str | None) -> str:
    import hashlib

    digest = hashlib.sha256()
    parts = [f"cnnlint {__version__} {code_stamp()}", os.path.abspath(os.getcwd()), repr(root),
             repr(sorted(reported)), repr(sorted(keys)), repr(settings.enabled),
             repr(sorted((c, repr(o)) for c, o in settings.options.items())),
             repr(settings.per_file_ignores), settings.root,
             repr(sorted((c, r.__module__) for c, r in rules.items()))]
    digest.update("\0".join(parts).encode())
    return digest.hexdigest()


def _restore_run(cached: dict[str, Any], result: Result, fixes: bool = False) -> bool:
    """Fill `result` from a cached run; False when it cannot (a damaged entry, or one made
    without the fixes this run must show)."""
    try:
        if fixes and "fixable" not in cached:
            return False
        result.findings = [Finding.from_dict(f) for f in cached["findings"]]
        result.cached_notes = [str(n) for n in cached.get("notes", [])]
        result.cached_partly = int(cached.get("partly", 0))
        if fixes:
            result.fixable = {result.findings[i]: str(safety)
                              for i, safety in cached["fixable"]}
    except (TypeError, KeyError, IndexError, ValueError):
        return False
    return True


def _trained_sites(runs: list[ir.TrainingRun]) -> set[tuple[str, int]]:
    """The (path, line) of every build of a model the runs train."""
    return {(site.path, site.line) for run in runs for m in run.models
            for site in (m.loc, *m.sites) if site is not None}


def _trained_builds(runs: list[ir.TrainingRun]) -> dict[str, frozenset[tuple[str, int]]]:
    """For each class key the runs train, the (path, line) of each build they train it by;
    empty when one is not known: built where the reader could not say, one of several
    networks, picked by name, or trained as a block of another network."""
    sites: dict[str, set[tuple[str, int]]] = {}
    unknown: set[str] = set()
    for run in runs:
        unknown.update(run.choices)
        for m in run.models:
            unknown.update(key for key in m.parts if key not in m.keys)
            for key in m.keys:
                if m.loc is None or m.sites:
                    unknown.add(key)
                else:
                    sites.setdefault(key, set()).add((m.loc.path, m.loc.line))
    return {key: frozenset() if key in unknown else frozenset(found)
            for key, found in sites.items()}


def _run_rules(active: list[Rule], result: Result, locator: Locator | None = None,
               jobs: int = 1, trace: Any = None, scope: Scope | None = None,
               modules: ProjectModules | None = None) -> list[Finding]:
    findings: list[Finding] = []
    reported = set(scope.reported) if scope is not None else set(result.facts)
    facts = list(result.facts.values())
    for rule in active:
        for file_facts in facts:
            if file_facts.path in reported:
                findings.extend(_guard(rule, file_facts.path, rule.check_file, file_facts,
                                       errors=result.errors))
    runs: list[ir.TrainingRun] = []
    interp = None
    try:
        interp = build_interp((f for f in facts if f.syntax_error is None), locator, modules)
        entries = scope.entries if scope is not None else None
        if scope is not None and entries is None:
            entries = sorted(p for p, entry in result.entry.items() if entry)
        runs = extract_runs(interp, result.errors, entries=entries)  # type: ignore[arg-type]
        skipped = [p for p in interp.skipped_frameworks if p in reported]  # type: ignore[attr-defined]
        if skipped:
            result.context_notes.append(
                f"{len(skipped)} file{'s use' if len(skipped) != 1 else ' uses'} another framework "
                f"(MXNet, TensorFlow, ...), not PyTorch, and get no training rules: "
                f"{', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}")
        trained = {key for run in runs for model in run.models for key in model.keys}
        trained.update(key for run in runs for key in run.choices)  # to look inside them
        result.models = standalone(extract_models(
            interp, result.errors, jobs=jobs,
            wanted=lambda path, key: path in reported or key in trained,
            notes=result.context_notes,
            trained_at=_trained_sites(runs),
            trained_builds=_trained_builds(runs)), trained)
        if trace is not None:
            _trace(trace, result, [p for p in model_files(interp) if p in reported])
    except Exception as exc:  # pragma: no cover - a bug in loading; reported, not raised
        result.errors.append(_internal(facts[0].path if facts else "", "model extraction", exc))
    result.runs = runs
    lost = list(getattr(interp, "lost_training", ()))
    why_unread: dict[str, str] = {}  # each file once, with the first reason
    for path, why in getattr(interp, "unread_training", ()):
        why_unread.setdefault(path, why)
    unread = tuple(why_unread)
    for path, why in why_unread.items():
        result.context_notes.append(
            f"{path}: its code could not be read to the end ({why}): whether it trains a "
            "network is not known, so no network is said to have no training script")
    result.context_notes.extend(dict.fromkeys(getattr(interp, "failed_builds", ())))
    handed = tuple(dict.fromkeys(getattr(interp, "handed_training", ())))
    for path in handed:
        result.context_notes.append(
            f"{path}: builds an optimizer over weights that could not be followed to a model "
            "and hands them to code that could not be followed: any network may be what it "
            "trains, so none is said to have no training script")
    project = ir.ProjectFacts(models=result.models, paths=list(result.facts), runs=runs,
                              handed_off=frozenset(getattr(interp, "handed_off", ())),
                              handed_off_whole=frozenset(
                                  getattr(interp, "handed_off_whole", ())),
                              handed_off_parts=frozenset(
                                  getattr(interp, "handed_off_parts", ())),
                              library_builds=frozenset(getattr(interp, "library_builds", ())),
                              unread_scripts=tuple(
                                  f.path for f in facts if f.syntax_error is not None
                                  and result.may_train.get(f.path)) + unread,
                              unfollowed_training=tuple(
                                  path for path, keys, _ in lost if not keys) + handed)
    for path, keys, how in dict.fromkeys(lost):
        names = list(dict.fromkeys(k.split(":")[-1] for k in keys if ":<" not in k))
        more = f" or {len(names) - 3} more" if len(names) > 3 else ""
        which = ("any model may be what it trains" if not names else
                 f"{' or '.join(names[:3])}{more} may be what it trains")
        result.context_notes.append(
            f"{path}: {how} ({which}): rules about its training stay silent")
    per_model: list[tuple[ir.Model, list[Finding]]] = []
    for model, (found_by_rule, errors) in zip(result.models,
                                               _judge_models(result.models, active, project, jobs)):
        per_model.extend((model, found) for found in found_by_rule)
        result.errors.extend(errors)
    for rule in active:
        findings.extend(_guard(rule, "", rule.check_project, project, errors=result.errors))
    findings.extend(one_per_architecture(per_model, _trained_sites(runs)))
    return findings


MIN_PARALLEL_JUDGING = 64  # models: below this, forking costs more than it saves
JUDGING_CHUNK = 8  # models handed to a worker at a time

Judged = tuple[list[list[Finding]], list[ErrorEntry]]  # each rule's findings; rule failures


def _judge_models(models: list[ir.Model], active: list[Rule], project: ir.ProjectFacts,
                  jobs: int) -> list[Judged]:
    """Every rule's `check_model` on each model. With jobs > 1, forked workers judge chunks
    of models (they inherit the models and the project's facts) and send back findings
    only: the rules need every model at hand, so they run once all are built."""
    def judge(i: int) -> Judged:
        return _judge(models[i], active, project)

    if jobs > 1 and len(models) >= MIN_PARALLEL_JUDGING and can_fork():
        import pickle

        chunks = [list(range(start, min(start + JUDGING_CHUNK, len(models))))
                  for start in range(0, len(models), JUDGING_CHUNK)]
        done = fan_out(chunks, judge, jobs, dump=lambda found: pickle.dumps(found, -1),
                       load=pickle.loads)
        return [done[i] for i in range(len(models))]
    return [judge(i) for i in range(len(models))]


def _judge(model: ir.Model, active: list[Rule], project: ir.ProjectFacts) -> Judged:
    """Every rule in turn on one model: its graph and the tables derived from it (ancestry
    bitmasks grow with the square of its size) are read while they are at hand, and
    dropped after."""
    errors: list[ErrorEntry] = []
    found_by_rule = []
    for rule in active:
        found = _guard(rule, model.path, rule.check_model, model, project, errors=errors)
        if model.source == "trace":
            of = f" of {model.requested_as}" if model.requested_as else ""
            found = [replace(f, message=f"{f.message} [{model.trace_method} trace{of}]")
                     for f in found]
        found_by_rule.append(found)
    model.network.cache.clear()
    return found_by_rule, errors


def _trace(trace: Any, result: Result, files: list[str]) -> None:
    """Trace the run's models; the traced graphs replace the static ones (same file and
    name), so each model is judged once, on the best picture of it."""
    from cnnlint.trace.runner import merge, trace_models

    outcome = trace_models(trace, result.models, files, result.files)
    result.read_models = result.models
    result.models = merge(result.models, outcome.models)
    result.errors.extend(outcome.errors)
    result.trace_notes.extend(outcome.notes)
    result.trace_skipped.extend(outcome.skipped)


def _guard(rule: Rule, path: str, check: object, *args: object,
           errors: list[ErrorEntry]) -> list[Finding]:
    """Run one rule hook; an exception becomes an `internal` error naming rule and file."""
    try:
        return list(check(*args))  # type: ignore[operator]
    except Exception as exc:
        where = f" on {path}" if path else ""
        errors.append(_internal(path, f"rule {rule.code} ({rule.name}){where}", exc))
        return []


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per rule and place: a layer built in a loop, or a block shared by several
    models, is reported once, at its source."""
    seen: dict[tuple[str, str, int, int], Finding] = {}
    for finding in findings:
        seen.setdefault((finding.code, finding.path, finding.line, finding.column), finding)
    return sorted(seen.values(), key=Finding.sort_key)


def _suppress(findings: list[Finding], facts: dict[str, FileFacts],
              settings: Settings) -> list[Finding]:
    parsed = {path: suppress.parse(f.lines) for path, f in facts.items()}
    kept = []
    for finding in findings:
        noqa = parsed.get(finding.path)
        if noqa is not None and noqa.suppresses(finding.line, finding.end_line, finding.code,
                                                finding.name):
            continue
        if any(finding.code in codes and matches(finding.path, [glob], settings.root)
               for glob, codes in settings.per_file_ignores):
            continue
        kept.append(finding)
    return kept
