"""cnnlint's runtime measurements, one module per probe, installed as `cnnlint.probes`.

Like `rules/`, this folder is packaged inside the cnnlint namespace and refuses to be
imported under another name.
"""

if __name__ != "cnnlint.probes":
    raise ImportError(
        f"the probes package must be imported as `cnnlint.probes`, not `{__name__}`")
