"""Where source comes from: notebooks, stdin (editors), .gitignore'd folders; and
`--statistics`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cnnlint.notebook import NotebookError, cell_position, joined_line, read_notebook
from helpers import BAD, CLEAN, plain_net, run


def _notebook(cells: list[tuple[str, str]], language: str = "python") -> str:
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": text.splitlines(True)}
                  for kind, text in cells],
        "metadata": {"kernelspec": {"language": language, "name": language}},
        "nbformat": 4, "nbformat_minor": 5})


SETUP_CELL = "%matplotlib inline\n!pip install torch\nimport torch.nn as nn\n"
MODEL_CELL = BAD.replace("import torch.nn as nn\n\n", "")


def test_notebook_cells_become_python_with_magics_blanked() -> None:
    source = read_notebook(_notebook([
        ("markdown", "# A title\n"),
        ("code", SETUP_CELL),
        ("code", "%%bash\nls -l\n"),
        ("code", "files = !ls\nfor f in files:\n    %time print(f)\nlen?\n"),
    ]).encode())
    # Every cell, as Jupyter numbers them: the markdown one starts where the next does.
    assert source.cell_starts == (1, 1, 4, 6)
    assert source.text.splitlines() == [
        "pass", "pass", "import torch.nn as nn",
        "", "",
        "files = None", "for f in files:", "    pass", ""]
    compile(source.text, "nb", "exec")  # what the analysis reads is valid Python
    assert [cell_position(source.cell_starts, line) for line in (1, 3, 4, 6, 9)] == [
        (2, 1), (2, 3), (3, 1), (4, 1), (4, 4)]
    assert joined_line(source.cell_starts, 4, 4) == 9


def test_a_shell_escape_joined_over_lines_by_backslashes_is_blanked_whole() -> None:
    """`!python export.py \\` with its arguments on indented lines below: IPython joins
    them into one shell command, so none of them is read as Python."""
    cell = "!python export.py --weights w.pt \\\n        --grid \\\n        --simplify\nx = 1\n"
    source = read_notebook(_notebook([("code", cell)]).encode())
    assert source.text.splitlines() == ["pass", "", "", "x = 1"]
    compile(source.text, "nb", "exec")


def test_pip_install_without_its_percent_is_the_magic() -> None:
    """IPython's automagic runs a bare `pip install ...` as `%pip`: it is blanked like the
    magic, and the rest of the notebook is read. `pip = 3` stays Python."""
    source = read_notebook(_notebook([
        ("code", "pip install torchvision\nconda install -y numpy\n"),
        ("code", "pip = 3\nprint(pip - 1)\n"),
    ]).encode())
    assert source.text.splitlines() == ["pass", "pass", "pip = 3", "print(pip - 1)"]
    compile(source.text, "nb", "exec")


def test_other_magics_without_their_percent_are_the_magic_when_no_python() -> None:
    """`cd/content/drive/My Drive` and `cd ..` are IPython's `%cd` run by automagic (b202:
    three CNN900 syntax errors on notebooks whose saved output shows the cd ran); a line that
    is Python as written (`cd / data`, `ls = [1]`, `time.sleep(1)`) stays Python."""
    lines = ["cd/content/drive/My Drive/data", "cd ..", "matplotlib inline", "cd / data",
             "ls = [1,", "  2]", "time.sleep(1)", "run = ls - [2]"]
    source = read_notebook(_notebook([("code", "\n".join(lines) + "\n")]).encode())
    assert source.text.splitlines() == ["pass", "pass", "pass", *lines[3:]]
    compile(source.text, "nb", "exec")


def test_cells_ipython_runs_as_python_are_read() -> None:
    """A `%%time` cell's body, a cell indented as a whole, and a wildcard help search."""
    source = read_notebook(_notebook([
        ("code", "%%time\nmodel = build()\n"),
        ("code", " x = 1\n if x:\n     y = 2\n"),
        ("code", "torch.*Tensor?\n?len\nz = 3\n"),
    ]).encode())
    assert source.text.splitlines() == [
        "", "model = build()",
        "x = 1", "if x:", "    y = 2",
        "", "", "z = 3"]
    compile(source.text, "nb", "exec")


