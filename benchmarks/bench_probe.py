"""What the probe's measurements cost per training step, against the same step without them.

    python benchmarks/bench_probe.py [--repeat 7] [--size 128]

A ResNet-18 (`resnets.py`, 11.7M parameters) at batch 8 on CPU, 3 x SIZE x SIZE input. In
one process, alternating, several repetitions, medians:

- plain step: zero_grad, forward, cross-entropy, backward, SGD step (momentum 0.9);
- probe step: the same step with everything `cnnlint probe` measures: forward hooks on every
  conv, linear, norm and activation layer (output mean, std, finiteness, dead channels),
  gradient norms and finiteness, the weight snapshot for update ratios, and the one
  host transfer at the step's end.

Prints both medians and their ratio; the goal is a ratio <= 1.5x.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from resnets import resnet18

from cnnlint.probe.measure import Measurements, Recorder

GOAL = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    options = parser.parse_args()
    torch.manual_seed(0)
    model = resnet18(num_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs = torch.randn(options.batch, 3, options.size, options.size)
    labels = torch.randint(10, (options.batch,))
    run = Measurements()

    def plain() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()

    def probed(recorder: Recorder) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        recorder.before_update()
        optimizer.step()
        recorder.after_update()
        recorder.end_step(loss, run)

    recorder = Recorder(model, {})
    recorder.remove()  # attached only around the probed steps
    times: dict[str, list[float]] = {"plain step": [], "probe step": []}
    for repetition in range(options.repeat + 1):  # the first round warms up
        start = time.perf_counter()
        plain()
        plain_time = time.perf_counter() - start
        recorder = Recorder(model, {})
        start = time.perf_counter()
        probed(recorder)
        probe_time = time.perf_counter() - start
        recorder.remove()
        if repetition:
            times["plain step"].append(plain_time)
            times["probe step"].append(probe_time)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["probe step"] / medians["plain step"]
    print(f"ResNet-18 ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters), "
          f"batch {options.batch} x 3 x {options.size} x {options.size}, CPU, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"{options.repeat} repetitions, medians")
    for name, value in medians.items():
        print(f"  {name:<12} {value:.3f} s")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"  probe / plain = {ratio:.2f}x (goal <= {GOAL}x: {verdict})")


if __name__ == "__main__":
    main()
