"""Batches for the probe: seeded synthetic images by default, or the user's data.

The synthetic images carry their label: each class has a fixed random pattern (a spatial
texture plus a per-channel offset, which survives global pooling), and an image is its
class's pattern plus noise, so a healthy network lowers the loss within a few steps and a
broken one cannot. A model with several inputs gets one such pattern per input and class.
Labels follow the model's output: one class per image for `(N, C)` logits, one per pixel
(the image's class everywhere) for `(N, C, H, W)` maps, 0/1 for a single logit or a
one-channel map (binary segmentation).

Besides the training stream, one fixed batch is held out: never trained on, it is compared
with the training batches after the run (`cnnlint.probe.heldout`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
HELD_OUT_SEED = 7919  # added to the run's seed: the held-out batch's own random stream


class DataError(Exception):
    pass


@dataclass
class Stream:
    """The training batches, forever, and the batch held out of them (None, with `note`
    saying why, when the data cannot spare one)."""

    batches: Iterator[tuple[Any, Any]]
    held_out: tuple[Any, Any] | None
    note: str = ""


class Synthetic:
    def __init__(self, shape: tuple[int, ...], num_classes: int, seed: int,
                 extra_shapes: tuple[tuple[int, ...], ...] = ()) -> None:
        """`extra_shapes`: the shapes of further inputs; with them a batch's input is a
        tuple, one tensor per shape, all carrying the same labels."""
        import torch

        self.torch = torch
        self.generator = torch.Generator().manual_seed(seed)
        self.num_classes = max(num_classes, 2)
        self.patterns = self._patterns(shape)
        self.extra = [self._patterns(extra) for extra in extra_shapes]

    def _patterns(self, shape: tuple[int, ...]) -> Any:
        torch = self.torch
        texture = torch.randn(self.num_classes, *shape, generator=self.generator)
        offset = torch.randn(self.num_classes, shape[0], *([1] * (len(shape) - 1)),
                             generator=self.generator)
        return 0.5 * texture + offset

    def batch(self, size: int, generator: Any = None) -> tuple[Any, Any]:
        torch, generator = self.torch, generator or self.generator
        labels = torch.randint(self.num_classes, (size,), generator=generator)
        inputs = []
        for patterns in (self.patterns, *self.extra):
            noise = torch.randn(size, *patterns.shape[1:], generator=generator)
            inputs.append(patterns[labels] + 0.5 * noise)
        return (tuple(inputs) if self.extra else inputs[0]), labels

    def batches(self, size: int) -> Iterator[tuple[Any, Any]]:
        while True:
            yield self.batch(size)

    def held_out(self, size: int, seed: int) -> tuple[Any, Any]:
        """A batch from the same classes drawn from its own random stream, so that taking
        it leaves the training batches as they were."""
        return self.batch(size, self.torch.Generator().manual_seed(seed + HELD_OUT_SEED))


def targets_for(output: Any, labels: Any) -> tuple[Any, Any]:
    """(the loss function, targets shaped for `output`) for class labels."""
    import torch

    if output.dim() == 1 or output.shape[1] == 1:
        # One logit, or a one-channel map: binary, with BCE (cross-entropy over a single
        # class is zero whatever the output, and would look like a plateau).
        binary = (labels % 2).float()
        target = binary.reshape(-1, *([1] * (output.dim() - 1))).expand_as(output)
        return torch.nn.BCEWithLogitsLoss(), target
    if output.dim() > 2:
        target = labels.reshape(-1, *([1] * (output.dim() - 2))).expand(
            output.shape[0], *output.shape[2:])
        return torch.nn.CrossEntropyLoss(), target.clamp_max(output.shape[1] - 1)
    return torch.nn.CrossEntropyLoss(), labels.clamp_max(output.shape[1] - 1)


def accuracy(output: Any, target: Any) -> float:
    """The share of right predictions (per pixel for maps) against `targets_for`'s target."""
    if output.dim() == 1 or output.shape[1] == 1:
        predicted = (output > 0).float()
    else:
        predicted = output.argmax(1)
    return float((predicted == target).float().mean())


def resolve_callable(spec: str, what: str = "--data") -> tuple[Any, Any]:
    """The callable `module:callable` or `FILE.py:callable` names, imported like a model
    target. A file is taken relative to the working folder, and its folder goes on sys.path
    for the import (the runner's `contained` puts sys.path back afterwards)."""
    from cnnlint.targets import TargetError, parse_target
    from cnnlint.trace.targets import package_root, resolve

    try:
        target = parse_target(spec)
    except TargetError:
        raise DataError(f"{what} {spec!r} is not FILE.py:callable or module:callable") \
            from None
    if target.path is not None:
        if not os.path.isfile(target.path):
            raise DataError(f"{what}: no such file {target.path}")
        root = os.path.realpath(package_root(target.path)[0])
        if root not in sys.path:
            sys.path.insert(0, root)
    try:
        return target, resolve(target)
    except TargetError as exc:
        raise DataError(str(exc)) from None


def load_callable(spec: str) -> Any:
    """`module:callable` returning a Dataset (imported like a model target)."""
    target, function = resolve_callable(spec)
    try:
        return function(*target.args, **target.kwargs)
    except Exception as exc:
        raise DataError(f"{spec} failed: {type(exc).__name__}: {exc}") from exc


