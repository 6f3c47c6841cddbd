"""The runtime probe (`cnnlint probe`): a short training pass that measures, in numbers,
the usual ways a CNN fails to train, and confirms or refutes the static findings on the
model.

`runner` builds the target and trains a copy, `measure` holds the hooks and statistics,
`data` the batches, `verdict` the verdict framework (the verdicts themselves live in the
top-level `probes/` folder, installed as `cnnlint.probes`), `confirm` the link to the static
findings, and `output` the text, JSON and plot renderings. Everything here imports torch.
"""
