"""What `--trace` costs on a ResNet-50-sized model, against a plain forward pass.

    python benchmarks/bench_trace.py [--repeat 5]

The model is a ResNet-50 written out in `resnets.py` (bottleneck blocks [3, 4, 6, 3],
25.6M parameters; torchvision does not import beside the CPU torch). In one process, alternating,
with medians, on CPU:

- trace:   building the IR as `cnnlint --trace` does: torch.fx symbolic tracing, the IR,
           and the check that replays the fx graph against one real forward pass on the
           (2, 3, 64, 64) input it infers (so two forward passes at that size are included);
- forward: one forward pass of the same model, no gradients, at batch 2 x 3 x 224 x 224
           (the size the model is meant for), and at the 64 x 64 input trace mode uses;
- hooks:   the fallback alone (one recorded forward pass), for models torch.fx cannot trace.

Figures are seconds and ratios to the 224 x 224 forward pass measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import torch
from resnets import resnet50

from cnnlint.findings import Loc
from cnnlint.trace import hooks
from cnnlint.trace.runner import example_input, trace_network


def _seconds(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    torch.manual_seed(0)
    model = resnet50()
    loc = Loc("bench_trace.py", 1, 1, 1, 1)
    large = torch.randn(2, 3, 224, 224)
    small = example_input(model, None)

    def forward(x: torch.Tensor) -> Callable[[], Any]:
        def run() -> Any:
            with torch.no_grad():
                return model(x)
        return run

    measures: dict[str, Callable[[], Any]] = {
        "trace (fx + IR + replay check)": lambda: trace_network(model, loc, {}, None),
        "forward 2x3x224x224": forward(large),
        "forward 2x3x64x64": forward(small),
        "hooks fallback (recorded pass, 64x64)": lambda: hooks.build(model, small, loc, {}),
    }
    for work in measures.values():  # warm-up: first calls pay for allocations and imports
        work()
    times: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(options.repeat):
        for name, work in measures.items():
            times[name].append(_seconds(work))
    medians = {name: statistics.median(values) for name, values in times.items()}
    network, method, remark = trace_network(model, loc, {}, None)
    baseline = medians["forward 2x3x224x224"]
    print(f"ResNet-50 ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{options.repeat} repetitions, medians")
    print(f"traced with {method}{f' ({remark})' if remark else ''}: {len(network.nodes)} "
          f"IR nodes, {sum(n.weighted for n in network)} weighted layers")
    for name, value in medians.items():
        print(f"  {name:<40} {value:8.3f} s   {value / baseline:6.2f}x the 224x224 forward")


if __name__ == "__main__":
    main()
