"""Precision and recall of every rule on public repositories, against labels written by
reading their code (never by running cnnlint).

    python benchmarks/realworld/score.py --repos DIR [--clone] [--only NAME ...] [--show]
                                         [--max-mib 2048]

DIR holds the repositories of manifest.toml, fetched: a clone per repository, as
`DIR/<owner>/<name>`, `DIR/<owner>+<name>`, `DIR/<name>` (or a `repo` folder inside one of
those); with `--clone`, missing ones are cloned from GitHub into DIR. Each is checked out at
its pinned commit into a temporary folder (git's own files only, no work tree touched), and
cnnlint lints the manifest's paths there as a project.

Labels (labels.csv): `repo,path,symbol,line,rule,expected,reason[,source]`; `source` cites the
issue thread behind a documented bug, or says `review` for a finding of cnnlint checked by
reading the code (those count for precision only: they were chosen by cnnlint, so they say
nothing of what it misses). A row is matched by
path, rule and line, except the rules about a whole model (CNN103-CNN107), matched by path,
rule and symbol (the class or factory). `--show` lists the misses, the false findings, and
the findings on places no row labels (to label next).

It also reports what the linting cost: CPU seconds in all, the slowest repository, and the
peak memory of the heaviest one, and fails when one peaks above `--max-mib` (a reader that
multiplies values on some code grows without bound: that is a bug to catch here).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL_WIDE = {"CNN103", "CNN104", "CNN105", "CNN106", "CNN107"}


def read_manifest() -> list[dict[str, object]]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return list(tomllib.loads((HERE / "manifest.toml").read_text())["repo"])


def read_labels() -> list[dict[str, str]]:
    with open(HERE / "labels.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def git_dir(repos: Path, github: str, name: str) -> Path | None:
    owner, short = github.split("/")
    for base in (repos / owner / short, repos / f"{owner}+{short}", repos / name):
        for candidate in (base / ".git", base, base / "repo" / ".git", base / "repo"):
            if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
                return candidate
    return None


def clone(repos: Path, github: str) -> Path | None:
    target = repos / github.replace("/", "+")
    done = subprocess.run(["git", "clone", "--quiet", "--bare",
                           f"https://github.com/{github}.git", str(target)], check=False)
    return target if done.returncode == 0 else None


def check_out(git: Path, commit: str, into: Path) -> None:
    """The commit's Python files and notebooks, project and configuration files (JSON,
    YAML), without a work tree of the repository's own:
    large blobs and submodules are skipped; `.git` marks the project root."""
    listing = subprocess.run(["git", f"--git-dir={git}", "ls-tree", "-r", "-z", commit],
                             capture_output=True, check=True).stdout
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, raw = entry.split(b"\t", 1)
        mode, kind, sha = meta.split()
        path = raw.decode("utf-8", "replace")
        if kind != b"blob" or mode == b"120000" or not path.endswith(
                (".py", ".ipynb", "pyproject.toml", "setup.cfg", "setup.py", ".json", ".yaml",
                 ".yml")):
            continue
        blob = subprocess.run(["git", f"--git-dir={git}", "cat-file", "blob", sha.decode()],
                              capture_output=True, check=False)
        if blob.returncode:
            continue
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob.stdout)
    (into / ".git").mkdir(parents=True, exist_ok=True)


def lint(folder: Path, paths: list[str]) -> tuple[list[dict[str, object]], float, int]:
    """The findings of cnnlint on `paths` in `folder`, with the CPU seconds and the peak
    memory (MiB) of that run (its own process's, read when it ends)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([sys.executable, "-m", "cnnlint", "--no-cache", "--select",
                                    "ALL", "--format", "json", "--fail-on", "never", *paths],
                                   cwd=folder, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if process.returncode not in (0, 1, 2) or not stdout.strip():
        raise RuntimeError(f"cnnlint failed in {folder}: {stderr[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return list(json.loads(stdout)["findings"]), cpu, usage.ru_maxrss // 1024


def key_of(rule: str, path: str, line: object, symbol: str) -> tuple[str, str, str]:
    return (rule, path, symbol) if rule in MODEL_WIDE else (rule, path, str(line))


def keys_of(finding: dict[str, object]) -> list[tuple[str, str, str]]:
    """A finding's keys: a whole-model finding reported once for an architecture names its
    builders at the end of its message, "(vgg11; also in vgg13, vgg16)" or "(counted in
    vgg11; also in ...)", and stands for each."""
    code, path, symbol = str(finding["code"]), str(finding["path"]), str(finding["symbol"])
    keys = [key_of(code, path, finding["line"], symbol)]
    message = str(finding["message"])
    if code in MODEL_WIDE and message.endswith(")") and "; also in " in message:
        head, others = message[:-1].rsplit("; also in ", 1)
        first = head[head.rfind(" (") + 2:] if " (" in head else ""
        first = first.removeprefix("counted in ")
        for name in [first, *others.split(", ")]:
            keys.append(key_of(code, path, finding["line"], name.split("(")[0]))
    return keys


def score(labels: list[dict[str, str]], found: dict[str, list[dict[str, object]]],
          show: bool) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    labelled: set[tuple[str, ...]] = set()
    hits = {repo: {key for f in findings for key in keys_of(f)}
            for repo, findings in found.items()}
    for row in labels:
        repo = row["repo"]
        if repo not in found:
            continue
        key = key_of(row["rule"], row["path"], row["line"], row["symbol"])
        labelled.add((repo, *key))
        hit = key in hits[repo]
        yes = row["expected"].strip() == "yes"
        outcome = ("tp" if hit else "fn") if yes else ("fp" if hit else "tn")
        if (row.get("source") or "").strip() == "review" and outcome == "tp":
            outcome = "reviewed_tp"  # right, but picked by cnnlint: precision only
        counts.setdefault(row["rule"], Counter())[outcome] += 1
        if show and outcome in ("fn", "fp"):
            word = "MISS " if outcome == "fn" else "FALSE"
            print(f"{word} {repo}/{row['path']}:{row['line']} {row['rule']} {row['symbol']}: "
                  f"{row['reason']}")
    if show:
        for repo, findings in found.items():
            for f in findings:
                if not any((repo, *key) in labelled for key in keys_of(f)):
                    print(f"UNLABELLED {repo}/{f['path']}:{f['line']} {f['code']} "
                          f"{f['symbol']}: {f['message']}")
    return counts


def ratio(a: int, b: int) -> str:
    return f"{a / b:.2f}" if b else "  - "


def table(counts: dict[str, Counter[str]]) -> str:
    """Per rule and overall. `checked`: findings of cnnlint confirmed by review (they join
    precision, not recall)."""
    lines = ["| rule | yes | no | TP | checked | FP | FN | precision | recall |",
             "|---|---|---|---|---|---|---|---|---|"]
    total: Counter[str] = Counter()
    rows = [(rule, counts[rule]) for rule in sorted(counts)]
    for c in counts.values():
        total.update(c)
    for rule, c in [*rows, ("all", total)]:
        right = c["tp"] + c["reviewed_tp"]
        lines.append(f"| {rule} | {c['tp'] + c['fn']} | {c['fp'] + c['tn']} | {c['tp']} | "
                     f"{c['reviewed_tp']} | {c['fp']} | {c['fn']} | "
                     f"{ratio(right, right + c['fp'])} | {ratio(c['tp'], c['tp'] + c['fn'])} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", required=True, type=Path,
                        help="the folder of fetched repositories")
    parser.add_argument("--clone", action="store_true", help="clone missing ones from GitHub")
    parser.add_argument("--only", nargs="*", default=None, help="these repositories only")
    parser.add_argument("--show", action="store_true", help="list misses and false findings")
    parser.add_argument("--max-mib", type=int, default=2048,
                        help="fail when linting a repository peaks above this memory (MiB)")
    args = parser.parse_args()
    labels = read_labels()
    found: dict[str, list[dict[str, object]]] = {}
    costs: dict[str, tuple[float, int]] = {}
    missing = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in read_manifest():
            name, github, commit = str(entry["name"]), str(entry["github"]), str(entry["commit"])
            if args.only and name not in args.only:
                continue
            git = git_dir(args.repos, github, name) or (
                clone(args.repos, github) if args.clone else None)
            if git is None:
                missing.append(github)
                continue
            folder = Path(tmp) / name
            check_out(git, commit, folder)
            paths = [str(p) for p in entry["paths"]]  # type: ignore[attr-defined]
            found[name], cpu, mib = lint(folder, paths)
            costs[name] = (cpu, mib)
    counts = score(labels, found, args.show)
    repos_labelled = len({r["repo"] for r in labels if r["repo"] in found})
    print(f"{len(found)} repositories linted ({repos_labelled} with labels), "
          f"{sum(sum(c.values()) for c in counts.values())} labels")
    if missing:
        print(f"not found (fetch them, or --clone): {', '.join(missing)}")
    print(table(counts))
    if costs:
        heaviest = max(costs, key=lambda n: costs[n][1])
        slowest = max(costs, key=lambda n: costs[n][0])
        print(f"cost: {sum(c for c, _ in costs.values()):.1f} s CPU in all; slowest "
              f"{slowest} {costs[slowest][0]:.1f} s; peak memory {costs[heaviest][1]} MiB "
              f"({heaviest}), limit {args.max_mib} MiB")
        over = [n for n, (_, mib) in costs.items() if mib > args.max_mib]
        if over:
            print(f"over the memory limit: {', '.join(over)}")
            return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NO_COLOR", "1")
    sys.exit(main())
