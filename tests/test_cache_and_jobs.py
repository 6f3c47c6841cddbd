"""The cache (per-file facts and whole runs) and parallel analysis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnnlint import engine
from cnnlint.cache import FORMAT, Cache

from helpers import BAD, run

FIXTURES = Path(__file__).parent / "fixtures"


def _json(args: list[str]) -> dict:
    code, out, err = run(["--format", "json", *args])
    assert code in (0, 1), err
    return json.loads(out)


def _entries(root: Path, kind: str) -> list[Path]:
    return sorted(p for p in (root / f"v{FORMAT}" / kind).rglob("*") if p.is_file())


def test_cache_folder_layout_and_reuse(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "pyproject.toml").write_text("[tool.cnnlint]\n")
    (in_tmp / "net.py").write_text(BAD)
    first = _json(["net.py"])
    cache = in_tmp / ".cnnlint_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")
    assert (cache / ".gitignore").read_text().endswith("*\n")
    assert len(_entries(cache, "facts")) == 1 and len(_entries(cache, "runs")) == 1

    def boom(*_: object, **__: object) -> None:
        raise AssertionError("the cache should have answered")

    real_analyse, real_rules = engine.analyse_source, engine._run_rules
    monkeypatch.setattr(engine, "analyse_source", boom)
    monkeypatch.setattr(engine, "_run_rules", boom)
    assert _json(["net.py"]) == first  # served from the run cache
    # Another file joins: the run is recomputed, but net.py's facts still come from the
    # cache (analyse_source is only allowed for the new file).
    monkeypatch.setattr(engine, "_run_rules", real_rules)
    monkeypatch.setattr(engine, "analyse_source",
                        lambda path, src, **kw: boom() if path == "net.py"
                        else real_analyse(path, src, **kw))
    (in_tmp / "other.py").write_text("x = 1\n")
    again = _json(["net.py", "other.py"])
    assert again["findings"] == first["findings"]
    assert len(_entries(cache, "facts")) == 2 and len(_entries(cache, "runs")) == 2


def test_corrupt_and_foreign_entries_are_ignored_and_rewritten(in_tmp: Path) -> None:
    (in_tmp / "net.py").write_text(BAD)
    first = _json(["net.py"])
    cache = in_tmp / ".cnnlint_cache"
    for entry in _entries(cache, "facts") + _entries(cache, "runs"):
        entry.write_bytes(b"\x00garbage, not a cache entry")
    assert _json(["net.py"]) == first
    for entry in _entries(cache, "facts"):
        assert entry.read_bytes().startswith(b"CNNLINT-CACHE\x00")  # rewritten
    facts = _entries(cache, "facts")[0]
    facts.write_bytes(facts.read_bytes()[:40])  # truncated: a torn write
    assert _json(["net.py"]) == first


def test_no_cache_cache_dir_and_environment(in_tmp: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (in_tmp / "net.py").write_text(BAD)
    _json(["--no-cache", "net.py"])
    assert not (in_tmp / ".cnnlint_cache").exists()
    _json(["--cache-dir", "elsewhere", "net.py"])
    assert (in_tmp / "elsewhere" / "CACHEDIR.TAG").exists()
    monkeypatch.setenv("CNNLINT_CACHE_DIR", str(in_tmp / "from-env"))
    _json(["net.py"])
    assert (in_tmp / "from-env" / "CACHEDIR.TAG").exists()
    assert not (in_tmp / ".cnnlint_cache").exists()


def test_unwritable_cache_is_skipped(in_tmp: Path) -> None:
    (in_tmp / "net.py").write_text(BAD)
    (in_tmp / "blocker").write_text("a file where the cache folder would go")
    data = _json(["--cache-dir", "blocker/cache", "net.py"])
    assert data["errors"] == [] and len(data["findings"]) == 1


@pytest.mark.slow
def test_two_runs_at_once_do_not_corrupt_the_cache(in_tmp: Path, torchvision_models: Any) -> None:
    torchvision_models(in_tmp / "models")
    command = [sys.executable, "-m", "cnnlint", "--format", "json", "--jobs", "1", "models"]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [p.communicate()[0] for p in procs]
    assert len({o for o in outputs}) == 1
    cache = Cache(str(in_tmp / ".cnnlint_cache"))
    for entry in _entries(in_tmp / ".cnnlint_cache", "facts"):
        assert cache.get_facts(entry.parent.name + entry.name) is not None
    assert not list((in_tmp / ".cnnlint_cache").rglob(".tmp-*"))
    warm = subprocess.run(command, capture_output=True, text=True)
    assert warm.stdout == outputs[0]


def test_jobs_output_is_identical(in_tmp: Path, torchvision_models: Any) -> None:
    torchvision_models(in_tmp / "models")
    shutil.copytree(FIXTURES / "projects", in_tmp / "projects")
    (in_tmp / "models" / "broken.py").write_text("def f(:\n")
    (in_tmp / "models" / "latin1.py").write_bytes(b"x = '\xe9'\n")
    outputs = []
    for jobs in ("1", "2", "3"):
        code, out, _ = run(["--no-cache", "--select", "ALL", "--format", "json", "--jobs", jobs,
                            "models", "projects"])
        outputs.append(out)
        assert code == 2  # the undecodable file
    assert outputs[0] == outputs[1] == outputs[2]
    data = json.loads(outputs[0])
    keys = [(f["path"], f["line"], f["column"], f["code"]) for f in data["findings"]]
    assert keys == sorted(keys)


def test_forked_model_building_gives_the_same_output(in_tmp: Path) -> None:
    """Past MIN_PARALLEL_MODELS, --jobs builds models in forked workers, and past
    MIN_PARALLEL_JUDGING runs the model rules in them (in a subprocess: the run is as a
    user's, without a tracer)."""
    from cnnlint.extract.models import MIN_PARALLEL_MODELS

    block = BAD.replace("class Net(", "class Net{i}(").replace("nn.Conv2d(3, 8, 3)",
                                                              "nn.Conv2d(3, 8, {i} + 1)")
    for part in range(8):
        (in_tmp / f"nets{part}.py").write_text("import torch.nn as nn\n" + "".join(
            block.replace("import torch.nn as nn\n", "").format(i=part * 10 + i)
            for i in range(10)))
    outputs = []
    for jobs in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-m", "cnnlint", "--no-cache", "--format", "json",
                               "--jobs", jobs, "."], capture_output=True, text=True)
        assert done.returncode == 1, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(json.loads(outputs[0])["findings"]) == 80 >= MIN_PARALLEL_MODELS


