"""Analysis scope is the project; report scope is the files named.

For any subset S of a project, `cnnlint S` reports exactly the findings of `cnnlint .` that
are located in S or have their other end there (a script's loader and the model's BatchNorm).
That is what makes a pre-commit hook, which passes only the changed files, agree with CI."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest

from cnnlint.config import Flags, build_settings
from cnnlint.engine import lint
from cnnlint.project import Project, find_root, scan_imports
from cnnlint.rule import load_rules

PROJECTS = Path(__file__).parent / "fixtures" / "projects"
Row = tuple[str, str, int, int, str, str, tuple[tuple[str, int], ...]]


def _lint(paths: list[str]) -> list[Row]:
    rules = load_rules()
    settings = build_settings(paths, Flags(select=["ALL"]), rules)
    result = lint(paths, settings, rules)
    assert result.errors == []
    return sorted((f.code, f.path, f.line, f.column, f.severity, f.message,
                   tuple((r.path, r.line) for r in f.related)) for f in result.findings)


def _copy(name: str, tmp_path: Path) -> list[str]:
    """The fixture project in tmp_path, with a project marker; its Python files."""
    shutil.copytree(PROJECTS / name, tmp_path / name)
    root = tmp_path / name
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text("[project]\nname = 'fixture'\n")
    os.chdir(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))


@pytest.mark.parametrize("name", sorted(p.name for p in PROJECTS.iterdir() if p.is_dir()))
def test_every_subset_reports_what_the_whole_project_reports_there(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    files = _copy(name, tmp_path)
    whole = _lint(["."])
    subsets = [[f] for f in files] + [list(p) for p in itertools.combinations(files, 2)]
    for subset in subsets:
        expected = [row for row in whole if row[1] in subset
                    or any(path in subset for path, _ in row[6])]
        assert _lint(subset) == expected, subset


def test_the_model_file_alone_reports_the_script_that_trains_it_at_batch_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _copy("package_layout", tmp_path)
    rows = _lint(["models/net.py"])
    assert [(r[0], r[1], r[2]) for r in rows] == [("CNN201", "train.py", 22)]
    assert rows[0][6] == (("models/net.py", 6),)  # its other end: the model
    assert "`SmallNet` (models/net.py:6) has BatchNorm layers but trains with batch size 2 " \
           "(`config.BATCH_SIZE` in config.py)" == rows[0][5]


def test_a_network_built_alike_to_sample_and_to_train_is_judged_where_it_trains(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sample.py and train.py build the same `Stack(16, 9)`; train.py trains it (through a
    helper in fitter.py): the network is judged at train.py's build, also when only the
    sampling script is linted (it reads the scripts that train what it builds)."""
    monkeypatch.chdir(tmp_path)
    _copy("sampler", tmp_path)
    whole = {(r[0], r[1], r[2]) for r in _lint(["."])}
    assert {("CNN103", "train.py", 7), ("CNN107", "train.py", 7)} <= whole
    assert not any(path == "sample.py" for _, path, _ in whole)
    assert _lint(["sample.py"]) == []


MIXER = """
import torch.nn as nn


class Mixer(nn.Module):
    def __init__(self, size):
        super().__init__()
        width = 16 if size == "small" else 32
        self.body = nn.Sequential(*[nn.Conv2d(width, width, 3, padding=1) for _ in range(9)])

    def forward(self, x):
        return self.body(x)
"""
FIT_EITHER = """
import argparse
import torch
from mixer import Mixer

parser = argparse.ArgumentParser()
parser.add_argument("--size", default="big")
if parser.parse_args().size == "small":
    net = Mixer("small")
else:
    net = Mixer("big")
opt = torch.optim.Adam(net.parameters(), lr=1e-4)
for step in range(100):
    opt.zero_grad()
    net(torch.load("x.pt")).pow(2).mean().backward()
    opt.step()
"""


