"""Batches for the probe: seeded synthetic images by default, or the user's data.

The synthetic images carry their label: each class has a fixed random pattern (a spatial
texture plus a per-channel offset, which survives global pooling), and an image is its
class's pattern plus noise, so a healthy network lowers the loss within a few steps and a
broken one cannot. Labels follow the model's output: one class per image for
`(N, C)` logits, one per pixel (the image's class everywhere) for `(N, C, H, W)` maps, 0/1
for a single logit.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class DataError(Exception):
    pass


class Synthetic:
    def __init__(self, shape: tuple[int, ...], num_classes: int, seed: int) -> None:
        import torch

        self.torch = torch
        self.generator = torch.Generator().manual_seed(seed)
        self.num_classes = max(num_classes, 2)
        texture = torch.randn(self.num_classes, *shape, generator=self.generator)
        offset = torch.randn(self.num_classes, shape[0], *([1] * (len(shape) - 1)),
                             generator=self.generator)
        self.patterns = 0.5 * texture + offset

    def batch(self, size: int) -> tuple[Any, Any]:
        labels = self.torch.randint(self.num_classes, (size,), generator=self.generator)
        noise = self.torch.randn(size, *self.patterns.shape[1:], generator=self.generator)
        return self.patterns[labels] + 0.5 * noise, labels

    def batches(self, size: int) -> Iterator[tuple[Any, Any]]:
        while True:
            yield self.batch(size)


def targets_for(output: Any, labels: Any) -> tuple[Any, Any]:
    """(the loss function, targets shaped for `output`) for class labels."""
    import torch

    if output.dim() == 1 or (output.dim() == 2 and output.shape[1] == 1):
        target = (labels % 2).float().reshape(output.shape)
        return torch.nn.BCEWithLogitsLoss(), target
    if output.dim() > 2:
        target = labels.reshape(-1, *([1] * (output.dim() - 2))).expand(
            output.shape[0], *output.shape[2:])
        return torch.nn.CrossEntropyLoss(), target.clamp_max(output.shape[1] - 1)
    return torch.nn.CrossEntropyLoss(), labels.clamp_max(output.shape[1] - 1)


def load_callable(spec: str) -> Any:
    """`module:callable` returning a Dataset (imported like a model target)."""
    from cnnlint.targets import TargetError, parse_target
    from cnnlint.trace.targets import resolve

    try:
        target = parse_target(spec)
        return resolve(target)(*target.args, **target.kwargs)
    except TargetError as exc:
        raise DataError(str(exc)) from None
    except Exception as exc:
        raise DataError(f"{spec} failed: {type(exc).__name__}: {exc}") from exc


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
        for item in loader:
            if not isinstance(item, (list, tuple)) or len(item) < 2:
                raise DataError("dataset items must be (input, label) pairs")
            produced = True
            yield item[0], item[1]
        if not produced:
            raise DataError("the dataset produced no batch")
