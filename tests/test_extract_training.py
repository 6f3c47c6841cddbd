"""The training reader: values and their origins, loaders, optimizers, loops, Lightning."""

from __future__ import annotations

import textwrap

from cnnlint import ir
from cnnlint.extract.models import build_interp, extract_models
from cnnlint.extract.source import analyse_source
from cnnlint.extract.training import extract_runs


def runs_of(*sources: str, names: tuple[str, ...] = ()) -> list[ir.TrainingRun]:
    names = names or tuple(f"f{i}.py" for i in range(len(sources)))
    facts = [analyse_source(n, textwrap.dedent(s)) for n, s in zip(names, sources)]
    interp = build_interp(facts)
    extract_models(interp)
    return extract_runs(interp)  # type: ignore[arg-type]


LOOP = """
for x, y in loader:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
"""


def test_positional_batch_size_simplenamespace_and_param_groups() -> None:
    (run,) = runs_of(textwrap.dedent("""
        from types import SimpleNamespace
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        cfg = SimpleNamespace(batch_size=12, lr=0.02, wd=1e-4)
        model = nn.Linear(4, 2)
        loader = DataLoader(torch.load("d.pt"), cfg.batch_size, True)
        opt = torch.optim.SGD([{"params": model.parameters(), "weight_decay": cfg.wd}],
                              lr=cfg.lr, momentum=0.9, nesterov=True)
    """) + LOOP)
    (loader,) = run.loaders
    assert loader.batch_size is not None
    assert (loader.batch_size.value, loader.shuffle, loader.role) == (12, True, "train")
    assert loader.batch_size.origin == "`cfg.batch_size` (SimpleNamespace)"
    (opt,) = run.optimizers
    assert (opt.kind, opt.lr.value, opt.momentum.value) == ("SGD", 0.02, 0.9)  # type: ignore[union-attr]
    assert opt.weight_decay is not None and opt.weight_decay.origin == "a param group"


def test_dataclass_config_and_manual_lr_schedule() -> None:
    (run,) = runs_of("""
        from dataclasses import dataclass
        import torch
        import torch.nn as nn

        @dataclass
        class Config:
            epochs: int = 60
            lr: float = 0.1

        def main(cfg=Config()):
            model = nn.Linear(2, 2)
            opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
            for epoch in range(cfg.epochs):
                if epoch == 30:
                    for g in opt.param_groups:
                        g["lr"] = cfg.lr * 0.1
                opt.zero_grad()
                model(torch.randn(2, 2)).sum().backward()
                opt.step()

        main(Config(epochs=45))
    """)
    (epoch,) = run.epoch_loops
    assert epoch.count is not None and epoch.count.value == 45
    assert run.events_of(ir.SCHEDULE) and run.symbol == "main"
    assert run.optimizers[0].lr is not None and run.optimizers[0].lr.value == 0.1


def test_argparse_spellings() -> None:
    (run,) = runs_of(textwrap.dedent("""
        import argparse
        import torch
        import torch.nn as nn
        from torch.utils.data import DataLoader

        parser = argparse.ArgumentParser()
        group = parser.add_argument_group("optim")
        group.add_argument("-b", "--batch_size", dest="bs", type=int, default="32")
        parser.add_argument("--no-aug", action="store_true")
        parser.set_defaults(epochs=7)
        args, _ = parser.parse_known_args()
        model = nn.Linear(2, 2)
        loader = DataLoader(torch.load("d.pt"), batch_size=args.bs)
        opt = torch.optim.Adam(model.parameters())
        for epoch in range(args.epochs):
    """) + textwrap.indent(LOOP, "    "))
    assert run.loaders[0].batch_size is not None
    assert run.loaders[0].batch_size.value == 32  # "32" converted by type=int
    assert run.loaders[0].batch_size.origin == "argparse default of `--batch_size`"
    assert run.epoch_loops[0].count is not None and run.epoch_loops[0].count.value == 7
    assert run.optimizers[0].lr is not None and run.optimizers[0].lr.origin == "torch default"


def test_lightning_datamodule_batch_size_and_scheduler() -> None:
    (run,) = runs_of("""
        import lightning.pytorch as pl
        import torch
        from torch.utils.data import DataLoader

        class Data(pl.LightningDataModule):
            def train_dataloader(self):
                return DataLoader(torch.load("t.pt"), batch_size=8, shuffle=True)

            def val_dataloader(self):
                return DataLoader(torch.load("v.pt"), batch_size=8)

        class Lit(pl.LightningModule):
            def __init__(self):
                super().__init__()
                self.net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))

            def forward(self, x):
                return self.net(x)

            def training_step(self, batch, idx):
                x, y = batch
                return torch.nn.functional.cross_entropy(self(x), y)

            def validation_step(self, batch, idx):
                return None

            def configure_optimizers(self):
                opt = torch.optim.SGD(self.parameters(), lr=0.1, momentum=0.9)
                sched = torch.optim.lr_scheduler.StepLR(opt, 10)
                return [opt], [sched]

        pl.Trainer(max_epochs=12).fit(Lit(), datamodule=Data())
    """)
    assert run.lightning
    assert [e.what for e in run.events_of(ir.FORWARD) if "grad-off" in e.flags] == [
        "validation_step"]
    (epoch,) = run.epoch_loops
    assert epoch.count is not None and epoch.count.value == 12
    assert run.schedulers == ["StepLR"] and [m.name for m in run.models] == ["Lit"]
    train = run.train_loaders
    assert [loader.batch_size.value for loader in train] == [8]  # type: ignore[union-attr]
    assert [loss.kind for loss in run.losses] == ["CrossEntropyLoss"]


def test_lightning_fit_loaders_by_keyword_old_and_new() -> None:
    """`fit(model, train_dataloader=a, val_dataloaders=b)` (Lightning before 1.4) and
    `train_dataloaders=`: `a` trains and `b` validates, whichever spelling."""
    source = """
        import lightning.pytorch as pl
        import torch
        from torch.utils.data import DataLoader

        class Lit(pl.LightningModule):
            def training_step(self, batch, idx):
                return self(batch).sum()

            def validation_step(self, batch, idx):
                return None

            def configure_optimizers(self):
                return torch.optim.Adam(self.parameters())

        fit_loader = DataLoader(torch.load("a.pt"), batch_size=8, shuffle=True)
        held = DataLoader(torch.load("b.pt"), batch_size=256)
        pl.Trainer(max_epochs=3).fit(model=Lit(), KEYWORD=fit_loader, val_dataloaders=held)
    """
    for keyword in ("train_dataloader", "train_dataloaders"):
        (run,) = runs_of(source.replace("KEYWORD", keyword))
        assert [loader.batch_size.value for loader in run.train_loaders] == [8], keyword
        assert [e.what for e in run.events_of(ir.FORWARD) if "grad-off" in e.flags] == [
            "validation_step"]


def test_files_without_training_get_no_run() -> None:
    assert runs_of("""
        import torch.nn as nn

        class Net(nn.Module):
            def forward(self, x):
                return x
    """) == []