def test_a_place_a_notebook_message_names_is_given_by_cell(tmp_path: Path) -> None:
    """A message naming another place in a notebook (the optimizer without weight decay,
    the model a script trains) gives it as `cell N:line`, as the finding's own place is,
    not as a line of the cells joined together."""
    model = ("import torch\nimport torch.nn as nn\n\nclass Net(nn.Module):\n"
             "    def __init__(self):\n        super().__init__()\n"
             "        self.body = nn.Sequential(*[nn.Conv2d(3, 3, 3) for _ in range(9)])\n\n"
             "    def forward(self, x):\n        return self.body(x)\n")
    train = ("net = Net()\nopt = torch.optim.Adam(net.parameters(), lr=1e-3)\n"
             "loader = torch.utils.data.DataLoader(torch.load('t.pt'), batch_size=32)\n"
             "for x, y in loader:\n    opt.zero_grad()\n"
             "    nn.functional.mse_loss(net(x), y).backward()\n    opt.step()\n")
    (tmp_path / "demo.ipynb").write_text(_notebook(
        [("markdown", "# demo"), ("code", model), ("code", "print(1)"), ("code", train)]))
    _, out, _ = run([str(tmp_path / "demo.ipynb"), "--select", "CNN107", "--no-cache"])
    assert "(`Adam` at " in out
    assert "demo.ipynb:cell 4:2)" in out, out
    # In a folder whose name has a space too (the words before it are not its path).
    (tmp_path / "my notes").mkdir()
    (tmp_path / "demo.ipynb").rename(tmp_path / "my notes" / "demo.ipynb")
    _, out, _ = run([str(tmp_path / "my notes" / "demo.ipynb"), "--select", "CNN107",
                     "--no-cache"])
    assert "(`Adam` at " in out and "my notes/demo.ipynb:cell 4:2)" in out, out
    # A copy named with parentheses, as a browser or a file manager names it.
    (tmp_path / "my notes" / "demo.ipynb").rename(tmp_path / "my notes" / "demo (1).ipynb")
    _, out, _ = run([str(tmp_path / "my notes" / "demo (1).ipynb"), "--select", "CNN107",
                     "--no-cache"])
    assert "(`Adam` at " in out and "my notes/demo (1).ipynb:cell 4:2)" in out, out


def test_a_place_right_after_a_parenthesis_is_given_by_cell(tmp_path: Path) -> None:
    """CNN201 names the model's definition in parentheses right before the path
    ("`Net` (demo.ipynb:7)"): that place is given by cell too."""
    model = ("import torch\nimport torch.nn as nn\n\nclass Net(nn.Module):\n"
             "    def __init__(self):\n        super().__init__()\n"
             "        self.body = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))\n\n"
             "    def forward(self, x):\n        return self.body(x)\n")
    train = ("net = Net()\nopt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)\n"
             "loader = torch.utils.data.DataLoader(torch.load('t.pt'), batch_size=2)\n"
             "for x, y in loader:\n    opt.zero_grad()\n"
             "    nn.functional.mse_loss(net(x), y).backward()\n    opt.step()\n")
    (tmp_path / "demo.ipynb").write_text(_notebook(
        [("markdown", "# demo"), ("code", model), ("code", train)]))
    _, out, _ = run([str(tmp_path / "demo.ipynb"), "--select", "CNN201", "--no-cache"])
    assert "`Net` (" in out and "demo.ipynb:cell 2:4) has BatchNorm" in out, out


def test_a_percent_continuing_a_statement_is_not_a_magic() -> None:
    """`%` at the start of a line inside brackets, a triple-quoted string or after a
    backslash is Python's operator or text: only a line that starts a statement is a
    magic."""
    lines = ["print('%d of %d'", "      % (1, 2))", 'text = """', "%s", '"""', "n = 7 \\",
             "    % 3", "# a comment (", "%time n"]
    source = read_notebook(_notebook([("code", "\n".join(lines) + "\n")]).encode())
    assert source.text.splitlines() == lines[:-1] + ["pass"]
    compile(source.text, "nb", "exec")


@pytest.mark.parametrize("data, message", [
    (b"{not json", "invalid JSON"),
    (b'{"cells": 3}', "no list of cells"),
    (_notebook([("code", "x <- 1\n")], language="R").encode(), "a r notebook"),
    # A clone made without Git LFS holds a pointer where the notebook should be.
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 52817\n",
     r"a Git LFS pointer, not the notebook: fetch it \(`git lfs pull`\)"),
])
def test_unreadable_notebooks_are_named(data: bytes, message: str) -> None:
    with pytest.raises(NotebookError, match=message):
        read_notebook(data)


