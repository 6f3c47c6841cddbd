"""What the probe's measurements cost per training step, against the same step without them.

    python benchmarks/bench_probe.py [--repeat 7] [--model resnet18 --model resnet56 ...]

Three networks on CPU (or `--device cuda`), each at a batch size it is trained at: a
ResNet-18 (`resnets.py`, 11.7M parameters, batch 8 x 3 x 128 x 128), the CIFAR ResNet-56
(`probe_cases.py`, 56 layers of small convolutions: the per-hook cost shows most there;
batch 128 x 3 x 32 x 32) and MONAI's DenseNet121 (batch 32 x 3 x 64 x 64). In one process,
alternating, several repetitions, medians:

- plain step: zero_grad, forward, cross-entropy, backward, SGD step (momentum 0.9);
- probe step: the same step with everything `cnnlint probe` measures: forward hooks on every
  conv, linear, norm and activation layer (output mean, std, finiteness, dead channels),
  gradient norms and finiteness, the weight snapshot for update ratios, and the one
  host transfer at the step's end.

Prints both medians and their ratio per network; the goal is a ratio <= 1.5x for each.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from probe_cases import resnet56
from resnets import resnet18

from cnnlint.probe.measure import Measurements, Recorder

GOAL = 1.5


def densenet121() -> torch.nn.Module:
    from monai.networks.nets import DenseNet121

    return DenseNet121(spatial_dims=2, in_channels=3, out_channels=10)


MODELS = {  # name: (constructor, batch size, input size)
    "resnet18": (lambda: resnet18(num_classes=10), 8, 128),
    "resnet56": (resnet56, 128, 32),
    "densenet121": (densenet121, 32, 64),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--model", action="append", choices=sorted(MODELS))
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    options = parser.parse_args()
    device = torch.device(options.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print(f"{where}, torch {torch.__version__}, {options.repeat} repetitions, medians")
    met = True
    for name in options.model or list(MODELS):
        met = measure(name, options.repeat, device) and met
    raise SystemExit(0 if met else 1)


def measure(name: str, repeat: int, device: torch.device) -> bool:
    build, batch, size = MODELS[name]
    torch.manual_seed(0)
    model = build().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs = torch.randn(batch, 3, size, size, device=device)
    labels = torch.randint(10, (batch,), device=device)

    def synchronize() -> None:  # CUDA runs asynchronously: time the work, not the launch
        if device.type == "cuda":
            torch.cuda.synchronize()

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

    times: dict[str, list[float]] = {"plain step": [], "probe step": []}
    for repetition in range(repeat + 1):  # the first round warms up
        synchronize()
        start = time.perf_counter()
        plain()
        synchronize()
        plain_time = time.perf_counter() - start
        recorder = Recorder(model, {})  # attached only around the probed step
        start = time.perf_counter()
        probed(recorder)
        synchronize()
        probe_time = time.perf_counter() - start
        recorder.remove()
        if repetition:
            times["plain step"].append(plain_time)
            times["probe step"].append(probe_time)
    medians = {key: statistics.median(values) for key, values in times.items()}
    ratio = medians["probe step"] / medians["plain step"]
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"{name} ({sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters), "
          f"batch {batch} x 3 x {size} x {size}: plain {medians['plain step']:.3f} s, "
          f"probe {medians['probe step']:.3f} s, probe / plain = {ratio:.2f}x "
          f"(goal <= {GOAL}x: {verdict})", flush=True)
    return ratio <= GOAL


if __name__ == "__main__":
    main()
