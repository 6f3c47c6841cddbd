"""`cnnlint diagnose RUN [PATHS...]`: from a training's logged metrics to the likely causes
in its code.

People come with a symptom ("train accuracy 98 %, validation 62 %"), not a rule code. The
pipeline reads the logs into neutral series (`logs`), decides which series is the training
loss, the validation accuracy, the learning rate (`metrics`), lines them up on one axis of
epochs or steps (`curves`), names the symptoms with their evidence (`symptoms`), and ranks
the static findings of the code that explain each one (`causes`); `report` renders it and
`diagnosis` runs the whole. Only reading TensorBoard event files needs an extra package
(tensorboard); nothing here imports torch.
"""

from __future__ import annotations


class DiagnoseError(Exception):
    """Bad input: a missing folder, no recognisable metrics, an unreadable log. The CLI
    prints the message on one line and exits 2."""


TENSORBOARD_MISSING = ("reading TensorBoard event files needs the tensorboard package: "
                       "pip install 'cnnlint[diagnose]'")