@pytest.mark.parametrize("name", ["ipython", "ipython3", "python3"])
def test_a_notebook_whose_language_is_named_for_ipython_is_python(name: str) -> None:
    """Jupyter writes `language_info.name` as "ipython" (or a kernel's "python3") in some
    versions: an ordinary Python notebook, read like any other."""
    document = json.loads(_notebook([("code", "import torch\nx = 1\n")]))
    document["metadata"]["language_info"] = {"name": name, "pygments_lexer": "ipython3"}
    source = read_notebook(json.dumps(document).encode())
    assert source.text.splitlines() == ["import torch", "x = 1"]


def test_findings_in_a_notebook_name_the_cell_and_its_line(in_tmp: Path) -> None:
    noqa_cell = MODEL_CELL.replace("nn.Conv2d(3, 8, 3)", "nn.Conv2d(3, 8, 3)  # noqa: CNN101")
    (in_tmp / "nb.ipynb").write_text(_notebook([
        ("markdown", "Some prose\n"), ("code", SETUP_CELL), ("code", MODEL_CELL),
        ("code", noqa_cell.replace("class Net", "class Other"))]))
    code, out, _ = run(["--no-cache", "."])
    assert code == 1
    assert out.startswith("nb.ipynb:cell 3:4:21: CNN101 [warning]")
    assert "Found 1 finding" in out  # the noqa in the last cell holds
    code, out, _ = run(["--no-cache", "--format", "json", "nb.ipynb"])
    finding = json.loads(out)["findings"][0]
    assert (finding["cell"], finding["line"], finding["end_line"]) == (3, 4, 4)


def test_a_broken_notebook_is_a_read_error_not_a_crash(in_tmp: Path) -> None:
    (in_tmp / "broken.ipynb").write_text("{")
    code, out, _ = run(["--no-cache", "broken.ipynb"])
    assert code == 2
    assert "broken.ipynb: error (read): not a readable notebook" in out


def test_a_notebook_trains_a_model_of_the_project(in_tmp: Path) -> None:
    """Notebooks are part of the project: one that trains `models.Net` at batch 2 is read
    when only the model file is linted."""
    (in_tmp / ".git").mkdir()
    (in_tmp / "models.py").write_text(CLEAN)
    (in_tmp / "train.ipynb").write_text(_notebook([("code", (
        "import torch\nfrom torch.utils.data import DataLoader\nfrom models import Net\n"
        "model = Net()\n"
        "opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
        "loader = DataLoader(dataset, batch_size=2, shuffle=True)\n"
        "for epoch in range(3):\n"
        "    for x, y in loader:\n"
        "        opt.zero_grad()\n"
        "        loss = torch.nn.functional.cross_entropy(model(x), y)\n"
        "        loss.backward()\n"
        "        opt.step()\n"))]))
    code, out, _ = run(["--no-cache", "--select", "CNN201", "models.py"])
    assert "CNN201" in out, out
    assert "train.ipynb:cell 1:6" in out


def test_stdin_stands_for_the_named_file(in_tmp: Path) -> None:
    (in_tmp / "net.py").write_text(CLEAN)  # the saved file is clean; the buffer is not
    code, out, _ = run(["--no-cache", "-", "--stdin-filename", "net.py"], stdin=BAD.encode())
    assert code == 1
    assert out.startswith("net.py:6:")
    code, out, _ = run(["--no-cache", "-"], stdin=BAD.encode())
    assert out.startswith("-:6:")
    code, out, _ = run(["--no-cache", "net.py"])  # the buffer is forgotten after its run
    assert code == 0


def test_a_source_from_stdin_offers_no_fix_it_cannot_take(in_tmp: Path) -> None:
    """--fix does not read stdin: its output marks no `[*]` and suggests no `--fix`."""
    source = (Path(__file__).parents[1] / "examples" / "model.py").read_text()
    (in_tmp / "model.py").write_text(source)
    code, out, _ = run(["--no-cache", "model.py"])
    assert "[*]" in out and "fixable with `--fix`" in out, out  # the file itself: fixable
    code, out, _ = run(["--no-cache", "-", "--stdin-filename", "model.py"],
                       stdin=source.encode())
    assert code == 1 and "CNN101" in out and "[*]" not in out and "--fix" not in out, out


