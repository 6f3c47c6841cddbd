"""The probe's calibration suite, small cases: healthy networks get no verdict, seeded
failures get the verdict of their failure story (seed 0; the benchmark
`benchmarks/bench_probe_accuracy.py` runs every case over three seeds)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_probe_accuracy import probe  # noqa: E402
from probe_cases import CASES, Case  # noqa: E402

SMALL = [case for case in CASES if case.small]


def test_the_suite_has_enough_cases() -> None:
    assert sum(case.healthy for case in CASES) >= 10
    assert sum(not case.healthy for case in CASES) >= 10
    assert any(case.healthy for case in SMALL) and any(not case.healthy for case in SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("case", SMALL, ids=[case.name for case in SMALL])
def test_calibration_case(case: Case) -> None:
    result = probe(case, seed=0)
    assert "error" not in result, result.get("error")
    if case.healthy:
        assert result["fired"] == [], f"a healthy network got {result['fired']}"
    else:
        assert case.expected & set(result["fired"]), \
            f"expected one of {sorted(case.expected)}, got {result['fired']}"


@pytest.mark.gpu
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("case", SMALL, ids=[case.name for case in SMALL])
def test_calibration_case_gives_the_same_verdicts_on_cuda(case: Case) -> None:
    on_cpu, on_gpu = probe(case, seed=0), probe(case, seed=0, device="cuda")
    assert "error" not in on_gpu, on_gpu.get("error")
    assert on_gpu["fired"] == on_cpu["fired"]
