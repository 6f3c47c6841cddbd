"""`--fix`, `--unsafe-fixes` and `--diff`: what is written, what is printed, exit codes, and
the cases where no fix is offered or a file is left alone."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from cnnlint import autofix
from cnnlint.fix import Edit, Fix, SourceFile
from cnnlint.rule import RegistryError, Rule, remove_rule
from helpers import BAD, run

TRAIN = """\
import torch
from model import Net

model = Net()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x in batches:
    opt.zero_grad()
    model(x).sum().backward()
    opt.step()
"""
SELECT = ["--select", "CNN101,CNN206"]
CONV = "        self.conv = nn.Conv2d(3, 8, 3)\n"
CONV_FIXED = "        self.conv = nn.Conv2d(3, 8, 3, bias=False)\n"
SGD_FIXED = "opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"


@pytest.fixture
def project(in_tmp: Path) -> Path:
    """A model with a safe fix (CNN101) and a script with an unsafe one (CNN206)."""
    (in_tmp / ".git").mkdir()
    (in_tmp / "model.py").write_text(BAD)
    (in_tmp / "train.py").write_text(TRAIN)
    return in_tmp


def _read(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.glob("*.py"))}


def test_plain_run_marks_what_fix_would_fix(project: Path) -> None:
    code, out, _ = run([*SELECT, "."])
    assert code == 1
    assert "model.py:6:21: CNN101 [warning] [*] `Conv2d`" in out
    assert "train.py:5:7: CNN206 [warning] `SGD` has no momentum" in out  # unsafe: no mark
    assert out.endswith("in 2 files.\n[*] 1 fixable with `--fix` (1 hidden fix can be "
                        "enabled with `--unsafe-fixes`).\n")
    code, out, _ = run([*SELECT, "--unsafe-fixes", "."])
    assert "train.py:5:7: CNN206 [warning] [*] `SGD`" in out
    assert out.endswith("[*] 2 fixable with `--fix`.\n")


def test_marks_survive_the_run_cache(project: Path) -> None:
    # A JSON run caches no fixes (it shows none); the text run after it finds them anyway.
    assert run([*SELECT, "--format", "json", "."])[0] == 1
    first = run([*SELECT, "."])
    assert "[*] 1 fixable" in first[1]
    assert (project / ".cnnlint_cache").is_dir()
    assert run([*SELECT, "."]) == first
    assert run([*SELECT, "--fix", "."])[0] == 1  # the cache keeps no fix: it lints afresh
    assert CONV_FIXED in (project / "model.py").read_text()


def test_fix_applies_safe_fixes_and_reports_what_remains(project: Path) -> None:
    code, out, err = run([*SELECT, "--fix", "."])
    assert code == 1  # the CNN206 warning remains
    assert CONV_FIXED in (project / "model.py").read_text()
    assert (project / "train.py").read_text() == TRAIN  # unsafe: not without --unsafe-fixes
    assert "CNN101" not in out
    assert "train.py:5:7: CNN206 [warning] `SGD` has no momentum" in out
    assert out.endswith("Found 2 findings (1 fixed, 1 remaining).\n"
                        "No fixes available (1 hidden fix can be enabled with "
                        "`--unsafe-fixes`).\n")
    assert err == ""


def test_unsafe_fixes_are_applied_with_the_flag(project: Path) -> None:
    code, out, _ = run([*SELECT, "--fix", "--unsafe-fixes", "."])
    assert code == 0
    assert CONV_FIXED in (project / "model.py").read_text()
    assert (project / "train.py").read_text() == TRAIN.replace(
        "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n", SGD_FIXED)
    assert out == "Found 2 findings (2 fixed, 0 remaining).\n"  # one summary line
    # A second run has nothing left to do.
    code, out, _ = run([*SELECT, "--fix", "--unsafe-fixes", "."])
    assert code == 0 and out.endswith("Found 0 findings (0 fixed, 0 remaining).\n")


def test_fix_with_findings_below_fail_on_exits_zero(project: Path) -> None:
    code, _, _ = run([*SELECT, "--fix", "--fail-on", "error", "."])
    assert code == 0


def test_diff_prints_the_change_and_writes_nothing(project: Path) -> None:
    before = _read(project)
    code, out, err = run([*SELECT, "--diff", "."])
    assert code == 1
    assert _read(project) == before
    assert out.startswith("--- model.py\n+++ model.py\n@@ ")
    assert "-" + CONV + "+" + CONV_FIXED in out
    assert "train.py" not in out  # its fix is unsafe
    assert err == "Would fix 1 finding (1 hidden fix can be enabled with `--unsafe-fixes`).\n"
    code, out, err = run([*SELECT, "--diff", "--unsafe-fixes", "."])
    assert code == 1 and "+" + SGD_FIXED in out and err == "Would fix 2 findings.\n"
    assert _read(project) == before
    assert run([*SELECT, "--diff", "--exit-zero", "."])[0] == 0


def test_diff_with_nothing_to_fix_exits_zero(project: Path) -> None:
    code, out, err = run(["--select", "CNN206", "--diff", "model.py"])
    assert (code, out, err) == (0, "", "No fixes available.\n")


def test_diff_reports_errors_and_exits_two(project: Path) -> None:
    (project / "bad_bytes.py").write_bytes(b"x = '\xff'\n")
    code, out, err = run(["--select", "CNN101", "--diff", "model.py", "bad_bytes.py"])
    assert code == 2 and out.startswith("--- model.py")
    assert "bad_bytes.py: error (read): cannot decode the file" in err


def test_diff_wins_over_fix(project: Path) -> None:
    before = _read(project)
    code, out, _ = run([*SELECT, "--fix", "--diff", "."])
    assert code == 1 and out.startswith("--- model.py")
    assert _read(project) == before


def test_noqa_findings_are_not_fixed(project: Path) -> None:
    noqa = BAD.replace(CONV, CONV.rstrip("\n") + "  # noqa: CNN101\n")
    (project / "model.py").write_text(noqa)
    code, out, _ = run(["--select", "CNN101", "--fix", "model.py"])
    assert code == 0
    assert (project / "model.py").read_text() == noqa
    assert out.endswith("Found 0 findings (0 fixed, 0 remaining).\n")


def test_baselined_findings_are_not_fixed(project: Path) -> None:
    assert run([*SELECT, "--write-baseline", "base.json", "model.py"])[0] == 0
    code, _, _ = run([*SELECT, "--baseline", "base.json", "--fix", "model.py"])
    assert code == 0
    assert (project / "model.py").read_text() == BAD


def test_fix_cannot_write_a_baseline(project: Path) -> None:
    code, _, err = run(["--fix", "--write-baseline", "base.json", "."])
    assert code == 2 and "cannot be combined with --write-baseline" in err


def test_a_file_with_a_syntax_error_is_left_alone(project: Path) -> None:
    broken = "import torch\ndef broken(:\n    pass\n"
    (project / "broken.py").write_text(broken)
    code, out, _ = run(["--select", "CNN101,CNN900", "--fix", "."])
    assert code == 1
    assert (project / "broken.py").read_text() == broken
    assert "broken.py:2:" in out and "CNN900" in out
    assert CONV_FIXED in (project / "model.py").read_text()
    assert out.endswith("Found 2 findings (1 fixed, 1 remaining).\n")


def test_json_output_stays_clean_and_the_summary_goes_to_stderr(project: Path) -> None:
    code, out, err = run([*SELECT, "--fix", "--format", "json", "."])
    assert code == 1
    assert [f["code"] for f in json.loads(out)["findings"]] == ["CNN206"]
    assert err.startswith("Found 2 findings (1 fixed, 1 remaining).\n")


def test_fix_in_another_file_than_the_finding(in_tmp: Path) -> None:
    """CNN210 in train.py, fixed where the softmax is: in model.py."""
    (in_tmp / ".git").mkdir()
    (in_tmp / "model.py").write_text(textwrap.dedent("""\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=1))

            def forward(self, x):
                return self.head(x)
    """))
    (in_tmp / "train.py").write_text(textwrap.dedent("""\
        import torch
        import torch.nn as nn
        from model import Net

        model = Net()
        criterion = nn.CrossEntropyLoss()
        opt = torch.optim.Adam(model.parameters())
        for x, y in loader:
            opt.zero_grad()
            criterion(model(x), y).backward()
            opt.step()
    """))
    code, out, _ = run(["--select", "CNN210", "--fix", "--unsafe-fixes", "train.py"])
    assert code == 0, out
    assert "self.head = nn.Sequential(nn.Linear(8, 3))\n" in (in_tmp / "model.py").read_text()


def test_fixes_that_edit_the_same_code_take_two_passes(in_tmp: Path) -> None:
    """CNN102 swaps the dropout and the BatchNorm, CNN210 drops the softmax after them: both
    edit the BatchNorm's element, so --diff shows one and --fix applies both."""
    source = textwrap.dedent("""\
        import torch
        import torch.nn as nn

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.Sequential(
                    nn.Linear(8, 8),
                    nn.Dropout(0.5),
                    nn.BatchNorm1d(8),
                    nn.Softmax(dim=1),
                )

            def forward(self, x):
                return self.layers(x)

        model = Head()
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters())
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
    """)
    (in_tmp / "model.py").write_text(source)
    args = ["--select", "CNN102,CNN210", "--unsafe-fixes", "model.py"]
    code, out, err = run(["--diff", *args])
    changed = [line for line in out.splitlines()[2:] if line[:1] in "+-"]
    assert code == 1 and changed == ["+            nn.BatchNorm1d(8),",
                                     "-            nn.BatchNorm1d(8),"]
    assert err == ("Would fix 1 finding.\n1 more fix edits code that another fix edits too: "
                   "`--fix` applies it in a later pass.\n")
    code, out, _ = run(["--fix", *args])
    assert code == 0 and out.endswith("Found 2 findings (2 fixed, 0 remaining).\n")
    assert (in_tmp / "model.py").read_text() == source.replace(
        "            nn.Dropout(0.5),\n            nn.BatchNorm1d(8),\n"
        "            nn.Softmax(dim=1),\n",
        "            nn.BatchNorm1d(8),\n            nn.Dropout(0.5),\n")


