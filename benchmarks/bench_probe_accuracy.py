"""The probe's calibration: healthy networks must get no verdict, seeded failures the
verdict of their failure story, each over several seeds.

    python benchmarks/bench_probe_accuracy.py [--seeds 3] [--small] [--case NAME]
                                              [--markdown] [--json FILE] [--device cuda]

The cases are in `probe_cases.py`. Each run is `cnnlint probe` with its default settings
(30 steps, SGD lr 0.01 momentum 0.9 unless the case sets a rate) at the case's batch size,
on the probe's synthetic data unless the case brings its own. A healthy case passes a seed
when no verdict fires; a failure passes when one of its expected verdicts fires (others may
fire beside it: a diverging run also explodes). Prints one row per case and the totals;
`--markdown` prints the README's table. Exit status 1 when a case fails a seed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from probe_cases import CASES, Case  # noqa: E402

from cnnlint.probe.runner import ProbeError, ProbeSettings, run_probe  # noqa: E402
from cnnlint.verdict import load_verdicts  # noqa: E402


def probe(case: Case, seed: int, device: str = "cpu") -> dict[str, Any]:
    verdicts = {code: cls(case.options.get(cls.name))
                for code, cls in load_verdicts().items()}
    settings = ProbeSettings(target=case.target, input_shape=case.input_shape,
                             batch_size=case.batch_size, lr=case.lr, data=case.data,
                             seed=seed, device=device, verdicts=verdicts,
                             root=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    started = time.perf_counter()
    try:
        report = run_probe(settings)
    except ProbeError as exc:
        return {"seed": seed, "error": str(exc), "fired": [], "seconds": 0.0, "ok": False}
    fired = sorted({finding.name for finding in report.findings})
    ok = not fired if case.healthy else bool(case.expected & set(fired))
    return {"seed": seed, "fired": fired, "ok": ok,
            "seconds": round(time.perf_counter() - started, 1)}


def cell(runs: list[dict[str, Any]]) -> str:
    """The verdicts of each seed, identical seeds merged: `none x3`, `a, b x2; c x1`."""
    groups: dict[str, int] = {}
    for run in runs:
        key = "error: " + run["error"] if "error" in run else ", ".join(run["fired"]) or "none"
        groups[key] = groups.get(key, 0) + 1
    return "; ".join(f"{key} x{count}" for key, count in groups.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--small", action="store_true", help="only the cases CI runs")
    parser.add_argument("--case", action="append", default=[], help="only cases whose "
                        "name contains this (repeatable)")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: the same table on a GPU (its verdicts must match)")
    options = parser.parse_args()
    cases = [c for c in CASES if (c.small or not options.small)
             and (not options.case or any(part in c.name for part in options.case))]
    results = []
    for case in cases:
        runs = [probe(case, seed, options.device) for seed in range(options.seeds)]
        results.append((case, runs))
        seconds = sum(run["seconds"] for run in runs)
        status = "ok" if all(run["ok"] for run in runs) else "FAIL"
        print(f"{status:4}  {case.name:<30} batch {case.batch_size:<4} "
              f"expected {', '.join(sorted(case.expected)) or 'none':<40} got {cell(runs)}"
              f"  ({seconds:.0f} s)", flush=True)
    healthy = [runs for case, runs in results if case.healthy]
    failures = [runs for case, runs in results if not case.healthy]
    clean = sum(run["ok"] for runs in healthy for run in runs)
    found = sum(run["ok"] for runs in failures for run in runs)
    print(f"\nhealthy: {clean}/{sum(map(len, healthy))} runs without a verdict; "
          f"seeded failures: {found}/{sum(map(len, failures))} runs with the expected verdict")
    if options.markdown:
        print("\n| case | batch | expected | verdicts per seed |\n|---|---|---|---|")
        for case, runs in results:
            print(f"| {case.name} | {case.batch_size} | "
                  f"{', '.join(sorted(case.expected)) or 'none'} | {cell(runs)} |")
    if options.json:
        with open(options.json, "w", encoding="utf-8") as out:
            json.dump([{"case": case.name, "expected": sorted(case.expected), "runs": runs}
                       for case, runs in results], out, indent=2)
    sys.exit(0 if all(run["ok"] for _, runs in results for run in runs) else 1)


if __name__ == "__main__":
    main()