@pytest.mark.parametrize("args, message", [
    (["-", "other.py"], "cannot be combined"),
    (["x.py", "--stdin-filename", "y.py"], "needs `-`"),
])
def test_stdin_misuse_is_a_usage_error(in_tmp: Path, args: list[str], message: str) -> None:
    code, _, err = run(["--no-cache", *args], stdin=b"")
    assert code == 2 and message in err


def test_statistics_count_findings_per_rule(in_tmp: Path) -> None:
    two = BAD.replace("        self.bn = nn.BatchNorm2d(8)\n", (
        "        self.bn = nn.BatchNorm2d(8)\n        self.c2 = nn.Conv2d(8, 8, 3)\n"
        "        self.b2 = nn.BatchNorm2d(8)\n")).replace(
        "self.bn(self.conv(x))", "self.b2(self.c2(self.bn(self.conv(x))))")
    (in_tmp / "a.py").write_text(two)
    (in_tmp / "b.py").write_text(BAD)
    code, out, _ = run(["--no-cache", "--statistics", "--select", "CNN101,CNN105", "."])
    assert code == 1
    assert out.splitlines()[0] == "3\tCNN101\tconv-bias-before-batchnorm [warning]"
    code, out, _ = run(["--no-cache", "--statistics", "--format", "json", "--select",
                        "CNN101", "."])
    assert json.loads(out) == [{"code": "CNN101", "name": "conv-bias-before-batchnorm",
                                "severity": "warning", "count": 3,
                                "by_severity": {"warning": 3}}]
    code, _, err = run(["--no-cache", "--statistics", "--format", "sarif", "."])
    assert code == 2 and "--statistics" in err


def test_statistics_give_a_rule_of_several_severities_one_line(in_tmp: Path) -> None:
    """CNN201 is an error below batch 4 and a warning up to 16: one line for the rule,
    its count split by severity, most severe first."""
    net = ("import torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
           "        super().__init__()\n        self.c = nn.Conv2d(3, 8, 3, bias=False)\n"
           "        self.b = nn.BatchNorm2d(8)\n\n    def forward(self, x):\n"
           "        return self.b(self.c(x))\n")
    loop = ("import torch\nfrom torch.utils.data import DataLoader\nfrom net import Net\n\n"
            "model = Net()\nopt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
            "for x in DataLoader(torch.load('d.pt'), batch_size=SIZE, shuffle=True):\n"
            "    opt.zero_grad()\n    model(x).mean().backward()\n    opt.step()\n")
    (in_tmp / "net.py").write_text(net)
    (in_tmp / "a.py").write_text(loop.replace("SIZE", "2"))
    (in_tmp / "b.py").write_text(loop.replace("SIZE", "8"))
    code, out, _ = run(["--no-cache", "--statistics", "--select", "CNN201", "."])
    assert out.splitlines() == ["2\tCNN201\tbatchnorm-small-batch [error 1, warning 1]"]
    code, out, _ = run(["--no-cache", "--statistics", "--format", "json", "--select",
                        "CNN201", "."])
    assert json.loads(out) == [{"code": "CNN201", "name": "batchnorm-small-batch",
                                "severity": "error", "count": 2,
                                "by_severity": {"error": 1, "warning": 1}}]


def test_gitignored_files_are_skipped_when_walking(in_tmp: Path) -> None:
    (in_tmp / ".git" / "info").mkdir(parents=True)
    (in_tmp / ".git" / "info" / "exclude").write_text("scratch.py\n")
    (in_tmp / ".gitignore").write_text("generated/\n*_old.py\n")
    (in_tmp / "pkg").mkdir()
    (in_tmp / "pkg" / ".gitignore").write_text("!keep_old.py\n")
    for name in ("net.py", "net_old.py", "scratch.py", "generated/net.py",
                 "pkg/keep_old.py", "pkg/drop_old.py"):
        (in_tmp / name).parent.mkdir(exist_ok=True)
        (in_tmp / name).write_text(BAD)
    code, out, _ = run(["--no-cache", "--select", "CNN101", "."])
    linted = sorted({line.split(":")[0] for line in out.splitlines() if "CNN101" in line})
    assert linted == ["net.py", "pkg/keep_old.py"]
    _, out, _ = run(["--no-cache", "--select", "CNN101", "--no-respect-gitignore", "."])
    assert "Found 6 findings" in out
    _, out, _ = run(["--no-cache", "--select", "CNN101", "net_old.py"])  # named: linted
    assert "Found 1 finding" in out