def test_a_file_changed_during_the_run_is_not_written(project: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real_apply = autofix.apply

    def apply_then_edit(*args: Any) -> autofix.Applied:
        applied = real_apply(*args)
        (project / "model.py").write_text(BAD + "# edited meanwhile\n")
        return applied

    monkeypatch.setattr(autofix, "apply", apply_then_edit)
    code, out, err = run(["--select", "CNN101", "--fix", "model.py"])
    assert err == ("cnnlint: warning: model.py: not fixed: the file changed since cnnlint "
                   "read it\n")
    assert (project / "model.py").read_text() == BAD + "# edited meanwhile\n"
    assert code == 1 and "Found 1 finding (0 fixed, 1 remaining)." in out


def test_a_file_changed_before_the_fix_is_offered_gets_none(lint_tree, tmp_path: Path) -> None:
    result = lint_tree({"model.py": BAD}, select=["CNN101"], fixes=True)
    (finding,) = result.findings
    assert SourceFile.read("model.py", result.facts["model.py"].lines) is not None
    (tmp_path / "model.py").write_text("\n" + BAD)
    assert SourceFile.read("model.py", result.facts["model.py"].lines) is None
    assert SourceFile.read("missing.py", None) is None


def test_a_fix_that_breaks_the_code_is_not_applied(lint_tree, tmp_path: Path) -> None:
    result = lint_tree({"model.py": BAD}, select=["CNN101"], fixes=True)
    (finding,) = result.findings
    (edit,) = result.fixes[finding].edits
    broken = Fix(edits=(Edit(edit.path, edit.old, cst.Name("lambda")),))
    applied = autofix.apply(result.fix_context, [(finding, broken)])
    assert applied.changes == []
    assert applied.warnings and "did not produce valid code" in applied.warnings[0]
    assert (tmp_path / "model.py").read_text() == BAD


def test_encoding_bom_and_line_endings_are_kept(in_tmp: Path) -> None:
    crlf = ("# -*- coding: latin-1 -*-\n# caf\u00e9\n" + BAD).replace("\n", "\r\n")
    (in_tmp / "latin.py").write_bytes(crlf.encode("latin-1"))
    (in_tmp / "bom.py").write_bytes(b"\xef\xbb\xbf" + BAD.encode("utf-8"))
    code, _, _ = run(["--select", "CNN101", "--fix", "latin.py", "bom.py"])
    assert code == 0
    fixed = crlf.replace(CONV.rstrip("\n"), CONV_FIXED.rstrip("\n"))
    assert (in_tmp / "latin.py").read_bytes() == fixed.encode("latin-1")
    assert (in_tmp / "bom.py").read_bytes() == b"\xef\xbb\xbf" + BAD.replace(
        CONV, CONV_FIXED).encode("utf-8")


def test_a_call_in_parentheses_and_after_non_ascii_text_is_fixed(in_tmp: Path) -> None:
    # Findings are located by Python's parser, fixes by libcst's tree: both must name the
    # same range, parentheses and character columns included.
    line = '        self.n\u00e4me = "\u00e9"; self.conv = (nn.Conv2d(3, 8, 3))\n'
    source = BAD.replace(CONV, line)
    (in_tmp / "model.py").write_text(source, encoding="utf-8")
    assert run(["--select", "CNN101", "--fix", "model.py"])[0] == 0
    assert (in_tmp / "model.py").read_text(encoding="utf-8") == source.replace(
        "(nn.Conv2d(3, 8, 3))", "(nn.Conv2d(3, 8, 3, bias=False))")


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs symlinks")
def test_a_symlink_keeps_pointing_at_the_fixed_file(in_tmp: Path) -> None:
    (in_tmp / "real.py").write_text(BAD)
    (in_tmp / "link.py").symlink_to("real.py")
    assert run(["--select", "CNN101", "--fix", "link.py"])[0] == 0
    assert (in_tmp / "link.py").is_symlink()
    assert CONV_FIXED in (in_tmp / "real.py").read_text()


def test_write_refuses_a_file_it_cannot_replace(lint_tree, tmp_path: Path) -> None:
    result = lint_tree({"model.py": BAD}, select=["CNN101"], fixes=True)
    (change,) = autofix.apply(result.fix_context, list(result.fixes.items())).changes
    (tmp_path / "model.py").unlink()
    assert "not fixed" in (autofix.write(change) or "")


# --- when no fix is offered -----------------------------------------------------------------

NET = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = {conv}
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x))
"""
LOOP = """
import torch
import torch.nn as nn
import torch.nn.functional as F
{setup}
opt = torch.optim.{optimizer}
for x, y in loader:
    opt.zero_grad()
    {loss}.backward()
    opt.step()
