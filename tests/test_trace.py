"""Graph mode (`--trace`): real torch.fx graphs (or a recorded forward pass) through the same
rules, merged with the static findings."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from cnnlint import graph
from cnnlint.trace import runner
from cnnlint.targets import TargetError, parse_target

from helpers import run

torch = pytest.importorskip("torch")

TRACE = Path(__file__).parent / "fixtures" / "trace"


@pytest.fixture
def project(in_tmp: Path) -> Path:
    shutil.copytree(TRACE, in_tmp, dirs_exist_ok=True)
    return in_tmp


def _lint(*args: str) -> tuple[int, dict, str]:
    code, out, err = run(["--no-cache", "--format", "json", *args])
    return code, json.loads(out), err


def _codes(document: dict, path: str) -> list[tuple[str, int]]:
    return sorted((f["code"], f["line"]) for f in document["findings"] if f["path"] == path)


def test_trace_sees_depth_decoded_at_run_time(project: Path) -> None:
    code, static, _ = _lint("dynamic.py")
    assert code == 0 and static["findings"] == []  # the static reader cannot see the depth
    code, traced, err = _lint("--trace", "dynamic.py")
    assert code == 1, err
    plain = [f for f in traced["findings"] if f["symbol"] == "DynamicPlain"]
    residual = [f for f in traced["findings"] if f["symbol"] == "DynamicResidual"]
    deep = [f for f in plain if f["name"] == "deep-plain-stack"]
    assert len(deep) == 1 and deep[0]["line"] == 13  # the class definition
    assert "13 weighted layers" in deep[0]["message"] and "`body.0` (Conv2d)" in deep[0]["message"]
    assert deep[0]["message"].endswith("[torch.fx trace]")
    assert residual and not any(f["name"] == "deep-plain-stack" for f in residual)


def test_text_output_says_how_each_model_was_traced(project: Path) -> None:
    code, out, err = run(["--no-cache", "--trace", "dynamic.py", "datadep.py"])
    assert code == 1, err
    assert "note: dynamic.py:13: traced DynamicPlain with torch.fx, 13 weighted layers" in out
    assert "note: datadep.py:7: traced Gated with forward hooks, 13 weighted layers " \
           "(symbolic tracing failed: TraceError" in out
    assert "NeedsArgs" not in out  # a class that needs arguments is skipped quietly...
    code, out, _ = run(["--no-cache", "--trace", "-v", "datadep.py"])
    assert "not traced NeedsArgs: it needs width; name it with --model " \
           "datadep.py:NeedsArgs(width=...)" in out  # ...and named with --verbose


def test_machine_readable_output_carries_the_trace_notes(project: Path) -> None:
    code, document, err = _lint("--trace", "datadep.py")
    assert code == 1, err
    (note,) = document["notes"]
    assert note.startswith("datadep.py:7: traced Gated with forward hooks, 13 weighted layers")
    code, out, _ = run(["--no-cache", "--trace", "--format", "sarif", "datadep.py"])
    notifications = json.loads(out)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notifications if n["level"] == "note"] == [note]
    _, static, _ = _lint("datadep.py")
    assert static["notes"] == []


def test_symbolic_trace_failure_falls_back_to_a_forward_pass(project: Path) -> None:
    code, document, err = _lint("--trace", "datadep.py")
    assert code == 1 and document["errors"] == [], err
    names = {f["name"] for f in document["findings"] if f["symbol"] == "Gated"}
    assert {"deep-plain-stack", "saturating-activation-deep-stack"} <= names
    assert all(f["message"].endswith("[forward hooks trace]") for f in document["findings"])


def test_forward_pass_uses_the_configured_input_shape(project: Path) -> None:
    (project / "flat.py").write_text(
        "import torch.nn as nn\n\n"
        "class Flat(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.LazyLinear(4)\n\n"
        "    def forward(self, x):\n"
        "        if x.sum() > 1e9:\n"
        "            return x\n"
        "        return self.fc(x)\n")
    code, document, _ = _lint("--trace", "flat.py")  # no first layer to infer a shape from
    assert code == 2
    assert document["errors"][0]["kind"] == "trace"
    assert "no input shape" in document["errors"][0]["message"]
    code, document, err = _lint("--trace", "--input-shape", "7", "flat.py")
    assert code == 0 and document["errors"] == [], err


def test_trace_replaces_the_static_reading_of_the_same_model(project: Path) -> None:
    (project / "shallow.py").write_text(
        "import torch.nn as nn\n\n"
        "class Shallow(nn.Module):\n"
        "    def __init__(self, depth=12):\n"
        "        super().__init__()\n"
        "        convs = [nn.Conv2d(3, 3, 3, padding=1) for _ in range(depth)]\n"
        "        self.body = nn.Sequential(*convs)\n\n"
        "    def forward(self, x):\n"
        "        return self.body(x)\n\n"
        "Shallow.__init__.__defaults__ = (3,)  # what actually runs\n")
    _, static, _ = _lint("shallow.py")
    assert ("CNN103", 3) in _codes(static, "shallow.py")
    code, traced, _ = _lint("--trace", "shallow.py")
    assert code == 0 and _codes(traced, "shallow.py") == []


def test_static_and_trace_findings_are_not_duplicated(in_tmp: Path) -> None:
    root = Path(__file__).parents[1] / "examples"
    shutil.copytree(root, in_tmp, dirs_exist_ok=True)
    _, static, _ = _lint(".")
    _, traced, _ = _lint("--trace", ".")
    key = lambda f: (f["code"], f["path"], f["line"], f["column"])  # noqa: E731
    assert sorted(map(key, traced["findings"])) == sorted(map(key, static["findings"]))
    assert len(set(map(key, traced["findings"]))) == len(traced["findings"])
    model_findings = [f for f in traced["findings"] if f["path"] == "model.py"]
    assert model_findings and all("[torch.fx trace]" in f["message"] for f in model_findings)


def test_a_traced_finding_keeps_the_fix_of_the_source_it_was_read_from(in_tmp: Path) -> None:
    """`--trace` replaces a model's static reading with its traced graph; the fix edits the
    source, found as without `--trace`: `--diff` shows the same change either way (it
    said "No fixes available")."""
    root = Path(__file__).parents[1] / "examples"
    shutil.copytree(root, in_tmp, dirs_exist_ok=True)
    code, static, _ = run(["--no-cache", "--diff", "."])
    assert code == 1 and "bias=False" in static, static
    code, traced, _ = run(["--no-cache", "--trace", "--diff", "."])
    assert (code, traced) == (1, static)


def test_import_side_effects_are_contained(project: Path) -> None:
    before = sorted(str(p) for p in project.rglob("*"))
    path_before, argv_before = list(sys.path), list(sys.argv)
    code, document, err = _lint("--trace", ".")
    assert code == 2
    errors = {e["path"]: e for e in document["errors"]}
    assert errors["exits.py"]["kind"] == "trace"
    assert "called sys.exit(3)" in errors["exits.py"]["message"]
    assert "RuntimeError: no GPU configured" in errors["raises.py"]["message"]
    assert "this module prints on import" in err  # the user's print went to stderr...
    assert {f["symbol"] for f in document["findings"]} >= {"DynamicPlain", "Gated"}
    # ...the package with relative imports was traced, factory included
    assert any(f["path"] == os.path.join("pkg", "blocks.py") for f in document["findings"])
    assert sys.path == path_before and sys.argv == argv_before
    assert not any(name in sys.modules for name in ("dynamic", "datadep", "pkg", "pkg.net"))
    assert sorted(str(p) for p in project.rglob("*")) == before  # no bytecode, no files


def test_trace_flag_needs_torch(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cnnlint.trace

    monkeypatch.setattr(cnnlint.trace, "torch_available", lambda: False)
    code, out, err = run(["--trace", "dynamic.py"])
    assert code == 2 and out == ""
    assert err.strip() == ("cnnlint: error: --trace: this needs torch, which is not installed: "
                           "install it as pytorch.org says for your machine (CPU only: pip "
                           "install torch --index-url https://download.pytorch.org/whl/cpu)")


def test_help_says_trace_executes_code() -> None:
    code, out, _ = run(["check", "--help"])
    assert code == 0 and "This EXECUTES your code" in " ".join(out.split())


def test_trace_from_config_with_model_targets(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.cnnlint]\ntrace = true\n\n"
        "[tool.cnnlint.models.wide]\n"
        'target = "datadep.py:NeedsArgs"\nargs = { width = 5 }\ninput-shape = [5]\n')
    code, out, err = run(["--no-cache", "datadep.py"])
    assert "traced Gated with forward hooks" in out, err
    assert "traced wide (datadep.py:NeedsArgs) with torch.fx, 1 weighted layers" in out
    code, out, _ = run(["--no-cache", "--no-trace", "datadep.py"])
    assert "traced" not in out


@pytest.mark.parametrize(("entry", "message"), [
    ('target = 3', "needs `target"),
    ('target = "x.py:Net"\nshape = [3]', "unknown key `shape`"),
    ('target = "x.py:Net"\ninput-shape = [0, 4]', "`input-shape` must be a list"),
    ('target = "no colon"', "is not FILE.py:Name"),
])
def test_bad_model_config_is_one_line(in_tmp: Path, entry: str, message: str) -> None:
    (in_tmp / "pyproject.toml").write_text(f"[tool.cnnlint.models.m]\n{entry}\n")
    (in_tmp / "a.py").write_text("x = 1\n")
    code, out, err = run(["a.py"])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err


@pytest.mark.parametrize(("text", "message"), [
    ("Net", "is not FILE.py:Name"),
    ("model.py:Net(3 +)", "arguments must be Python literals"),
    ("model.py:Net(depth=len([]))", "arguments must be Python literals"),
    ("1pkg.mod:Net", "is not a module name"),
])
def test_bad_model_option(text: str, message: str) -> None:
    with pytest.raises(TargetError, match=message.replace("(", r"\(")):
        parse_target(text)
    code, out, err = run(["--model", text, "."])
    assert code == 2 and message in err


def test_model_option_arguments() -> None:
    target = parse_target('pkg.nets:EfficientNet.from_name("b0", depth=(2, 3))')
    assert (target.module, target.name, target.args, target.kwargs) == (
        "pkg.nets", "EfficientNet.from_name", ("b0",), {"depth": (2, 3)})
    assert parse_target("sub/net.py:Net", base_dir="root").path == os.path.join(
        "root", "sub", "net.py")


def test_missing_target_is_a_trace_error(project: Path) -> None:
    code, document, _ = _lint("--model", "nowhere.py:Net", "--model", "dynamic.py:Nope",
                              "--model", "no_such_module_xyz:Net", "dynamic.py")
    assert code == 2
    messages = " | ".join(e["message"] for e in document["errors"])
    assert "no such file nowhere.py" in messages
    assert "`Nope` is not defined in dynamic.py" in messages
    assert "ModuleNotFoundError" in messages
    assert {f["symbol"] for f in document["findings"]} >= {"DynamicPlain"}  # the run went on


# --- real models -------------------------------------------------------------------------


REAL = [
    ("monai.networks.nets:DenseNet121(spatial_dims=2, in_channels=1, out_channels=2)",
     "torch.fx"),
    ("monai.networks.nets:UNet(spatial_dims=2, in_channels=1, out_channels=2, "
     "channels=(8, 16, 32), strides=(2, 2))", "torch.fx"),
    # BasicUNet's `torch.jit.isinstance(x_e, torch.Tensor)` is False for an fx proxy, so the
    # symbolic graph drops the skip concatenation; the replay check catches it.
    ("monai.networks.nets:BasicUNet(spatial_dims=2, features=(4, 4, 8, 8, 16, 4))",
     "forward hooks"),
    ("monai.networks.nets:SegResNet(spatial_dims=2, init_filters=8)", "torch.fx"),
    ('efficientnet_pytorch:EfficientNet.from_name("efficientnet-b0")', "torch.fx"),
]


@pytest.fixture(scope="module")
def real_models() -> dict[str, object]:
    pytest.importorskip("monai")
    pytest.importorskip("efficientnet_pytorch")
    settings = runner.TraceSettings(targets=[parse_target(t) for t, _ in REAL])
    outcome = runner.trace_models(settings, [], [], [])
    assert outcome.errors == []
    return {m.name: m for m in outcome.models}


@pytest.mark.parametrize(("text", "method"), REAL)
def test_real_models_trace(real_models: dict, text: str, method: str) -> None:
    model = real_models[parse_target(text).name]
    assert model.trace_method == method and model.network.complete
    weighted = [n for n in model.network if n.weighted]
    assert len(weighted) >= 5 and weighted[0].name  # module paths, e.g. `features.conv0`
    assert model.loc.line > 1 and model.path.endswith(".py")


def test_densenet_concatenations_are_skips(real_models: dict) -> None:
    network = real_models["DenseNet121"].network
    masks = graph.ancestors(network)
    skips = [n for n in network if n.kind == "cat" and graph.is_skip(n, masks)]
    assert len(skips) == 58  # one per dense layer: 6 + 12 + 24 + 16
    assert len(graph.longest_plain_run(network)) < 6
    weighted = sum(n.weighted for n in network)
    assert weighted == 121 and bin(graph.spanned(network)).count("1") > weighted // 2


def test_unet_skips_are_recognised(real_models: dict) -> None:
    for name in ("UNet", "BasicUNet", "SegResNet"):
        network = real_models[name].network
        masks = graph.ancestors(network)
        assert any(graph.is_skip(n, masks) for n in network), name


def test_efficientnet_functional_convolutions_are_layers(real_models: dict) -> None:
    network = real_models["EfficientNet.from_name"].network
    convs = [n for n in network if n.family == "conv"]
    assert len(convs) == 81 and all(n.functional for n in convs)  # Conv2dStaticSamePadding
    assert sum(n.kind == "add" for n in network) >= 9  # the MBConv residuals


def test_a_forward_that_exits_is_an_error_entry(project: Path) -> None:
    (project / "quits.py").write_text(
        "import sys\nimport torch.nn as nn\n\n"
        "class Quitter(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n\n"
        "    def forward(self, x):\n"
        "        sys.exit(4)\n")
    code, document, _ = _lint("--trace", "quits.py", "dynamic.py")
    assert code == 2
    (error,) = document["errors"]
    assert error["kind"] == "trace" and error["path"] == "quits.py"
    assert "SystemExit: 4" in error["message"]
    assert any(f["symbol"] == "DynamicPlain" for f in document["findings"])  # the run went on


def test_a_module_target_is_reported_where_its_class_is(in_tmp: Path) -> None:
    """`--model pkg.nets:Net(...)` names a model by module path: its findings point at the
    class's file and line (linted or not), and say which target they judge."""
    (in_tmp / ".git").mkdir()
    (in_tmp / "pkg").mkdir()
    (in_tmp / "pkg" / "__init__.py").write_text("")
    (in_tmp / "pkg" / "nets.py").write_text(
        "import torch.nn as nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self, width=8):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, width, 3)\n        self.bn = nn.BatchNorm2d(width)\n\n"
        "    def forward(self, x):\n        return self.bn(self.conv(x))\n")
    code, document, err = _lint("--select", "CNN101", "--model", "pkg.nets:Net(width=4)",
                                "pkg/__init__.py")
    assert code == 1, err
    (finding,) = document["findings"]
    assert (finding["path"], finding["line"]) == ("pkg/nets.py", 4)
    assert finding["message"].endswith("[torch.fx trace of pkg.nets:Net(width=4)]")
    assert "pkg/nets.py:4: traced pkg.nets:Net(width=4) with torch.fx" in document["notes"][0]


