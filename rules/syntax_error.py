from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from cnnlint.findings import Finding, Loc
from cnnlint.rule import Rule

if TYPE_CHECKING:
    from cnnlint.extract.source import FileFacts


_MERGE_HINT = "Resolve the merge conflict (keep one side, remove the marker lines)"
_PORT_HINT = ("Port the file to Python 3 (`2to3` does most of it) for cnnlint to read it; "
              "a notebook's kernel must be Python 3 too")


class SyntaxErrorRule(Rule):
    """The file does not parse as Python, so nothing in it could be checked.

    ## What it flags
    A file Python's parser rejects, at the position of the error, with Python's message.
    Code written for Python 2 (`print x`, `except Exception, msg:`, `0755`) is named as
    such, with porting advice rather than a fix; a merge conflict left in the file
    (`<<<<<<<`, `=======`, `>>>>>>>` lines) is named where it starts.

    ## Why it matters
    cnnlint reads code without running it; a file that does not parse hides every model and
    training loop in it from every other rule. The run goes on with the other files.

    ## Example
    ```python
    def forward(self, x)
        return x
    ```

    ## Instead
    ```python
    def forward(self, x):
        return x
    ```
    """

    code = "CNN900"
    name = "syntax-error"
    severity = "error"
    summary = "The file does not parse, so no other rule could check it"
    fix = "Fix the syntax error; cnnlint reads files without running them"

    def check_file(self, facts: FileFacts) -> Iterable[Finding]:
        if facts.syntax_error is not None:
            message, line, column, needs = facts.syntax_error
            # (Code for a newer Python than the one running cnnlint is not to be "fixed";
            # Python 2 code is to be ported, not fixed here and there.)
            hint = _PORT_HINT if needs == "2" else _MERGE_HINT if needs == "merge" else \
                f"Run cnnlint on Python {needs} or later to read this file" if needs else None
            yield self.finding(f"syntax error: {message}",
                               Loc(facts.path, line, column, line, column), symbol="",
                               hint=hint)

    valid = [
        "x = 1\n",
        "import torch.nn as nn\n\nlayer = nn.Conv2d(3, 8, 3)\n",
        "def forward(self, x):\n    return x\n",
    ]
    invalid = [
        "def forward(self, x)  # flagged\n    return x\n",
        "import torch\nx = (1,  # flagged\n",
        "layers = [nn.Conv2d(3, 8, 3) nn.ReLU()]  # flagged\n",
    ]