"""
NO_FIX = {
    # A helper that builds one conv before BatchNorm and one before ReLU.
    "CNN101-shared-helper": ("CNN101", """
import torch.nn as nn
import torch.nn.functional as F

def conv3x3(i, o):
    return nn.Conv2d(i, o, 3, padding=1)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv3x3(3, 8)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = conv3x3(8, 8)

    def forward(self, x):
        return F.relu(self.c2(F.relu(self.bn(self.c1(x)))))
"""),
    # Only ever before BatchNorm here, but other files may import the helper.
    "CNN101-module-level-helper": ("CNN101", """
import torch.nn as nn

def conv3x3(i, o):
    return nn.Conv2d(i, o, 3, padding=1)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = conv3x3(3, 8)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.c1(x))
"""),
    # A wrapper class's one conv call builds the stem's conv (before BatchNorm) and each
    # block's (into a gate and a residual sum); the blocks are applied by an index the
    # reader does not know, so the model is read in part: the fix would reach them too.
    "CNN101-model-read-in-part": ("CNN101", """
import torch.nn as nn

class Conv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, 3, padding=1)

    def forward(self, x):
        return self.conv(x)

class Gated(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = Conv(c, c)

    def forward(self, x):
        out = self.conv(x)
        return x + out * out.mean(-1, keepdim=True).sigmoid()

class Net(nn.Module):
    def __init__(self, depth):
        super().__init__()
        self.depth = depth
        self.stem = Conv(1, 16)
        self.bn = nn.BatchNorm1d(16)
        self.blocks = nn.ModuleList([Gated(16) for _ in range(depth)])

    def forward(self, x):
        x = self.bn(self.stem(x)).relu()
        for i in range(self.depth):
            x = self.blocks[i](x)
        return x
"""),
    "CNN101-bias-variable": ("CNN101", NET.format(conv="nn.Conv2d(3, 8, 3, bias=USE_BIAS)")
                             .replace("import torch.nn as nn", "import torch.nn as nn\n"
                                                               "USE_BIAS = True")),
    "CNN101-bias-positional": ("CNN101", NET.format(conv="nn.Conv2d(3, 8, 3, 1, 0, 1, 1, True)")),
    "CNN101-alias": ("CNN101", NET.format(conv="Conv(3, 8, 3)").replace(
        "import torch.nn as nn", "import torch.nn as nn\nfrom torch.nn import Conv2d as Conv")),
    # The model's init loop writes every conv's bias: with `bias=False` it would fail.
    "CNN101-bias-initialised": ("CNN101", NET.format(conv="nn.Conv2d(3, 8, 3)").replace(
        "        self.bn = nn.BatchNorm2d(8)\n",
        "        self.bn = nn.BatchNorm2d(8)\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Conv2d):\n"
        "                m.bias.data.fill_(0.01)\n")),
    # The norm is optional (its kind an argument, under `if`): built without one, the same
    # conv's bias matters.
    "CNN101-optional-norm": ("CNN101", """
import torch.nn as nn

class Gate(nn.Module):
    def __init__(self, c, norm_layer=None):
        super().__init__()
        self.fc = nn.Conv2d(c, c, 1)
        self.use_norm = norm_layer is not None
        if self.use_norm:
            self.norm = norm_layer(c)

    def forward(self, x):
        y = self.fc(x)
        if self.use_norm:
            y = self.norm(y)
        return x * y.sigmoid()

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate = Gate(8, norm_layer=nn.BatchNorm2d)

    def forward(self, x):
        return self.gate(x)
"""),
    "CNN101-norm-in-a-conditional-expression": ("CNN101", NET.format(
        conv="nn.Conv2d(3, 8, 3)").replace("self.bn = nn.BatchNorm2d(8)",
                                           "self.bn = nn.BatchNorm2d(8) if BN else nn.Identity()")
        .replace("import torch.nn as nn", "import torch.nn as nn\nBN = True")),
    "CNN206-momentum-from-a-constant": ("CNN206", LOOP.format(
        setup="M = 0.0\nmodel = nn.Linear(2, 2)\ncriterion = nn.MSELoss()",
        optimizer="SGD(model.parameters(), 0.1, M)", loss="model(x).sum()")),
    "CNN206-momentum-from-a-config": ("CNN206", LOOP.format(
        setup="cfg = {'m': 0}\nmodel = nn.Linear(2, 2)",
        optimizer="SGD(model.parameters(), lr=0.1, momentum=cfg['m'])", loss="model(x).sum()")),
    "CNN102-attribute": ("CNN102", """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x):
        return self.bn(self.drop(x))
