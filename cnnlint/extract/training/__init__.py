"""Training facts: what a project's scripts do to train its models, read as statically as the
models themselves. `reader.py` interprets, `recorder.py` keeps the events of a pass, `runs.py`
finds the entry points, `config.py` follows hyper-parameters to where they come from, and
`objects.py` says what training objects and library calls mean."""

from cnnlint.extract.training.reader import TrainingInterp
from cnnlint.extract.training.runs import extract_runs

__all__ = ["TrainingInterp", "extract_runs"]