def test_builds_alike_in_inference_scripts_are_judged_where_a_run_trains_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fit.py trains `Mixer("big")` (its option's default; "small" on request); a viewer
    builds `Mixer("big")` and a demo `Mixer(size="big")` (the same arguments spelled by
    name) only to run them: the network is judged at fit.py's build, linted whole or by the
    viewer or demo alone."""
    monkeypatch.chdir(tmp_path)
    _tree(tmp_path, {"pyproject.toml": "", "mixer.py": MIXER, "fit.py": FIT_EITHER,
                     "a_view.py": "from mixer import Mixer\n\nnet = Mixer('big').eval()\n",
                     "tools/demo.py": "from mixer import Mixer\n\nnet = Mixer(size='big')\n"
                                      "net.eval()\n"})
    whole = _lint(["."])
    assert {path for _, path, *_ in whole} == {"fit.py"}
    assert {(code, line) for code, _, line, *_ in whole if code == "CNN107"} == {
        ("CNN107", 11)}
    assert _lint(["a_view.py"]) == [] and _lint(["tools/demo.py"]) == []


PLAIN_NET = """
import torch
import torch.nn as nn


class Plain(nn.Module):
    def __init__(self, n_out, checkpointing=False):
        super().__init__()
        self.body = nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(9)])
        self.head = nn.Linear(8, n_out)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


if __name__ == "__main__":
    print(Plain(n_out=10, checkpointing=False)(torch.rand(1, 8, 16, 16)).shape)
"""


def test_builds_giving_a_default_or_leaving_it_out_are_one_variant(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """net.py's self-check builds `Plain(n_out=10, checkpointing=False)`, fit.py trains
    `Plain(n_out=10)`: False is the default, so they are one network, judged once, where it
    trains."""
    monkeypatch.chdir(tmp_path)
    _tree(tmp_path, {"pyproject.toml": "", "net.py": PLAIN_NET, "fit.py": FIT_EITHER.replace(
        "from mixer import Mixer", "from net import Plain").replace(
        'net = Mixer("small")', "net = Plain(n_out=10)").replace(
        'net = Mixer("big")', "net = Plain(n_out=10)")})
    whole = _lint(["."])
    assert {path for _, path, *_ in whole} == {"fit.py"}
    assert [code for code, *_ in whole].count("CNN103") == 1


def test_the_script_alone_reads_its_model_and_helpers_from_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _copy("package_layout", tmp_path)
    # validate() and save_checkpoint() in utils.py are followed: no CNN202, no CNN203.
    assert [(r[0], r[1]) for r in _lint(["train.py"])] == [("CNN201", "train.py")]


def test_a_launcher_that_calls_another_file_s_training_function_is_a_script(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`if __name__ == "__main__": fit(Tower(), loader)` with the loop in engine.py: the
    launcher's pass reads the loop with the model and loader it passes (batch 2, no decay),
    from any file of the three."""
    monkeypatch.chdir(tmp_path)
    _copy("launcher", tmp_path)
    rows = _lint(["model.py"])
    assert [(r[0], r[1], r[2]) for r in rows if r[0] in ("CNN107", "CNN201")] == [
        ("CNN107", "model.py", 4), ("CNN201", "main.py", 9)]
    assert [(r[0], r[1]) for r in _lint(["engine.py"])] == [("CNN107", "model.py")]


