"""cnnlint's rules, one module per rule, installed as `cnnlint.rules`.

This folder sits at the top of the repository but is packaged inside the cnnlint namespace
(setuptools `package-dir`). Imported under any other name (say, as `rules` from the repo
root) every rule would register twice, so that is refused here.
"""

if __name__ != "cnnlint.rules":
    raise ImportError(
        f"the rules package must be imported as `cnnlint.rules`, not `{__name__}`")
