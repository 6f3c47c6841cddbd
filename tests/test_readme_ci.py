"""The README's CI recipe works as written: its `run:` lines, run in order in a fresh git
repository with a small model in src/, install cnnlint, annotate, and leave a SARIF file,
with the exit codes the README documents.

Only the install line's URL is changed, to this checkout. The recipe runs in a virtual
environment of its own (so the install cannot touch the one running the tests) and offline:
pip gets no index (`PIP_NO_INDEX`) and builds with the installed setuptools
(`PIP_NO_BUILD_ISOLATION=0`, pip's spelling for "no build isolation"); cnnlint's
dependencies are lent from this environment, without this environment's cnnlint.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from helpers import BAD

ROOT = Path(__file__).resolve().parents[1]


def recipe() -> list[str]:
    """The `run:` commands of the README's CI gate workflow, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## CI gate", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, flags=re.DOTALL)
    steps = yaml.safe_load(block)["jobs"]["cnnlint"]["steps"]
    return [step["run"] for step in steps if "run" in step]


def repository_url(install: str) -> str:
    """The URL the install line takes cnnlint from."""
    assert install.startswith("pip install ")
    requirement = Requirement(install.removeprefix("pip install ").strip("\"'"))
    assert requirement.name == "cnnlint"
    assert requirement.url is not None, "`pip install cnnlint` needs an index that serves it"
    return requirement.url


def test_the_recipe_installs_from_the_repository() -> None:
    assert repository_url(recipe()[0]).startswith("git+https://github.com/OWNER/cnnlint")


def _environment(tmp_path: Path) -> dict[str, str]:
    """A fresh venv whose pip installs offline; cnnlint's dependencies come from this
    environment's site-packages, through a folder of links that leaves cnnlint out."""
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    # Python 3.11's venv brings its own setuptools (65), too old for the SPDX `license`
    # string; the build must use the one lent below, as CI's environment has it.
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q",
                    "setuptools"], capture_output=True, check=False)
    lent = tmp_path / "lent"
    lent.mkdir()
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        if not re.match(r"(__editable__[._])?cnnlint|pip\b|pip-", entry.name):
            (lent / entry.name).symlink_to(entry)
    done = subprocess.run([str(target / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True)
    Path(done.stdout.strip(), "lent.pth").write_text(f"{lent}\n")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GITHUB_", "PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PATH=f"{target / 'bin'}{os.pathsep}{env.get('PATH', '')}", PIP_NO_INDEX="1",
               PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the recipe is for ubuntu-latest")
def test_the_recipe_runs_as_written(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "model.py").write_text(BAD)
    subprocess.run(["git", "init", "-q", str(repo)], check=True, capture_output=True)
    commands = recipe()
    commands[0] = commands[0].replace(repository_url(commands[0]), ROOT.as_uri())
    codes = []
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        codes.append(done.returncode)
        if command.startswith("pip install"):
            assert done.returncode == 0, done.stdout + done.stderr
        if "--format github" in command:
            assert "::warning file=src/model.py,line=6," in done.stdout
    # As documented: installed; annotations fail the job on findings; the SARIF step does not.
    assert codes == [0, 1, 0]
    where = subprocess.run(["bash", "-c", "command -v cnnlint"], env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    assert Path(where).parent == tmp_path / "venv" / "bin"  # the recipe's install, not ours
    document = json.loads((repo / "cnnlint.sarif").read_text(encoding="utf-8"))
    (result,) = document["runs"][0]["results"]
    assert result["ruleId"] == "CNN101"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == \
        {"uri": "src/model.py", "uriBaseId": "%SRCROOT%"}