@pytest.mark.parametrize("patterns", [
    "*\n!*/\n!*.*\n",  # ignore all, then keep folders and dotted names
    "*\n!*/\n!*.py\n*_old.py\n",
    "data/*\n!data/keep/\n",
    "/*\n!/pkg/\n",
])
def test_folders_are_ignored_as_git_ignores_them(in_tmp: Path, patterns: str) -> None:
    """A `.gitignore` that ignores everything and then keeps folders (`*`, `!*/`) keeps the
    files inside them that a later pattern keeps: what is walked is what git does not
    ignore, checked against git itself."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=in_tmp, check=True)
    (in_tmp / ".gitignore").write_text(patterns)
    names = ("net.py", "net_old.py", "pkg/net.py", "pkg/sub/net_old.py", "data/net.py",
             "data/keep/net.py", "src/deep/net.py")
    for name in names:
        (in_tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (in_tmp / name).write_text(BAD)
    listed = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"],
                            cwd=in_tmp, check=True, capture_output=True, text=True).stdout
    kept = sorted(name for name in listed.split() if name.endswith(".py"))
    _, out, _ = run(["--no-cache", "--select", "CNN101", "."])
    linted = sorted({line.split(":")[0] for line in out.splitlines() if "CNN101" in line})
    assert linted == kept


@pytest.mark.parametrize("index_version", ["2", "4"])
def test_a_file_the_repository_tracks_is_never_ignored(in_tmp: Path, index_version: str) -> None:
    """`models/.gitignore` says `*`, but `models/net.py` was added with `git add -f`: git
    tracks it, and a tracked file is not ignored, so it is linted (and so is an untracked
    one beside it not). Both index formats git writes are read (4 compresses the paths)."""
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q"], cwd=in_tmp, check=True)
    (in_tmp / "models").mkdir()
    (in_tmp / "models" / ".gitignore").write_text("*\n!.gitignore\n")
    for name in ("models/net.py", "models/scratch.py", "train.py"):
        (in_tmp / name).write_text(BAD)
    subprocess.run(["git", "add", "-f", "models/net.py", "train.py"], cwd=in_tmp, check=True)
    subprocess.run(["git", "update-index", "--index-version", index_version], cwd=in_tmp,
                   check=True)
    _, out, _ = run(["--no-cache", "--select", "CNN101", "."])
    linted = sorted({line.split(":")[0] for line in out.splitlines() if "CNN101" in line})
    assert linted == ["models/net.py", "train.py"]


def test_respect_gitignore_in_the_config(in_tmp: Path) -> None:
    (in_tmp / ".gitignore").write_text("old.py\n")
    (in_tmp / "old.py").write_text(BAD)
    (in_tmp / "pyproject.toml").write_text("[tool.cnnlint]\nrespect-gitignore = false\n")
    _, out, _ = run(["--no-cache", "."])
    assert "old.py:6" in out
    (in_tmp / "pyproject.toml").write_text("[tool.cnnlint]\nrespect-gitignore = 'no'\n")
    code, _, err = run(["--no-cache", "."])
    assert code == 2 and "`respect-gitignore` must be true or false" in err


def test_fixes_leave_notebooks_and_stdin_alone(in_tmp: Path) -> None:
    """A notebook is read as its code cells joined; writing that text back would destroy
    it, so no fix is offered there. --fix and --diff edit files, not stdin."""
    notebook = in_tmp / "nb.ipynb"
    notebook.write_text(_notebook([("code", SETUP_CELL), ("code", MODEL_CELL)]))
    before = notebook.read_bytes()
    code, out, _ = run(["--no-cache", "--fix", "nb.ipynb"])
    assert code == 1 and "CNN101" in out and "[*]" not in out
    assert notebook.read_bytes() == before
    code, _, err = run(["--no-cache", "--fix", "-"], stdin=BAD.encode())
    assert code == 2 and "do not read stdin" in err


def test_a_folder_git_ignores_is_linted_when_named(in_tmp: Path) -> None:
    """`cnnlint .venv/lib/.../monai`: a folder named on purpose is walked whole, even when
    git ignores it (or a folder above it), as a file named explicitly is linted."""
    (in_tmp / ".git").mkdir()
    (in_tmp / ".gitignore").write_text(".venv/\n")
    package = in_tmp / ".venv" / "lib" / "pkg"
    package.mkdir(parents=True)
    (package / "net.py").write_text(BAD)
    _, out, _ = run(["--no-cache", "--select", "CNN101", ".venv/lib/pkg"])
    assert ".venv/lib/pkg/net.py:6" in out
    _, out, _ = run(["--no-cache", "--select", "CNN101", "."])
    assert "Found 0 findings" in out


def test_a_verbose_note_about_a_notebook_gives_its_place_by_cell(tmp_path: Path) -> None:
    """`--verbose` notes name places in a notebook the way findings do: `cell N:line`."""
    setup = ("import torch\nimport torch.nn as nn\n\n"
             "gen = nn.Linear(8, 4)\ncritic = nn.Linear(4, 1)\n"
             "opt_g = torch.optim.Adam(gen.parameters(), lr=2e-4)\n"
             "opt_c = torch.optim.Adam(critic.parameters(), lr=2e-4)\n")
    loop = ("for epoch in range(50):\n    for real in torch.load('r.pt'):\n"
            "        opt_c.zero_grad()\n"
            "        (critic(gen(torch.randn(8, 8))) - critic(real)).mean().backward()\n"
            "        opt_c.step()\n        opt_g.zero_grad()\n"
            "        (-critic(gen(torch.randn(8, 8)))).mean().backward()\n        opt_g.step()\n")
    (tmp_path / "gan.ipynb").write_text(_notebook(
        [("markdown", "# a GAN"), ("code", setup), ("code", "print(1)"), ("code", loop)]))
    _, out, _ = run([str(tmp_path / "gan.ipynb"), "--no-cache", "-v"])
    assert "gan.ipynb:cell 4:1: the training loop steps" in out, out


def test_a_notebook_and_a_module_of_the_same_stem_are_two_modules(tmp_path: Path) -> None:
    """`vae.ipynb` trains its own `VAE`; `vae.py` defines another that nothing trains: the
    notebook's optimizer is not blamed on the module's network."""
    deep = plain_net("VAE", 9)
    (tmp_path / "vae.py").write_text(deep)
    (tmp_path / "vae.ipynb").write_text(_notebook([
        ("code", deep.replace("range(9)", "range(2)")),
        ("code", "import torch\nnet = VAE()\nopt = torch.optim.Adam(net.parameters())\n"
                 "for x in torch.load('x.pt'):\n    opt.zero_grad()\n"
                 "    net(x).sum().backward()\n    opt.step()\n")]))
    (tmp_path / "pyproject.toml").write_text("[tool.cnnlint]\n")
    _, out, _ = run([str(tmp_path), "--select", "CNN107", "--no-cache"])
    assert "vae.py:3:7: CNN107 [info] 9 weighted layers and no dropout; weight decay " \
           "unknown (no training script followed to it)" in out, out


def test_a_notebook_syntax_error_names_lines_by_cell(in_tmp: Path) -> None:
    """Python's own message counts the joined lines ("detected at line 9"); in a notebook
    it names the line within its cell, as Jupyter shows it."""
    (in_tmp / "nb.ipynb").write_text(_notebook([
        ("code", "import torch\nx = 1\n"), ("code", "y = 2\nname = 'open\nz = 3\n")]))
    _, out, _ = run(["--no-cache", "nb.ipynb"])
    assert "nb.ipynb:cell 2:2:" in out and "(detected at line 2 of cell 2)" in out, out


def test_a_cell_ending_before_a_statement_s_body_holds_the_syntax_error(in_tmp: Path) -> None:
    """A cell that ends with an `if` and no body: Python, reading the cells joined, finds
    the error at the next cell's first line, but Jupyter runs each cell alone, so the error
    is the `if` statement's, in its own cell."""
    (in_tmp / "nb.ipynb").write_text(_notebook([
        ("code", "rows = [1, 2, 3]\n"), ("code", "for r in rows:\n    if r > 1:\n        "),
        ("code", "total = sum(rows)\nprint(total)\n")]))
    _, out, _ = run(["--no-cache", "nb.ipynb"])
    assert out.startswith("nb.ipynb:cell 2:2:1: CNN900 [error] syntax error: expected an "
                          "indented block after 'if' statement on line 2 of cell 2"), out
