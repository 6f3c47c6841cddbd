"""Jupyter notebooks as Python source: the code cells joined into one text, with the line
where each cell starts, so findings can be reported as "cell 3, line 5" (cells numbered as
Jupyter lists them, markdown cells included).

IPython syntax that is not Python is blanked out line for line (line numbers must not move):
a cell magic makes the whole cell foreign (`%%bash`), or only its own line when IPython runs
the body as Python (`%%time`, `%%timeit`, `%%capture`, `%%prun`); a line magic or shell escape
(`%matplotlib inline`, `!pip install`, and a bare `pip install` that IPython's automagic runs
as `%pip`, or another line magic written without `%` that is no Python as written,
`cd ..`) becomes `pass` at the same indentation (the lines a trailing backslash joins to it
are blanked), and `x = %timeit f()` or `files = !ls` keep their assignment with `None` as the
value. A cell
whose first line is indented loses that indent, as IPython strips it. A cell is never
executed and never imported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

NOTEBOOK_SUFFIX = ".ipynb"

_LINE_MAGIC = re.compile(r"^(\s*)[%!]")
# IPython's automagic runs `pip install ...` (`conda`, `mamba`) written without its `%` as
# the magic: two names in a row are no Python anyway.
_AUTOMAGIC = re.compile(r"^(\s*)(?:pip|conda|mamba)\s+(?:-\S+\s+)*"
                        r"(?:install|uninstall|list|show|freeze|download|create|update|remove|env)\b")
# IPython's automagic also runs its other line magics written without `%` (`cd ..`,
# `cd/content/drive/My Drive`, `matplotlib inline`): such a line that is no Python on its
# own is the magic. (One that is Python, `cd / data`, is left as Python: it runs nothing.)
_SHELL_AUTOMAGIC = re.compile(
    r"^(\s*)(?:cd|ls|pwd|cat|cp|mv|rm|mkdir|rmdir|env|set_env|run|load|load_ext|autoreload"
    r"|matplotlib|pylab|time|timeit|who|whos|reset|history|alias|bookmark|dhist|pushd|popd)"
    r"(?:\s+(?![=+\-*/%&|^<>!:]=?\s)|[/~])")
_ASSIGNED_MAGIC = re.compile(r"^(\s*[\w.\[\], ]+=\s*)[%!]")
# `obj?`, `obj??`, `?obj` and a search with wildcards (`torch.*Tensor?`).
_HELP = re.compile(r"^\s*(?:[\w.*]+\?{1,2}|\?{1,2}[\w.*]+)\s*$")
# Cell magics whose body IPython runs as Python: timing, profiling, capturing output.
_PYTHON_CELL_MAGIC = re.compile(r"^\s*%%(?:time|timeit|capture|prun)\b")


class NotebookError(ValueError):
    """The file is not a notebook cnnlint can read; the message says why."""


@dataclass(frozen=True)
class NotebookSource:
    text: str
    # For each cell of the notebook, markdown and raw cells too: the 1-based line of the
    # joined text where it starts (a cell with no code starts where the next one does).
    cell_starts: tuple[int, ...]

    def position(self, line: int) -> tuple[int, int]:
        """(cell number as Jupyter lists them, from 1, line within that cell) of a joined
        line."""
        return cell_position(self.cell_starts, line)


def is_notebook(path: str) -> bool:
    return path.endswith(NOTEBOOK_SUFFIX)


def cell_position(cell_starts: tuple[int, ...] | list[int], line: int) -> tuple[int, int]:
    cell = 0
    for index, start in enumerate(cell_starts):
        if start <= line:
            cell = index
        else:
            break
    return cell + 1, line - cell_starts[cell] + 1 if cell_starts else line


def joined_line(cell_starts: tuple[int, ...] | list[int], cell: int, line: int) -> int:
    """The inverse of `cell_position`."""
    return cell_starts[cell - 1] + line - 1 if 0 < cell <= len(cell_starts) else line


# What a file checked in with Git LFS holds in a clone made without LFS: a few lines
# pointing at the real content.
_LFS_POINTER = b"version https://git-lfs.github.com/spec/"


def read_notebook(data: bytes) -> NotebookSource:
    if data.startswith(_LFS_POINTER):
        raise NotebookError("a Git LFS pointer, not the notebook: fetch it (`git lfs pull`) "
                            "to lint it")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(f"not a readable notebook (invalid JSON: {exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise NotebookError("not a notebook: no list of cells")
    language = _language(document)
    if language not in (None, "python", "ipython", "ipython3", "python3"):
        raise NotebookError(f"a {language} notebook, not Python")
    lines: list[str] = []
    starts: list[int] = []
    for cell in document["cells"]:
        # Cells are numbered as Jupyter lists them: markdown ones count, and hold no lines.
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            starts.append(len(lines) + 1)
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        starts.append(len(lines) + 1)
        lines.extend(_python_lines(text.splitlines()))
    return NotebookSource(text="\n".join(lines) + ("\n" if lines else ""),
                          cell_starts=tuple(starts))


def _language(document: dict[str, object]) -> str | None:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        return None
    for key in ("language_info", "kernelspec"):
        section = metadata.get(key)
        if isinstance(section, dict):
            name = section.get("name") if key == "language_info" else section.get("language")
            if isinstance(name, str) and name:
                return name.lower()
    return None


def _python_lines(cell: list[str]) -> list[str]:
    """The cell's lines with IPython-only syntax blanked out, one output line per input."""
    if not cell:
        return [""]  # an empty cell still has a line, so the next cell's numbering holds
    if cell[0].lstrip().startswith("%%"):
        if not _PYTHON_CELL_MAGIC.match(cell[0]):
            return ["" for _ in cell]
        return ["", *_python_lines(cell[1:])] if len(cell) > 1 else [""]
    cell = _without_leading_indent(cell)
    out = []
    state = _Open()
    magic_continues = False
    for line in cell:
        if magic_continues:
            # `!python export.py \` goes on over the lines its backslashes join: they are
            # the shell command's, not Python.
            out.append("")
            magic_continues = line.rstrip().endswith("\\")
            continue
        # A line inside brackets, a string or after a backslash continues a statement: its
        # `%` is Python's operator (`print("%d" ... \n % n)`), not a magic.
        assigned = _ASSIGNED_MAGIC.match(line) if not state.continues else None
        magic = (_LINE_MAGIC.match(line) or _AUTOMAGIC.match(line)
                 or _shell_automagic(line)) if not state.continues else None
        if assigned or magic:
            magic_continues = line.rstrip().endswith("\\")
        if assigned:
            out.append(f"{assigned.group(1)}None")
        elif magic:
            out.append(f"{magic.group(1)}pass")
        elif not state.continues and _HELP.match(line):
            out.append("")
        else:
            out.append(line)
        state.scan(out[-1])
    return out


