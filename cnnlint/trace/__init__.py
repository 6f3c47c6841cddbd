"""Graph mode (`cnnlint --trace`): import the user's models and read their real graphs.

Everything here imports torch, so nothing in the static path imports this package. The
pieces: `targets` finds and imports the models to trace (with the user's code contained),
`ops` names what torch calls in the IR's terms, `fx_graph` and `hooks` build `ir.Network`s
(torch.fx symbolic tracing first, one recorded forward pass when that fails), and `runner`
ties them together for the engine.
"""

from __future__ import annotations

# A bare `pip install torch` pulls the multi-GB CUDA build: say how to get the CPU one.
TORCH_MISSING = ("this needs torch, which is not installed: install it as pytorch.org says "
                 "for your machine (CPU only: pip install torch --index-url "
                 "https://download.pytorch.org/whl/cpu)")


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None