"""),
    "CNN210-log-softmax": ("CNN210", LOOP.format(
        setup="model = nn.Linear(8, 3)\ncriterion = nn.CrossEntropyLoss()",
        optimizer="Adam(model.parameters())",
        loss="criterion(F.log_softmax(model(x), dim=1), y)")),
    "CNN210-softmax-output-used-twice": ("CNN210", LOOP.format(
        setup="model = nn.Linear(8, 3)\ncriterion = nn.CrossEntropyLoss()",
        optimizer="Adam(model.parameters())",
        loss="(criterion(probs := F.softmax(model(x), dim=1), y) + probs.max())")),
    "CNN210-assigned-then-passed": ("CNN210", LOOP.format(
        setup="model = nn.Linear(8, 3)\ncriterion = nn.CrossEntropyLoss()",
        optimizer="Adam(model.parameters())",
        loss="criterion(probs, y)").replace(
        "    opt.zero_grad()", "    opt.zero_grad()\n    probs = F.softmax(model(x), dim=1)")),
}


@pytest.mark.parametrize("code, source", list(NO_FIX.values()), ids=list(NO_FIX))
def test_no_fix_when_the_code_is_not_the_plain_shape(lint_tree, code: str, source: str) -> None:
    result = lint_tree({"model.py": source}, select=[code], fixes=True)
    assert result.errors == []
    flagged = [f for f in result.findings if f.code == code]
    assert flagged, "the case must still be flagged"
    assert not any(f in result.fixable for f in flagged)


@pytest.mark.parametrize("write, offered", [
    ("m.bias.data.zero_()", False),
    ("nn.init.constant_(m.bias, 0.0)", False),
    ("if m.bias is not None:\n            m.bias.data.zero_()", True),
    ("pass\n    elif isinstance(m, nn.BatchNorm2d):\n        m.bias.data.zero_()", True),
    # Copying weights in by hand reads or sets each conv's bias tensor: `None` after the fix.
    ("m.bias.data = torch.zeros(8)", False),
    ("assert m.bias.size() == (8,)", False),
    ("print(m.bias.shape)", False),
    ("if m.bias is not None:\n            m.bias.data = torch.zeros(8)", True),
])
def test_no_bias_fix_when_a_script_writes_every_conv_s_bias(lint_tree, write: str,
                                                             offered: bool) -> None:
    """`net.apply(init)` in a training script whose init zeroes each conv's bias would fail
    on a conv built with `bias=False`: the fix is offered only when the write checks first."""
    script = f"""