def check_spec(spec: str) -> None:
    """Before any work: a `--data` folder or file that does not exist."""
    location = spec.partition("(")[0].rpartition(":")[0]
    if not location:  # no `:callable`: a folder
        if not os.path.isdir(spec):
            raise DataError(f"--data: no such folder {spec}" if not os.path.exists(spec)
                            else f"--data: {spec} is not a folder (ImageFolder layout) nor "
                                 f"FILE.py:callable")
    elif location.endswith(".py") and not os.path.isfile(location):
        raise DataError(f"--data: no such file {location}")


def image_folder(root: str, shape: tuple[int, ...]) -> Any:
    """An ImageFolder (one sub-folder per class) as a list of (image tensor, label), each
    image resized to the model's input (C, H, W); needs Pillow (the `plot` extra)."""
    import torch

    try:
        from PIL import Image
    except ImportError:
        raise DataError("reading an image folder needs Pillow: pip install 'cnnlint[plot]'") \
            from None
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise DataError(f"an image folder needs a 1- or 3-channel (C, H, W) input, not {shape}")
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    if not classes:
        raise DataError(f"{root} has no class sub-folders (ImageFolder layout: root/CLASS/*.png)")
    items = []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        for file in sorted(os.listdir(folder)):
            if not file.lower().endswith(IMAGE_SUFFIXES):
                continue
            try:
                with Image.open(os.path.join(folder, file)) as image:
                    image = image.convert("RGB" if shape[0] == 3 else "L").resize(
                        (shape[2], shape[1]))
                    raw = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
            except OSError as exc:
                raise DataError(f"cannot read {os.path.join(folder, file)}: {exc}") from None
            pixels = raw.view(shape[1], shape[2], shape[0]).permute(2, 0, 1).float()
            items.append(((pixels / 255.0 - 0.5) / 0.25, label))
    if not items:
        raise DataError(f"{root} has no images ({', '.join(IMAGE_SUFFIXES)})")
    return items


def dataset_batches(dataset: Any, size: int, seed: int) -> Iterator[tuple[Any, Any]]:
    """Shuffled batches of a Dataset, forever (a new epoch when one ends)."""
    import torch
    from torch.utils.data import DataLoader

    generator = torch.Generator().manual_seed(seed)
    try:
        length = len(dataset)
    except TypeError:
        length = None
    if length is not None and length < size:
        raise DataError(f"the dataset has {length} items, fewer than one batch of {size}")
    loader = DataLoader(dataset, batch_size=size, shuffle=length is not None,
                        generator=generator, drop_last=True)
    while True:
        produced = False
        for item in _reading(loader):
            if not isinstance(item, (list, tuple)) or len(item) < 2:
                raise DataError("dataset items must be (input, label) pairs")
            produced = True
            yield item[0], item[1]
        if not produced:
            raise DataError("the dataset produced no batch")


def _reading(loader: Any) -> Iterator[Any]:
    """The loader's batches; the dataset's own failures become a DataError."""
    batches = iter(loader)
    while True:
        try:
            item = next(batches)
        except StopIteration:
            return
        except Exception as exc:
            raise DataError(f"reading the dataset failed: {type(exc).__name__}: {exc}") \
                from exc
        yield item


def open_stream(spec: str | None, shapes: tuple[tuple[int, ...], ...], num_classes: int,
                size: int, seed: int) -> Stream:
    """The batches for `--data` (None: synthetic), with one batch held out of training.
    `shapes`: the model's floating inputs, the first one an image for an image folder."""
    if spec is None:
        synthetic = Synthetic(shapes[0], num_classes, seed, tuple(shapes[1:]))
        return Stream(synthetic.batches(size), synthetic.held_out(size, seed))
    check_spec(spec)
    if os.path.isdir(spec):
        if len(shapes) > 1:
            raise DataError(f"an image folder gives one input; the model takes {len(shapes)}: "
                            f"give --data module:callable returning (inputs, label) items")
        dataset = image_folder(spec, shapes[0])
    else:
        dataset = load_callable(spec)
    train, held_out, note = hold_out(dataset, size, seed)
    return Stream(dataset_batches(train, size, seed), held_out, note)


def hold_out(dataset: Any, size: int, seed: int) -> tuple[Any, tuple[Any, Any] | None, str]:
    """(the dataset less `size` items, those items as one batch, why not): a seeded choice
    of items that training never sees; only when at least one batch is left to train on."""
    import torch
    from torch.utils.data import Subset, default_collate

    try:
        length = len(dataset)
    except TypeError:
        return dataset, None, "no held-out batch: the dataset has no length to split"
    if length < 2 * size:
        return dataset, None, (f"no held-out batch: the dataset has {length} items, fewer "
                               f"than two batches of {size}")
    order = torch.randperm(length, generator=torch.Generator().manual_seed(
        seed + HELD_OUT_SEED)).tolist()
    try:
        kept = [dataset[i] for i in order[:size]]
    except Exception as exc:
        raise DataError(f"reading the dataset failed: {type(exc).__name__}: {exc}") from exc
    if not all(isinstance(item, (list, tuple)) and len(item) >= 2 for item in kept):
        raise DataError("dataset items must be (input, label) pairs")
    inputs, labels = default_collate([(item[0], item[1]) for item in kept])
    return Subset(dataset, order[size:]), (inputs, labels), ""