def _shell_automagic(line: str) -> re.Match[str] | None:
    found = _SHELL_AUTOMAGIC.match(line)
    if found is None:
        return None
    try:
        compile(line.strip(), "<cell>", "exec")
    except SyntaxError:
        return found
    return None


def _without_leading_indent(cell: list[str]) -> list[str]:
    """As IPython runs it: a cell whose first line is indented loses that indent on every
    line that has it (columns in the cell move left by as much)."""
    first = next((line for line in cell if line.strip()), "")
    indent = first[:len(first) - len(first.lstrip())]
    if not indent:
        return cell
    return [line[len(indent):] if line.startswith(indent) else line for line in cell]


class _Open:
    """What is still open after the lines scanned so far: brackets, a triple-quoted string,
    a backslash continuation. Enough of Python's tokens to tell a continued line."""

    def __init__(self) -> None:
        self.depth, self.quote, self.backslash = 0, "", False

    @property
    def continues(self) -> bool:
        return self.depth > 0 or bool(self.quote) or self.backslash

    def scan(self, line: str) -> None:
        i, n = 0, len(line)
        while i < n:
            if self.quote:
                end = line.find(self.quote, i)
                if end == -1:
                    self.backslash = False
                    return
                i, self.quote = end + 3, ""
                continue
            c = line[i]
            if c == "#":
                self.backslash = False  # a comment runs to the end of the line
                return
            if c in "'\"":
                if line.startswith(c * 3, i):
                    self.quote, i = c * 3, i + 3
                    continue
                i += 1
                while i < n and line[i] != c:
                    i += 2 if line[i] == "\\" else 1
            elif c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.backslash = line.rstrip("\r\n").endswith("\\")
