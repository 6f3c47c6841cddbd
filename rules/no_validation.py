from __future__ import annotations

from typing import Iterable

from cnnlint.findings import Finding
from cnnlint.ir import ProjectFacts
from cnnlint.rule import Rule
from cnnlint.options import RuleOptions


class Options(RuleOptions):
    min_epochs: int = 5


# A client's local training and a scorer, for the federated examples below.
_LOCAL_FIT = """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

def local_fit(net, shard):
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(6):{mark}
        for x, y in DataLoader(shard, batch_size=32, shuffle=True):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()

def score(net, loader):
    net.eval()
    with torch.no_grad():
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)

shards = torch.load("shards.pt")
test_loader = DataLoader(torch.load("test.pt"), batch_size=256)
"""


class NoValidation(Rule):
    """A multi-epoch training loop never evaluates on held-out data.

    ## What it flags
    A training run of `min-epochs` (default 5) or more epochs with no evaluation pass inside
    the epoch loop: no forward pass under `torch.no_grad()`/`inference_mode()` and no loop
    over a validation or test loader, no forward pass in eval mode (a frozen teacher's or
    feature network's forward whose output feeds the loss a step follows is part of the
    training, not an evaluation), and none on a tensor
    named for held-out data (`net(test_features)`, `model(x_val)`) or read at indices
    named for it (`pred[test_idx]` of a forward over a whole image or graph, as
    transductive training scores the pixels or nodes its loss leaves out) (for Lightning:
    no `validation_step` with validation data). An evaluation in a loop around the epoch
    loop whose passes go on training the same model counts (federated rounds: each client
    trains some local epochs, the averaged model is scored once a round); one after each
    training of a fresh model (a loop over settings) does not. Helpers the loop calls
    (`validate(...)`) are followed, also into other files, and through wrapped models
    (`DataParallel`, `.module`).
    A loop that steps two or more models with optimizers of their own, each after a
    backward pass of its own (a GAN's generator and discriminator), is not judged: they
    have no held-out score to evaluate. Nor is a loop of a run that steps an
    environment (`obs, reward, done = env.step(action)`: reinforcement learning, on
    experience the agent collects). Nor is one that never calls the model it trains,
    using only its weights (`F.linear(x, w - g)` in MAML): an evaluation written that way
    would not be seen. Nor is one whose model only ever sees random numbers
    (`net(torch.rand(8, 3, 64, 64))`: a memory or speed check).
    A run trains when an optimizer over a model's parameters steps (one over an input
    image does not). The rule speaks only when the reader saw everything the loop
    calls: a call it cannot follow (an unresolved import, a library trainer, a library
    inferer handed the model) might do the evaluation, and a loop that calls the model on
    data it cannot follow (a loader from an unresolved import) and trains nothing might be
    one, so the rule stays silent and `--verbose` says why. A loop in another file than
    the script that runs it (a library's `fit`, evaluating only when given held-out data)
    is judged for that script's call, which the finding names: `as run from train.py:12`.
    A loop followed by the evaluated training of a model it trains (a warm-up stage: a
    student first matching its teacher's features) is not judged either: the model's
    training is evaluated.

    ## Why it matters
    Training loss says how well the model fits the training set, not how well it
    generalises. Without a validation curve, overfitting goes unseen
    until the end, and there is nothing to stop early on or to pick the best checkpoint by.

    ## Example
    ```python
    for epoch in range(100):
        train_one_epoch(model, train_loader, optimizer)
    ```

    ## Instead
    ```python
    for epoch in range(100):
        train_one_epoch(model, train_loader, optimizer)
        val_loss = evaluate(model, val_loader)   # model.eval() + torch.no_grad()
    ```
    """

    code = "CNN202"
    name = "no-validation"
    severity = "warning"
    summary = "A multi-epoch training loop has no validation pass"
    fix = "Evaluate on a held-out loader every epoch (model.eval(), torch.no_grad())"
    Options = Options

    def check_project(self, project: ProjectFacts) -> Iterable[Finding]:
        for run in project.runs:
            for loop, epochs, loc in run.long_epoch_loops(self.options.min_epochs):
                if run.evaluated_in(loop) or run.evaluated_between_passes(loop) \
                        or run.steps_models_apart(loop) or run.trains_on_noise(loop) \
                        or run.acts_in_environment():
                    continue  # evaluated (also once a round of federated training); or a
                    # GAN's models, with no held-out score; or random numbers for data, with
                    # nothing to hold out
                if run.stepped_never_called(loop):
                    continue  # run only through its weights (`F.linear(x, net.weight)`,
                    # MAML): an evaluation written that way would not be seen either
                if run.settled_later(loop, run.evaluated_in):
                    continue  # a warm-up stage: the model's later training is evaluated
                if run.judgeable(loop):
                    caller, related = loop.caller(loc)
                    yield self.finding(
                        f"trains {epochs.value} epochs{epochs.source()} with no evaluation "
                        f"on held-out data during training{caller}", loc, symbol=loop.symbol,
                        related=related)

    valid = [
        # The model is never called, only its weights used: how it is evaluated is not seen.
        """
import torch
import torch.nn as nn
import torch.nn.functional as F

net = nn.Linear(64, 5)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(30):
    for x, y in torch.load("tasks.pt"):
        support = F.cross_entropy(F.linear(x[:10], net.weight, net.bias), y[:10])
        gw, gb = torch.autograd.grad(support, (net.weight, net.bias), create_graph=True)
        query = F.linear(x[10:], net.weight - 0.1 * gw, net.bias - 0.1 * gb)
        opt.zero_grad()
        F.cross_entropy(query, y[10:]).backward()
        opt.step()
""",
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Linear(4, 2)
train_loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
val_loader = DataLoader(torch.load("val.pt"), batch_size=32)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(10):
    model.train()
    for x, y in train_loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        for x, y in val_loader:
            model(x)
""",
        # Evaluation in a helper decorated with torch.no_grad().
        """
import torch
import torch.nn as nn

@torch.no_grad()
def evaluate(model, batches):
    model.eval()
    return sum(model(x).sum() for x in batches)

def fit(model, batches, epochs=20):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        model.train()
        for x in batches:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        evaluate(model, batches)

fit(nn.Linear(2, 2), batches)
""",
        # Four epochs: under the threshold.
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Linear(4, 2)
loader = DataLoader(torch.load("train.pt"), batch_size=32)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(4):
    for x, y in loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
""",
        # A library function handed the network and held-out tensors may evaluate it.
        """
import torch
import torch.nn as nn
import evalkit

data, held = torch.load("train.pt"), torch.load("held.pt")
net = nn.Linear(50, 1)
opt = torch.optim.SGD(net.parameters(), lr=0.003, momentum=0.9)
for epoch in range(100):
    opt.zero_grad()
    nn.functional.mse_loss(net(data[:, :50]), data[:, 50:]).backward()
    opt.step()
    if (epoch + 1) % 5 == 0:
        print(epoch, evalkit.score(net, held))
""",
        # Federated rounds: the clients train some local epochs each round, on the averaged
        # weights, and the averaged model is scored on held-out data once a round.
        _LOCAL_FIT.format(mark="") + """server = nn.Linear(16, 10)
clients = [nn.Linear(16, 10) for _ in shards]
for round_ in range(20):
    for net, shard in zip(clients, shards):
        net.load_state_dict(server.state_dict())
        local_fit(net, shard)
    server.load_state_dict(clients[0].state_dict())
    print(round_, score(server, test_loader))
""",
    ]
    invalid = [
        # A fresh model for each setting, scored only once its training is over.
        _LOCAL_FIT.format(mark="  # flagged") + """for width in (16, 32):
    net = nn.Sequential(nn.Linear(16, width), nn.ReLU(), nn.Linear(width, 10))
    for shard in shards:
        local_fit(net, shard)
    print(width, score(net, test_loader))
""",
        """
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Linear(4, 2)
loader = DataLoader(torch.load("train.pt"), batch_size=32, shuffle=True)
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(50):  # flagged
    for x, y in loader:
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
""",
        """
import argparse
import torch
import torch.nn as nn

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    model = nn.Linear(8, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(args.epochs):  # flagged
        optimizer.zero_grad()
        loss = model(torch.load("batch.pt")).pow(2).mean()
        loss.backward()
        optimizer.step()
        print(epoch, loss.item())

if __name__ == "__main__":
    main()
""",
        # Evaluating only after training cannot monitor anything.
        """
import torch
import torch.nn as nn

EPOCHS = 12

def run(model, train_batches, test_batches):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(EPOCHS):  # flagged
        for x in train_batches:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
    with torch.no_grad():
        return [model(x) for x in test_batches]

run(nn.Linear(3, 3), train_batches, test_batches)
""",
    ]
