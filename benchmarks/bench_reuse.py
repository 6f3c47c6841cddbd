"""Reuse is exact: every model of real code is read the same with and without reuse, and in
every process.

    python benchmarks/bench_reuse.py [--zoo DIR] [--skip-zoo] [--skip-installed]

Reading a model reuses what was read before: constructions of a block with the same
arguments are copied from a template, and forward passes of blocks of the same structure are
replayed from a recorded fragment. Both are meant to change the speed only. On the corpora
of `bench_lint.py` (the model packages installed beside cnnlint, and the pytorchcv zoo) each
corpus is read three times, each in a fresh process:

- reuse off, string hash seed 1    (the reference)
- reuse on,  string hash seed 1    every model must equal the reference, node for node
- reuse on,  string hash seed 4    the same (set iteration order must not leak into graphs)

A model's description holds its node list (kind, inputs, name, owner, arguments, location,
functional or not), outputs, unresolved names and weight inits. The script prints the
models that differ and exits 1 when any does, with each reading's CPU time for
information (reuse on against off).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import corpora  # noqa: E402 - beside this script

READINGS = [("off", "1"), ("on", "1"), ("on", "4")]


def reading_of(model: Any) -> tuple[Any, ...]:
    """What reading the model produced, comparable between readings (its key, which names
    the model, left out). The memo's tests compare models by it too."""
    network = model.network
    nodes = tuple((n.kind, n.inputs, n.name, n.owner, tuple(sorted(n.args.items(), key=repr)),
                   (n.loc.line, n.loc.column) if n.loc else None, n.functional)
                  for n in network.nodes)
    inits = tuple((i.target, i.method, i.value, i.layer_kinds) for i in model.inits)
    return nodes, tuple(network.outputs), tuple(network.unresolved), inits


def without_reuse(interp: Any) -> None:
    """Make `interp` read every construction and forward afresh."""
    interp.construction_memo = lambda: None
    interp.forward_memo = lambda: None


def read_folder(folder: str, reuse: bool) -> None:
    """(In a child process) print {model key: digest of its reading} and the CPU time, as
    JSON."""
    import time

    from cnnlint.extract.models import build_interp, extract_models
    from cnnlint.extract.source import analyse_source

    paths = sorted(Path(folder).rglob("*.py"))
    facts = [analyse_source(str(p), p.read_text(encoding="utf-8")) for p in paths]
    start = time.process_time()
    interp = build_interp(facts)
    if not reuse:
        without_reuse(interp)
    models = {m.key: hashlib.sha256(repr(reading_of(m)).encode()).hexdigest()
              for m in extract_models(interp)}
    print(json.dumps({"models": models, "cpu": time.process_time() - start}))


def reading(folder: Path, reuse: str, seed: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, __file__, "--read", str(folder), "--reuse", reuse],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"reading {folder} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def compare(name: str, folder: Path) -> int:
    """The number of models that differ from the reference in any reading."""
    results = {(reuse, seed): reading(folder, reuse, seed) for reuse, seed in READINGS}
    reference = results[READINGS[0]]["models"]
    assert isinstance(reference, dict)
    differing: set[str] = set()
    for (reuse, seed), result in list(results.items())[1:]:
        models = result["models"]
        assert isinstance(models, dict)
        bad = sorted(k for k in reference.keys() | models.keys()
                     if reference.get(k) != models.get(k))
        differing.update(bad)
        label = f"reuse {reuse}, seed {seed}"
        named = f": {', '.join(k.rsplit(':', 1)[-1] for k in bad[:20])}" if bad else ""
        print(f"  {label}: {len(bad)} of {len(reference)} models differ{named}", flush=True)
    cpu = {key: float(result["cpu"]) for key, result in results.items()}  # type: ignore[arg-type]
    print(f"  CPU: reuse off {cpu[READINGS[0]]:.1f} s, on {cpu[READINGS[1]]:.1f} s "
          f"(seed 1), {cpu[READINGS[2]]:.1f} s (seed 4)")
    print(f"{name}: {'FAIL' if differing else 'pass'} ({len(reference)} models)", flush=True)
    return len(differing)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", metavar="DIR", help="the zoo's models folder (default: "
                        f"download {corpora.ZOO_PACKAGE})")
    parser.add_argument("--skip-zoo", action="store_true", help="leave the zoo out")
    parser.add_argument("--skip-installed", action="store_true",
                        help="leave the installed model packages out")
    parser.add_argument("--read", metavar="DIR", help=argparse.SUPPRESS)  # a child's work
    parser.add_argument("--reuse", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        read_folder(args.read, args.reuse == "on")
        return 0
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        if not args.skip_installed:
            if corpora.installed_models(corpus):
                failed += compare("installed model packages", corpus)
            else:
                print("installed model packages: none installed (pip install monai "
                      "efficientnet-pytorch)")
        if not args.skip_zoo:
            zoo = corpora.zoo(root, args.zoo)
            if zoo is None:
                print(f"zoo: could not download {corpora.ZOO_PACKAGE}")
            else:
                failed += compare("zoo", zoo)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