def test_trace_timeout_is_a_setting(in_tmp: Path) -> None:
    (in_tmp / "slow.py").write_text(
        "import time\nimport torch.nn as nn\ntime.sleep(5)\n\n\nclass Net(nn.Module):\n"
        "    def forward(self, x):\n        return x\n")
    (in_tmp / "pyproject.toml").write_text("[tool.cnnlint]\ntrace-timeout = 0.5\n")
    code, document, _ = _lint("--trace", "slow.py")
    assert code == 2
    (error,) = document["errors"]
    assert "gave up after 0.5 s (the `trace-timeout` setting)" in error["message"]
    (in_tmp / "pyproject.toml").write_text("[tool.cnnlint]\ntrace-timeout = -1\n")
    code, out, err = run(["--trace", "slow.py"])
    assert code == 2 and "`trace-timeout` must be a positive number of seconds" in err


def test_a_permute_that_moves_the_channels_stands_between_conv_and_norm(in_tmp: Path) -> None:
    # Static reading, torch.fx and the forward-pass recording (a data-dependent `if` stops
    # symbolic tracing) agree: after `permute(0, 2, 3, 1)` the norm normalises the height
    # axis, so the conv's bias is not cancelled; swapping the spatial axes keeps it so.
    (in_tmp / "layouts.py").write_text(
        "import torch\nimport torch.nn as nn\n\n\n"
        "class ChannelsLast(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(8, 8, 3, padding=1)\n"
        "        self.norm = nn.InstanceNorm2d(8)\n\n"
        "    def forward(self, x):\n"
        "        y = self.conv(x)\n"
        "        if y.mean() > 0:\n"
        "            y = y * 1.0\n"
        "        return self.norm(y.permute(0, 2, 3, 1))\n\n\n"
        "class Swapped(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(8, 8, 3, padding=1)\n"
        "        self.norm = nn.BatchNorm2d(8)\n\n"
        "    def forward(self, x):\n"
        "        return self.norm(torch.transpose(self.conv(x), 2, 3))\n\n\n"
        "class Moved(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(8, 8, 3, padding=1)\n"
        "        self.norm = nn.BatchNorm2d(8)\n\n"
        "    def forward(self, x):\n"
        "        return self.norm(self.conv(x).transpose(1, 2))\n")
    for flags in ([], ["--trace", "--input-shape", "8,8,8"]):
        _, document, err = _lint(*flags, "--select", "CNN101", "layouts.py")
        assert document["errors"] == [], err
        assert {f["symbol"] for f in document["findings"]} == {"Swapped"}, flags
    _, document, _ = _lint("--trace", "--input-shape", "8,8,8", "--verbose", "layouts.py")
    how = " ".join(document["notes"])
    assert "ChannelsLast" in how and "forward" in how


