from __future__ import annotations

from typing import Iterable

from cnnlint.catalogue import is_augmentation
from cnnlint.findings import Finding, Loc
from cnnlint.ir import FORWARD, STEP, Loader, ProjectFacts, TrainingRun
from cnnlint.rule import Rule


class NoTrainingAugmentation(Rule):
    """An image training set is loaded with no random augmentation.

    ## What it flags
    A training DataLoader over an image dataset (a `torchvision.datasets` class, or a
    dataset given image transforms such as `ToTensor` or `Resize`) whose transform pipeline
    is fully known and contains no random augmentation (`Random*`, `RandAugment`,
    `AutoAugment`, `TrivialAugmentWide`, `ColorJitter`, albumentations flips and affines,
    ...). A project dataset that keeps several pipelines in attributes (an image's and a
    mask's) and applies them itself is judged as one, unless one of its pipelines augments
    (it may be the images') or is not known: one finding names them all (a super-resolution
    pair's input and target pipelines, where a random crop must be drawn once for both).
    A project dataset whose own code draws at random (`random.random()`, a flip or a crop of
    its own) may augment and is not judged; one that only picks examples at random (a
    siamese pair's partner, `random.choice(self.items)`) is.
    Unknown or custom transforms are not judged, nor the
    data of a run that steps two or more models with optimizers of their own, each after a
    backward pass of its own (a GAN learns the data's own distribution, which augmenting
    changes), nor those of a run whose loss compares a model's output with the batch it was
    fed (an autoencoder or a VAE rebuilding its input, which learns that distribution too),
    nor those of a Lightning fit whose `configure_optimizers` returns None (no optimizer:
    a memory bank of a frozen network's features trains nothing), nor those of a run that
    steps an environment (reinforcement learning: the agent collects its own data), nor
    those of a run whose model sees each batch with fresh random noise added (a denoising
    autoencoder's `x + 0.2 * torch.randn_like(x)`: that is augmentation) or through a
    library function the reader does not know (it may draw at random), or whose loops
    never call a model they train (what it is fed was not seen), nor those of a run whose
    loops apply a pipeline to the batches themselves that augments or is not known (a
    contrastive method's two random views of each image).

    ## Why it matters
    Without augmentation the network sees the exact same pixels every epoch and learns them
    by heart: training accuracy climbs while validation accuracy stalls or falls. Cheap
    random crops and flips are the first regulariser to reach for; targeted augmentation
    also helps a minority class.

    ## Example
    ```python
    train_tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
    ```

    ## Instead
    ```python
    train_tf = transforms.Compose([transforms.RandomResizedCrop(224),
                                   transforms.RandomHorizontalFlip(),
                                   transforms.ToTensor(), transforms.Normalize(mean, std)])
    ```
    """

    code = "CNN212"
    name = "no-training-augmentation"
    severity = "info"
    summary = "An image training set has no random augmentation"
    fix = ("Add random crops and flips to training (RandomResizedCrop, RandomHorizontalFlip), "
           "drawn once for an image and its mask in segmentation (torchvision.transforms.v2 "
           "with tv_tensors.Mask, or albumentations); where a flip changes the class, as with "
           "digits, small shifts (RandomAffine)")

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            if run.trains_models_apart() or run.rebuilds_input or run.acts_in_environment():
                # A GAN, or an autoencoder or VAE rebuilding its input, learns the data's
                # own distribution: augmenting changes it.
                continue
            # The models the run's steps update (Lightning steps its module with no step
            # in the code read: the run's models).
            trained = {name for e in run.events_of(STEP) if "trains" in e.flags
                       for name in e.model.split(", ")} | {m.name for m in run.models}
            if any("noisy-input" in e.flags and e.model in trained
                   for e in run.events_of(FORWARD)):
                continue  # fresh noise on every batch (a denoising autoencoder) augments
            if any("unknown-transform" in e.flags and e.model in trained
                   for e in run.events_of(FORWARD)):
                continue  # its batches go through a library function not known: it may
                # draw at random (`random_noise(batch.numpy())`)
            if any(run.stepped_never_called(loop) for loop in run.loops):
                continue  # what the trained model is fed was not seen (a model restored
                # into its name in a `try`), so neither is noise added to it
            if any(items is None or any(is_augmentation(name) for name in items)
                   for items in run.applied_transforms):
                continue  # the loop augments its batches itself (contrastive views)
            for loader in run.train_loaders:
                # A dataset picked by a setting: each pipeline it may have is judged.
                pipelines = loader.pipelines or (
                    (loader.transforms, loader.transform_loc, loader.image_data),)
                plain = [(items, where) for items, where, image in pipelines
                         if items is not None and image
                         and not any(is_augmentation(name) for name in items)]
                if loader.joint_pipelines and len(plain) > 1:
                    yield self._joint(loader, run, plain)
                    continue
                for items, transform_loc in plain:
                    # A pipeline code put in place after building the dataset is judged
                    # where it was put (`val_part.dataset.transform = plain`, on a dataset
                    # split first, is the training part's pipeline too).
                    set_at = loader.transform_set_at if not loader.pipelines else None
                    loc = set_at or transform_loc or loader.loc
                    if loc is not None:
                        listed = ", ".join(items) or "none"
                        # With several training loaders (an auxiliary set zipped with the
                        # main one), say which one's images these are.
                        whose = f" of `{loader.name}`" if loader.name and len(
                            run.train_loaders) > 1 else ""
                        shared = ": this sets the pipeline of the whole dataset, the " \
                            "training part's too" if set_at and loader.transform_shared else ""
                        if not shared and loader.pipeline_shared_with:
                            # Augmenting it as the hint says would augment the test data.
                            shared = (f": `{loader.pipeline_shared_with}` goes through this "
                                      "pipeline too; give the training set one of its own")
                        # A pipeline a helper of another file builds (`get_transforms(
                        # augment=False)`): the loader the script builds is the other end.
                        user = loader.called_at or loader.loc
                        where = f", for the training loader at {user.path}:{user.line}" \
                            if user is not None and user.path != loc.path else ""
                        yield self.finding(f"training images{whose} get no random "
                                           f"augmentation (transforms: {listed}){where}{shared}",
                                           loc, symbol=loader.symbol or run.symbol,
                                           related=[(user, "the training loader")])

    def _joint(self, loader: Loader, run: TrainingRun,
               plain: list[tuple[list[str], Loc | None]]) -> Finding:
        """One finding for a dataset whose items go through several pipelines, none random
        (a super-resolution pair's input and target): at the first, naming the others."""
        first = next((where for _, where in plain if where is not None), loader.loc)
        assert first is not None
        listed = "; ".join(", ".join(items) or "none" for items, _ in plain)
        return self.finding(
            f"training images get no random augmentation (the dataset's {len(plain)} "
            f"pipelines: {listed}): a random crop or flip must be drawn once per item, for "
            "all of them alike", first, symbol=loader.symbol or run.symbol,
            related=[(where, "another pipeline of the dataset") for _, where in plain[1:]])

    valid = [
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

train_tf = transforms.Compose([transforms.RandomCrop(32, padding=4),
                               transforms.RandomHorizontalFlip(), transforms.ToTensor()])
train_set = datasets.CIFAR10("data", train=True, transform=train_tf)
loader = DataLoader(train_set, batch_size=128, shuffle=True)
model = nn.Linear(3072, 10)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    model(x.flatten(1)).sum().backward()
    opt.step()
""",
        # The loop makes two random views of each batch itself (contrastive learning).
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms as T

views = T.Compose([T.ToPILImage(), T.RandomResizedCrop(32), T.ToTensor()])
loader = DataLoader(datasets.CIFAR10("data", train=True, transform=T.ToTensor()), batch_size=256)
encoder = nn.Sequential(nn.Flatten(), nn.Linear(3072, 128))
opt = torch.optim.SGD(encoder.parameters(), lr=0.1, momentum=0.9)
for images, _ in loader:
    first = torch.stack([views(x) for x in images])
    second = torch.stack([views(x) for x in images])
    opt.zero_grad()
    (encoder(first) - encoder(second)).pow(2).mean().backward()
    opt.step()
""",
        # The validation set needs no augmentation.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
import torchvision.transforms as T
from torchvision.datasets import ImageFolder

train_set = ImageFolder("train", transform=T.Compose([T.RandomResizedCrop(224), T.ToTensor()]))
val_set = ImageFolder("val", transform=T.Compose([T.Resize(256), T.CenterCrop(224),
                                                 T.ToTensor()]))
train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
val_loader = DataLoader(val_set, batch_size=64)
model = nn.Linear(10, 10)
opt = torch.optim.Adam(model.parameters())
for epoch in range(3):
    for x, y in train_loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
""",
        # A custom transform is not judged.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
from mytransforms import MyAugment

tf = transforms.Compose([MyAugment(), transforms.ToTensor()])
loader = DataLoader(datasets.MNIST("data", transform=tf), batch_size=64)
model = nn.Linear(784, 10)
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    model(x.flatten(1)).sum().backward()
    opt.step()
""",
    ]
    invalid = [
        # A project dataset that keeps its pipeline and applies it itself; a fixed centre
        # crop of a given size draws nothing at random.
        """
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

class Patches(Dataset):
    def __init__(self, files, crop_size=96):
        self.files = files
        self.hr_transform = T.Compose([T.CenterCrop(crop_size), T.ToTensor()])  # flagged

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.hr_transform(Image.open(self.files[i]))

loader = DataLoader(Patches(["a.png", "b.png"]), batch_size=8, shuffle=True)
model = nn.Conv2d(3, 3, 3, padding=1)
opt = torch.optim.Adam(model.parameters(), lr=1e-4)
for hr in loader:
    opt.zero_grad()
    (model(hr) - hr).abs().mean().backward()
    opt.step()
""",
        # What the loop applies to each batch itself draws nothing at random.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms as T

scale = T.Compose([T.ToPILImage(), T.Resize(32), T.ToTensor()])
loader = DataLoader(datasets.CIFAR10("data", train=True, transform=T.ToTensor()),  # flagged
                    batch_size=256)
model = nn.Sequential(nn.Flatten(), nn.Linear(3072, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for images, labels in loader:
    batch = torch.stack([scale(x) for x in images])
    opt.zero_grad()
    nn.functional.cross_entropy(model(batch), labels).backward()
    opt.step()
""",
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

tf = transforms.Compose([transforms.ToTensor(),  # flagged
                         transforms.Normalize((0.5,), (0.5,))])
train_set = datasets.CIFAR10("data", train=True, transform=tf)
loader = DataLoader(train_set, batch_size=128, shuffle=True)
model = nn.Linear(3072, 10)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for x, y in loader:
    opt.zero_grad()
    model(x.flatten(1)).sum().backward()
    opt.step()
""",
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
import torchvision.transforms as T
from torchvision.datasets import ImageFolder

def main():
    train_tf = T.Compose([T.Resize(224), T.ToTensor()])  # flagged
    train_loader = DataLoader(ImageFolder("train", transform=train_tf), batch_size=64)
    model = nn.Linear(10, 2)
    opt = torch.optim.Adam(model.parameters())
    for x, y in train_loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()

main()
""",
        # A project Dataset class that takes image transforms.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

class XRays(Dataset):
    def __init__(self, root, transform=None):
        self.root = root
        self.transform = transform

train_set = XRays("train", transform=transforms.Compose(  # flagged
    [transforms.Resize((224, 224)), transforms.ToTensor()]))
loader = DataLoader(train_set, batch_size=32, shuffle=True)
model = nn.Linear(10, 2)
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
""",
    ]