def test_same_named_models_in_two_packages_are_two_models(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _copy("same_names", tmp_path)
    # b/train.py trains b.model.Net (GroupNorm) at batch 2: nothing to report there.
    assert _lint(["b/train.py"]) == []
    (row,) = _lint(["a/train.py"])
    assert row[0] == "CNN201" and row[6] == (("a/model.py", 4),)



def test_a_factory_handing_back_another_file_s_model_is_judged_at_that_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """evaluate.py's `build_model()` returns `nets.tower10()` as nets.py builds it, and
    restore.py's `restore()` a `Tower()` it loads weights into: the tower's findings are said
    once, in nets.py, linted whole or with either script alone; wide.py's factory builds a
    wider tower, its own network, judged there."""
    monkeypatch.chdir(tmp_path)
    _copy("evaluator", tmp_path)
    whole = _lint(["."])
    assert {path for _, path, *_ in whole} == {"nets.py", "wide.py"}
    assert {code for code, path, *_ in whole if path == "nets.py"} == {
        "CNN103", "CNN104", "CNN105", "CNN107"}
    assert _lint(["evaluate.py"]) == [] and _lint(["restore.py"]) == []
    assert _lint(["wide.py"]) == [row for row in whole if row[1] == "wide.py"] != []


def test_a_class_built_only_by_a_unit_test_is_judged_at_the_class(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`Coder` needs its sizes; only tests/test_coder.py spells them (fit.py builds it from a
    config file). The findings are about coder.py's code: they are said there, the test's
    call their other end, and linting the model file alone reads the test too."""
    monkeypatch.chdir(tmp_path)
    _copy("unit_tested", tmp_path)
    whole = _lint(["."])
    about_model = [row for row in whole if row[0] in ("CNN103", "CNN104", "CNN105")]
    assert {(row[1], row[2]) for row in about_model} == {("nets/coder.py", 4)}
    assert all(row[6] == (("tests/test_coder.py", 7),) for row in about_model)
    assert all("(Coder(3, 4))" in row[5] for row in about_model)
    assert _lint(["nets/coder.py"]) == [row for row in whole if row[1] == "nets/coder.py"]
    assert _lint(["tests/test_coder.py"]) == about_model


# --- the project and its imports ------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_root_is_the_nearest_cnnlint_table_else_the_nearest_marker(tmp_path: Path) -> None:
    _tree(tmp_path, {"repo/pyproject.toml": "[tool.cnnlint]\n",
                     "repo/pkg/setup.py": "", "repo/pkg/mod.py": "",
                     "plain/.git/HEAD": "", "plain/sub/mod.py": "", "loose/mod.py": ""})
    assert find_root([str(tmp_path / "repo/pkg/mod.py")]) == str(tmp_path / "repo")
    assert find_root([str(tmp_path / "plain/sub/mod.py")]) == str(tmp_path / "plain")
    assert find_root([str(tmp_path / "loose/mod.py")]) in (None, *map(str, tmp_path.parents))


def test_imports_resolve_on_disk_like_python(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "pyproject.toml": "",
        "src/lib/__init__.py": "from .core import Net\n",
        "src/lib/core.py": "from . import blocks\nfrom .blocks import Block\n",
        "src/lib/blocks.py": "",
        "models/net.py": "",  # a namespace package: no __init__.py
        "tools/train.py": "import lib\nfrom models.net import Net\nimport helper\n",
        "tools/helper.py": "",
    })
    root = str(tmp_path)
    project = Project.open([os.path.join(root, "tools/train.py")], [], root)
    train, core = os.path.join(root, "tools/train.py"), os.path.join(root, "src/lib/core.py")
    assert project.root == root
    assert set(project.imports_of(train)) == {os.path.join(root, p) for p in (
        "src/lib/__init__.py", "models/net.py", "tools/helper.py")}
    assert set(project.imports_of(core)) == {os.path.join(root, p) for p in (
        "src/lib/__init__.py", "src/lib/blocks.py")}  # `from . import` runs the package
    assert project.importers()[os.path.join(root, "src/lib/blocks.py")] == [core]
    assert project.module_name(core) == "src.lib.core"


def test_a_star_import_of_a_package_imports_the_submodules_its_all_names(
        tmp_path: Path) -> None:
    """`from models import *` with `__all__ = ["small", "wide"]` in models/__init__.py runs
    those two submodules (as Python does), so a notebook doing it imports models/small.py:
    linting small.py alone reads the notebook that trains its network."""
    _tree(tmp_path, {
        "pyproject.toml": "",
        "models/__init__.py": '"""The networks."""\n\n__all__ = ["small", "wide"]\n',
        "models/small.py": "", "models/wide.py": "", "models/unlisted.py": "",
        "run.py": "from models import *\n",
    })
    root = str(tmp_path)
    run, small = os.path.join(root, "run.py"), os.path.join(root, "models/small.py")
    project = Project.open([small], [], root)
    assert set(project.imports_of(run)) == {os.path.join(root, p) for p in (
        "models/__init__.py", "models/small.py", "models/wide.py")}
    assert run in project.analysis_set([small])[0]


def test_a_copy_of_a_package_imports_its_own_modules(tmp_path: Path) -> None:
    """`v2/lib/net.py` importing `lib.block` was itself imported as `lib.net` by a script
    in `v2/`: Python finds the block beside it, not the copy in the root's `lib/`."""
    _tree(tmp_path, {"pyproject.toml": "", "lib/net.py": "from lib.block import Gate\n",
                     "lib/block.py": "", "Old_v2/lib/net.py": "from lib.block import Gate\n",
                     "Old_v2/lib/block.py": "", "Old_v2/lib/deeper/util.py": "import lib.block\n",
                     "Old_v2/run.py": "from lib.net import Net\n"})
    root = str(tmp_path)
    project = Project.open([root], [], root)
    for importer, imported in (("lib/net.py", "lib/block.py"),
                               ("Old_v2/lib/net.py", "Old_v2/lib/block.py"),
                               ("Old_v2/lib/deeper/util.py", "Old_v2/lib/block.py"),
                               ("Old_v2/run.py", "Old_v2/lib/net.py")):
        assert project.imports_of(os.path.join(root, importer)) == (
            os.path.join(root, imported),), importer


def test_a_module_in_a_folder_named_like_its_import_finds_the_folder_it_was_imported_from(
        tmp_path: Path) -> None:
    """`vision/net.py` imports `vision.parts` (it was itself imported as `vision.net` from
    the root): Python finds `vision/parts.py`, not a nested copy in `vision/vision/` that
    only running the file as a script would reach."""
    _tree(tmp_path, {"pyproject.toml": "", "use.py": "from vision.net import Net\n",
                     "vision/net.py": "from vision.parts import Stage\n",
                     "vision/parts.py": "", "vision/vision/parts.py": ""})
    root = str(tmp_path)
    project = Project.open([root], [], root)
    assert project.imports_of(os.path.join(root, "vision/net.py")) == (
        os.path.join(root, "vision/parts.py"),)


def test_a_script_importing_the_file_named_like_its_folder_gets_that_file(
        tmp_path: Path) -> None:
    """`grading/train.py` runs `from grading import Grader` beside `grading/grading.py`:
    the folder above would give `grading` as a namespace package without `Grader`; run
    from its folder, the script imports the file beside it. `grading.parts` still goes
    through the folder above, and `from grading import parts` finds the submodule."""
    _tree(tmp_path, {"pyproject.toml": "", "grading/grading.py": "",
                     "grading/parts.py": "",
                     "grading/train.py": "from grading import Grader\n",
                     "grading/tune.py": "from grading.parts import Stage\n",
                     "grading/fit.py": "from grading import parts\n"})
    root = str(tmp_path)
    project = Project.open([root], [], root)
    assert project.imports_of(os.path.join(root, "grading/train.py")) == (
        os.path.join(root, "grading/grading.py"),)
    assert project.imports_of(os.path.join(root, "grading/tune.py")) == (
        os.path.join(root, "grading/parts.py"),)
    # (A submodule named in the import is still found in the folder.)
    assert project.imports_of(os.path.join(root, "grading/fit.py")) == (
        os.path.join(root, "grading/grading.py"), os.path.join(root, "grading/parts.py"))


def test_a_package_named_like_a_library_deep_in_the_project_does_not_shadow_it(
        tmp_path: Path) -> None:
    """`pkg/torch/nn/` beside `pkg/torch/models/net.py`: `import torch.nn` in that file is
    PyTorch (Python does not put `pkg/` on its path), so the model is read."""
    net = ("import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
           "        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3)\n"
           "        self.bn = nn.BatchNorm2d(8)\n\n    def forward(self, x):\n"
           "        return self.bn(self.conv(x))\n")
    _tree(tmp_path, {"pyproject.toml": "", "pkg/__init__.py": "", "pkg/torch/__init__.py": "",
                     "pkg/torch/nn/__init__.py": "", "pkg/torch/models/__init__.py": "",
                     "pkg/torch/models/net.py": net})
    root = str(tmp_path)
    importer = os.path.join(root, "pkg/torch/models/net.py")
    assert not Project.open([importer], [], root).imports_of(importer)
    (row,) = _lint([root])
    assert row[0] == "CNN101" and row[1].endswith("net.py")


def test_a_file_named_like_the_library_it_imports_does_not_import_itself(
        tmp_path: Path) -> None:
    """`eval/lpips.py` runs `import lpips`: the installed package, not the file itself (read
    as itself, its calls recursed until the reader gave up, and models it built were cut
    short). Another project module of that name is still found."""
    _tree(tmp_path, {"pyproject.toml": "", "eval/lpips.py": "import lpips\n",
                     "eval/score.py": "import lpips\n", "tools/lpips.py": "import lpips\n",
                     "lpips.py": "", "nets/__init__.py": "from nets import blocks\n",
                     "nets/blocks.py": ""})
    root = str(tmp_path)
    project = Project.open([root], [], root)
    assert os.path.join(root, "nets/blocks.py") in project.imports_of(
        os.path.join(root, "nets/__init__.py"))
    assert project.imports_of(os.path.join(root, "eval/lpips.py")) == (
        os.path.join(root, "lpips.py"),)
    assert project.imports_of(os.path.join(root, "eval/score.py")) == (
        os.path.join(root, "eval/lpips.py"),)
    os.remove(os.path.join(root, "lpips.py"))
    alone = Project.open([root], [], root)
    assert alone.imports_of(os.path.join(root, "eval/lpips.py")) == ()
    assert alone.imports_of(os.path.join(root, "tools/lpips.py")) == ()


def test_a_file_that_extends_sys_path_imports_the_one_project_module_of_that_name(
        tmp_path: Path) -> None:
    """`sys.path.append("/home/me/proj/nets")` (a path of the author's machine) then
    `from body import Body`: the project's `body.py` in a folder that line names is the
    module, and a linted model file finds the script that trains it. A module in a folder
    no such line names, or imported by a file that leaves sys.path alone, is not."""
    _tree(tmp_path, {
        "pyproject.toml": "",
        "nets/body.py": "", "nets/head.py": "", "heads/head.py": "", "misc/extra.py": "",
        "utils/__init__.py": "",
        "train.py": ("import sys, os\nsys.path.append('/home/me/proj/nets')\n"
                     "sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'lib'))\n"
                     "from body import Body\nimport head\nimport extra\nfrom utils import x\n"),
        "tools/plain.py": "from body import Body\n",
    })
    root = str(tmp_path)
    project = Project.open([root], [], root)
    assert set(project.imports_of(os.path.join(root, "train.py"))) == {
        os.path.join(root, p) for p in ("nets/body.py", "nets/head.py", "utils/__init__.py")}
    assert project.imports_of(os.path.join(root, "tools/plain.py")) == ()
    assert project.importers()[os.path.join(root, "nets/body.py")] == [
        os.path.join(root, "train.py")]


def test_a_folder_a_config_module_adds_to_sys_path_through_a_helper_is_searched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A config module defines `add_path(path)` (sys.path.insert inside it) and calls it with
    the folder (`add_path(join(root, "shared"))`); the network module imports the config
    first, then `from blocks import Trunk` from that folder. The trunk is read as part of
    the trained network, so it is neither a network with no training script (CNN107) nor
    left out of the network's judgement. A helper that is never called adds nothing."""
    trunk = ("import torch.nn as nn\n\n\nclass Trunk(nn.Module):\n"
             "    def __init__(self):\n        super().__init__()\n"
             "        layers = [nn.Conv2d(3, 16, 3, padding=1)]\n"
             "        for _ in range(9):\n"
             "            layers += [nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1)]\n"
             "        self.body = nn.Sequential(*layers)\n\n"
             "    def forward(self, x):\n        return self.body(x)\n")
    config = ("import os.path as osp\nimport sys\n\nroot = osp.dirname(osp.dirname(__file__))\n\n\n"
              "def add_path(path):\n    if path not in sys.path:\n"
              "        sys.path.insert(0, path)\n\n\nadd_path(osp.join(root, 'shared'))\n")
    _tree(tmp_path, {
        "pyproject.toml": "", "shared/blocks/__init__.py": "from .trunk import Trunk\n",
        "shared/blocks/trunk.py": trunk, "seg/config.py": config,
        "seg/network.py": ("import torch.nn as nn\nimport config\nfrom blocks import Trunk\n\n\n"
                           "class Segmenter(nn.Module):\n    def __init__(self):\n"
                           "        super().__init__()\n        self.trunk = Trunk()\n"
                           "        self.head = nn.Conv2d(16, 5, 1)\n\n"
                           "    def forward(self, x):\n        return self.head(self.trunk(x))\n"),
        "seg/train.py": ("import torch\nfrom network import Segmenter\n\nmodel = Segmenter()\n"
                         "opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,\n"
                         "                      weight_decay=1e-4)\n"
                         "for epoch in range(3):\n    opt.zero_grad()\n"
                         "    model(torch.randn(2, 3, 8, 8)).mean().backward()\n"
                         "    opt.step()\n"),
        "other/config.py": ("import sys\n\n\ndef unused(path):\n"
                            "    sys.path.append(path)\n"),
        "other/net.py": "import config\nfrom blocks import Trunk\n",
    })
    monkeypatch.chdir(tmp_path)
    root = str(tmp_path)
    project = Project.open([root], [], root)
    assert os.path.join(root, "shared/blocks/__init__.py") in project.imports_of(
        os.path.join(root, "seg/network.py"))
    assert project.imports_of(os.path.join(root, "other/net.py")) == (
        os.path.join(root, "other/config.py"),)
    rows = _lint(["."])
    assert not [r for r in rows if r[0] == "CNN107"], rows
    assert ("CNN103", "seg/network.py") in [(r[0], r[1]) for r in rows]  # read in full


def test_a_file_reaches_training_code_through_what_it_imports(tmp_path: Path) -> None:
    """Only files that can reach an optimizer, a Trainer or a library that may train what
    it is handed get a pass over their training code (a model zoo's `_test()` does not)."""
    _tree(tmp_path, {
        "pyproject.toml": "",
        "zoo/common.py": "import math\nimport torch.nn as nn\n",
        "zoo/store.py": "import requests\n",
        "zoo/resnet.py": "import torch\nfrom .common import conv3x3\nfrom . import store\n",
        "opt.py": "from torch import optim\n",
        "train.py": "from zoo.resnet import Net\nfrom opt import make\n",
        "fit.py": "from zoo.resnet import Net\nfrom homura.trainers import Trainer2\n",
        "dynamic.py": "import importlib\nm = importlib.import_module('x')\n",
    })
    root = str(tmp_path)
    project = Project.open([root], [], root)
    reaches = {name: project.reaches_training_code(os.path.join(root, name))
               for name in ("zoo/resnet.py", "train.py", "fit.py", "dynamic.py")}
    assert reaches == {"zoo/resnet.py": False, "train.py": True, "fit.py": True,
                       "dynamic.py": True}


def test_the_import_scanner_reads_every_import_statement_form() -> None:
    source = b'''import os, torch.nn as nn
from . import blocks
from ..models.net import (Net,  # the model
    build)
from pkg import a, \\
    b
if True: import late
def f():
    from deep.mod import thing
'''
    assert scan_imports(source) == (
        ("os", 0, ()), ("torch.nn", 0, ()), ("", 1, ("blocks",)),
        ("models.net", 2, ("Net", "build")), ("pkg", 0, ("a", "b")),
        ("deep.mod", 0, ("thing",)))


def test_without_a_project_root_only_the_files_beside_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, {"model.py": "", "train.py": "from model import Net\n",
                     "sub/other.py": "import model\n"})
    monkeypatch.chdir(tmp_path)
    project = Project.open([str(tmp_path / "model.py")], [], str(tmp_path))
    if project.root is None:  # unless the temporary folder sits inside a project
        assert project.files == {str(tmp_path / "model.py"), str(tmp_path / "train.py")}


def test_without_a_root_the_folder_named_is_where_imports_are_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cnnlint .` in a folder holding only `pkg/` (no `__init__.py`, no project marker):
    `from pkg.layers import Block` in `pkg/net.py` is found under the folder named, as
    Python finds it when run from there."""
    _tree(tmp_path, {"pkg/layers.py": "", "pkg/net.py": "from pkg.layers import Block\n"})
    monkeypatch.chdir(tmp_path)
    linted = [str(tmp_path / "pkg/layers.py"), str(tmp_path / "pkg/net.py")]
    project = Project.open(linted, [], str(tmp_path), given=["."])
    if project.root is None:  # unless the temporary folder sits inside a project
        assert list(project.imports_of(linted[1])) == [linted[0]]
        assert not Project.open(linted, [], str(tmp_path)).imports_of(linted[1])


def test_a_file_read_for_context_that_does_not_parse_is_a_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, {"pyproject.toml": "", "helpers.py": "def f(:\n",
                     "train.py": "from helpers import f\n"})
    monkeypatch.chdir(tmp_path)
    rules = load_rules()
    settings = build_settings(["train.py"], Flags(), rules)
    result = lint(["train.py"], settings, rules)
    assert result.errors == [] and result.findings == []  # not the run's file: no CNN900
    assert "helpers.py: not analysed: syntax error at line 1" in " ".join(result.notes())


SHARED_CONFIG = """
class Config:
    def __init__(self):
        self.lr = 0.1
        self.epochs = 30

cfg = Config()
"""
TRAINS_WITH_CONFIG = """
import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
{imports}from config import cfg
from model import Net

{top}model = Net()
data = datasets.CIFAR10("data", train=True, transform=transforms.ToTensor())
loader = DataLoader(data, batch_size=64, shuffle=True)
opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9)
for epoch in range(cfg.epochs):
    for x, y in loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
"""


def test_what_a_script_sets_on_a_shared_object_is_its_own_run_s(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fast.py sets `cfg.lr = 5.0` on the configuration config.py holds; slow.py, run in a
    process of its own, trains at config.py's 0.1, however the project is linted. A module
    that sets it and is imported (tuned.py by tuned_run.py) sets it for its importer."""
    net = "import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n" \
          "        super().__init__()\n        self.fc = nn.Linear(8, 10)\n\n" \
          "    def forward(self, x):\n        return self.fc(x)\n"
    _tree(tmp_path, {
        "pyproject.toml": "", "config.py": SHARED_CONFIG, "model.py": net,
        "fast.py": TRAINS_WITH_CONFIG.format(imports="", top="cfg.lr = 5.0\n"),
        "slow.py": TRAINS_WITH_CONFIG.format(imports="", top=""),
        "tuned.py": "from config import cfg\n\ncfg.lr = 5.0\n",
        "tuned_run.py": TRAINS_WITH_CONFIG.format(imports="import tuned\n", top="")})
    monkeypatch.chdir(tmp_path)
    too_high = [("CNN208", "fast.py", 12), ("CNN208", "tuned_run.py", 12)]
    for paths in (["."], ["slow.py", "fast.py", "tuned_run.py"], ["tuned_run.py", "slow.py"]):
        rows = [(r[0], r[1], r[2]) for r in _lint(paths) if r[0] == "CNN208"]
        assert rows == [row for row in too_high if paths == ["."] or row[1] in paths], paths
