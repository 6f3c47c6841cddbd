"""Line and column numbers on demand: re-read, re-parse and locate only the files that
have findings (see `findings.SlotLoc`), unless the run kept their node positions."""

from __future__ import annotations

import marshal
from typing import Any

from cnnlint.cache import Cache, content_key, quick_key
from cnnlint.sources import ReadError, decode_python, read_bytes
from cnnlint.extract.source import file_spans, kept_spans

Span = tuple[int, int, int, int]


class Locator:
    def __init__(self, cache: Cache | None, keys: dict[str, str],
                 kept: dict[str, Any] | None = None) -> None:
        self.cache = cache
        self.keys = keys  # path -> content key of the bytes that were analysed
        self.kept = kept if kept is not None else {}  # path -> positions kept from analysis
        self._spans: dict[str, list[Span]] = {}

    def span(self, path: str, slot: int) -> Span | None:
        spans = self._spans.get(path)
        if spans is None:
            spans = self._spans[path] = self._compute(path)
        if 0 <= slot < len(spans) and spans[slot][0]:
            return spans[slot]
        return None

    def _compute(self, path: str) -> list[Span]:
        key = self.keys.get(path)
        if key is None:
            return []
        if self.cache is not None:
            cached = self.cache.get_payload("spans", key)
            if cached is not None:
                try:
                    return list(marshal.loads(cached))
                except (ValueError, EOFError, TypeError):
                    pass
        kept = self.kept.pop(path, None)
        if kept is not None:  # parsed in this run from the bytes the key names
            try:
                spans = kept_spans(kept)
            except (RecursionError, ValueError):
                return []
            if self.cache is not None:
                self.cache.put_payload("spans", key, marshal.dumps(spans))
            return spans
        try:
            data = read_bytes(path)
        except ReadError:
            return []
        if (content_key(data) if self.cache is not None else quick_key(data)) != key:
            return []  # the file changed since it was analysed: better no position than a wrong one
        try:
            spans = file_spans(decode_python(data))
        except (ReadError, RecursionError, ValueError):
            return []
        if self.cache is not None:
            self.cache.put_payload("spans", key, marshal.dumps(spans))
        return spans