def test_a_hard_swish_written_with_clamp_is_not_a_plain_relu(in_tmp: Path) -> None:
    # `x * clamp(x + 3, 0, 6) / 6` is hard-swish: the clamp is a ReLU6 that only scales its
    # input, so a network mixing it with ReLUs is not "all plain ReLU" (static and traced).
    (in_tmp / "hswish.py").write_text(
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
        "class Mixed(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(8)])\n\n"
        "    def forward(self, x):\n"
        "        for conv in self.convs:\n"
        "            x = F.relu(conv(x))\n"
        "            x = x * (x + 3).clamp(min=0, max=6) / 6\n"
        "        return x\n\n\n"
        "class Plain(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.convs = nn.ModuleList([nn.Conv2d(8, 8, 3, padding=1) for _ in range(8)])\n\n"
        "    def forward(self, x):\n"
        "        for conv in self.convs:\n"
        "            x = torch.clamp(conv(x), 0, 6)\n"
        "        return x\n")
    for flags in ([], ["--trace", "--input-shape", "8,8,8"]):
        _, document, err = _lint(*flags, "--select", "CNN105", "hswish.py")
        assert document["errors"] == [], err
        assert [(f["symbol"], f["message"].replace(" [torch.fx trace]", ""))
                for f in document["findings"]] == [
            ("Plain", "all 8 activations are plain ReLU6 (dying-ReLU risk)")], flags


def test_a_trace_reads_a_conv_over_a_buffer_as_a_fixed_filter() -> None:
    """As the static reader does: `F.conv2d(x, self.filt)` with `filt` a buffer trains
    nothing, and with `filt` a parameter it is a weighted layer."""
    import torch.nn.functional as F

    from cnnlint.trace import fx_graph

    class Blur(torch.nn.Module):
        def __init__(self, learned: bool) -> None:
            super().__init__()
            taps = torch.ones(4, 1, 3, 3) / 9
            if learned:
                self.filt = torch.nn.Parameter(taps)
            else:
                self.register_buffer("filt", taps)
            self.conv = torch.nn.Conv2d(4, 4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.conv2d(self.conv(x), self.filt, groups=4)

    for learned, weighted in ((False, ["Conv2d"]), (True, ["Conv2d", "Conv2d"])):
        _, network = fx_graph.build(Blur(learned), None, {})
        assert [n.kind for n in network.nodes if n.weighted] == weighted, learned