import torch
import torch.nn as nn
from model import Net

def init(m):
    if isinstance(m, nn.Conv2d):
        {write}

net = Net()
net.apply(init)
"""
    result = lint_tree({"model.py": NET.format(conv="nn.Conv2d(3, 8, 3)"), "train.py": script},
                       select=["CNN101"], fixes=True)
    (finding,) = result.findings
    assert (finding in result.fixable) is offered


@pytest.mark.parametrize("load, offered", [
    ('net.load_state_dict(torch.load("weights.pt"))', False),
    ('net.load_state_dict(torch.load("weights.pt"), strict=False)', True),
])
def test_no_bias_fix_when_code_loads_saved_weights_strictly(lint_tree, load: str,
                                                            offered: bool) -> None:
    """A script that loads a saved state dict into the model would fail on a checkpoint
    saved with the conv's bias once the fix removes it."""
    script = f"import torch\nfrom model import Net\n\nnet = Net()\n{load}\nnet.eval()\n"
    result = lint_tree({"model.py": NET.format(conv="nn.Conv2d(3, 8, 3)"), "predict.py": script},
                       select=["CNN101"], fixes=True)
    (finding,) = result.findings
    assert (finding in result.fixable) is offered


def test_a_fix_that_raises_is_not_offered(lint_tree, monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnlint.rule import load_rules

    def broken(self: Rule, finding: object, context: object) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(load_rules()["CNN101"], "autofix", broken)
    result = lint_tree({"model.py": BAD}, select=["CNN101"], fixes=True)
    assert [f.code for f in result.findings] == ["CNN101"] and result.fixable == {}
    assert any("fix not offered: ValueError: boom" in note for note in result.context_notes)


def test_a_rule_must_document_its_fix() -> None:
    with pytest.raises(RegistryError, match="no `fixed` example"):
        class Undocumented(Rule):
            code, name, summary, fix = "CNN198", "undocumented-fix", "x", "y"
            fix_safety = "safe"
    with pytest.raises(RegistryError, match="unknown fix safety"):
        class Unknown(Rule):
            code, name, summary, fix = "CNN199", "unknown-fix", "x", "y"
            fix_safety = "maybe"
    remove_rule("CNN198")
    remove_rule("CNN199")


def test_explain_shows_the_fix() -> None:
    code, out, _ = run(["explain", "CNN206"])
    assert code == 0
    assert "## Fix\nAn unsafe fix, applied only by `--fix --unsafe-fixes`." in out
    assert "+opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # flagged" in out
    assert "## Fix" not in run(["explain", "CNN103"])[1]


FORWARD = """
import torch
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
{forward}

    def predict(self, x):
        return self.softmax(self.fc(x))

model = Net()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters())
for x, y in loader:
    opt.zero_grad()
    criterion({out}, y).backward()
    opt.step()
"""
MORE = {
    "method-in-forward": (FORWARD.format(forward="        return self.fc(x).softmax(dim=1)",
                                         out="model(x)"),
                          "        return self.fc(x)\n"),
    "input-keyword-in-the-loss-call": (
        FORWARD.format(forward="        return self.fc(x)",
                       out="F.softmax(input=model(x), dim=1)"),
        "    criterion(model(x), y).backward()\n"),
    "multi-line-input-gets-parentheses": (
        FORWARD.format(forward="        return F.softmax(self.fc(x)\n"
                               "                         + 1, dim=1)", out="model(x)"),
        "        return (self.fc(x)\n                         + 1)\n"),
}


@pytest.mark.parametrize("source, fixed_line", list(MORE.values()), ids=list(MORE))
def test_more_softmax_shapes_are_fixed(lint_tree, tmp_path: Path, source: str,
                                       fixed_line: str) -> None:
    result = lint_tree({"model.py": source}, select=["CNN210"], fixes=True)
    (finding,) = result.findings
    (change,) = autofix.apply(result.fix_context, [(finding, result.fixes[finding])]).changes
    assert autofix.write(change) is None
    fixed = (tmp_path / "model.py").read_text()
    assert fixed_line in fixed
    assert lint_tree({"model.py": fixed}, select=["CNN210"]).findings == []


NO_SOFTMAX_FIX = {
    # `self.softmax` is also used by predict(): the layer is called twice in the class.
    "attribute-called-twice": FORWARD.format(forward="        return self.softmax(self.fc(x))",
                                             out="model(x)"),
    # The softmax is assigned first: its output has a name others may use.
    "assigned-in-forward": FORWARD.format(
        forward="        x = F.softmax(self.fc(x), dim=1)\n        return x", out="model(x)"),
}


@pytest.mark.parametrize("source", list(NO_SOFTMAX_FIX.values()), ids=list(NO_SOFTMAX_FIX))
def test_no_softmax_fix_when_its_output_may_have_other_uses(lint_tree, source: str) -> None:
    result = lint_tree({"model.py": source}, select=["CNN210"], fixes=True)
    assert [f.code for f in result.findings] == ["CNN210"]
    assert result.fixable == {}


BRANCHED = """
import torch.nn as nn

def make_layers(cfg, c=3):
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), NORM, nn.ReLU()]
            c = v
    return nn.Sequential(*layers)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = make_layers([8, "M", 16])

    def forward(self, x):
        return self.features(x)
"""


def test_a_conv_and_its_norm_built_in_one_branch_are_fixed(lint_tree, tmp_path: Path) -> None:
    """The `if` around both builds them together: the bias is redundant every time. A norm
    under a condition of its own (`... if bn else ...`) keeps the fix away."""
    result = lint_tree({"model.py": BRANCHED.replace("NORM", "nn.BatchNorm2d(v)")},
                       select=["CNN101"], fixes=True)
    (finding,) = result.findings
    (change,) = autofix.apply(result.fix_context, [(finding, result.fixes[finding])]).changes
    assert autofix.write(change) is None
    assert "nn.Conv2d(c, v, 3, padding=1, bias=False)" in (tmp_path / "model.py").read_text()
    guarded = BRANCHED.replace("NORM", "nn.BatchNorm2d(v) if BN else nn.Identity()") \
        .replace("import torch.nn as nn", "import torch.nn as nn\nBN = True")
    result = lint_tree({"model.py": guarded}, select=["CNN101"], fixes=True)
    (finding,) = result.findings
    assert finding not in result.fixes
