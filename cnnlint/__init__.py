"""cnnlint: a linter for PyTorch convolutional-network code, with a runtime probe."""

__version__ = "0.1.0"