def test_models_built_in_workers_locate_each_file_once(in_tmp: Path) -> None:
    """The models workers send back point at the run's one locator, not at a copy per
    chunk: a copy would parse each file again for its line numbers."""
    for part in range(8):
        (in_tmp / f"nets{part}.py").write_text("import torch.nn as nn\n" + "".join(
            BAD.replace("import torch.nn as nn\n", "").replace("class Net(", f"class Net{i}(")
            for i in range(10)))
    script = (
        "import collections, sys\n"
        "from cnnlint import cli, locate\n"
        "computed = collections.Counter()\n"
        "inner = locate.Locator._compute\n"
        "def counted(self, path):\n"
        "    computed[path] += 1\n"
        "    return inner(self, path)\n"
        "locate.Locator._compute = counted\n"
        "try:\n"
        "    cli.main(['--no-cache', '--format', 'json', '--jobs', '2', '.'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(computed.values()), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    findings = json.loads(done.stdout)["findings"]
    assert len(findings) == 80 and all(f["line"] > 1 for f in findings)
    assert done.stderr.strip().splitlines()[-1] == str([1] * 8)


def test_cache_files_are_ordinary_files(in_tmp: Path) -> None:
    (in_tmp / "net.py").write_text(BAD)
    _json(["net.py"])
    entry = _entries(in_tmp / ".cnnlint_cache", "facts")[0]
    mask = os.umask(0)
    os.umask(mask)
    assert entry.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_sequential_run_locates_findings_without_parsing_again(
        in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More files than a parallel run starts for, at --jobs 1: the trees parsed for the
    analysis give the line numbers; past the kept-tree budget each file is parsed again,
    with the same positions."""
    from cnnlint import locate

    (in_tmp / "pyproject.toml").write_text("[tool.cnnlint]\n")
    count = engine.MIN_PARALLEL_FILES + 2
    for index in range(count):
        (in_tmp / f"net{index}.py").write_text("\n" * index + BAD)
    parses: list[str] = []
    real = locate.file_spans

    def counted(source: str) -> Any:
        parses.append(source)
        return real(source)

    monkeypatch.setattr(locate, "file_spans", counted)
    args = ["--no-cache", "--jobs", "1", "--select", "CNN101", "."]
    kept = _json(args)
    assert parses == []
    lines = sorted((f["path"], f["line"]) for f in kept["findings"])
    assert lines == sorted((f"net{i}.py", 6 + i) for i in range(count))
    monkeypatch.setattr(engine, "KEEP_POSITIONS_BYTES", 0)
    assert _json(args)["findings"] == kept["findings"]
    assert len(parses) == count


def test_cache_keys_hold_cnnlint_own_code(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache entry made by other cnnlint code under the same version number (an install
    from git, a pre-commit `rev` update, an edited checkout) is not reused: every key holds
    a stamp of cnnlint's own files, which changes with any of them."""
    from cnnlint import cache

    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    source = tmp_path / "pkg" / "rule.py"
    source.write_text("x = 1\n")
    (tmp_path / "pkg" / "notes.txt").write_text("not code\n")
    before = cache.stamp_of([str(tmp_path / "pkg")])
    (tmp_path / "pkg" / "__pycache__" / "rule.py").write_text("compiled\n")
    (tmp_path / "pkg" / "notes.txt").write_text("still not code\n")
    assert cache.stamp_of([str(tmp_path / "pkg")]) == before
    source.write_text("x = 22\n")
    assert cache.stamp_of([str(tmp_path / "pkg")]) != before
    assert cache.code_stamp() == cache.code_stamp()  # computed once per process
    key = cache.content_key(b"import torch\n")
    monkeypatch.setattr(cache, "_STAMP", "other code")
    assert cache.content_key(b"import torch\n") != key


def test_a_lint_keeps_none_of_the_code_it_read_alive(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that lints again and again (a test session, an editor running flake8)
    must not keep every file it ever read: caches keyed by a statement's id hold the
    statement itself, so they last one run. Five more lints of a script with 40 `if`
    statements leave the memory where it was (each kept its code, some 60 KiB, before)."""
    import gc
    import tracemalloc

    from cnnlint.config import Flags, build_settings
    from cnnlint.rule import load_rules

    lines = ["import argparse", "import torch", "import torch.nn as nn",
             "parser = argparse.ArgumentParser()",
             'parser.add_argument("--width", type=int, default=8)',
             "args = parser.parse_args()",
             "model = nn.Sequential(nn.Conv2d(3, args.width, 3), nn.BatchNorm2d(args.width))",
             "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
             "for epoch in range(10):",
             '    for x, y in torch.utils.data.DataLoader(torch.load("t.pt"), batch_size=4):',
             "        optimizer.zero_grad()",
             "        nn.functional.mse_loss(model(x), y).backward()",
             "        optimizer.step()"]
    for i in range(40):
        lines += [f"    if epoch % {i + 2} == 0:",
                  f'        torch.save(model.state_dict(), "step_{i}.pth")']
    (tmp_path / "train.py").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    rules = load_rules()
    settings = build_settings(["train.py"], Flags(select=["ALL"]), rules)
    engine.lint(["train.py"], settings, rules)
    gc.collect()
    tracemalloc.start()
    try:
        engine.lint(["train.py"], settings, rules)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            engine.lint(["train.py"], settings, rules)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 32 * 1024, grown
