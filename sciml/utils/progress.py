"""Progress on long work: a tqdm bar per level on a terminal, periodic single lines otherwise, nothing when quiet.

Logs and CI capture stderr to a file, where tqdm's carriage-return redraws (and nested bars) turn into
thousands of lines. Off a terminal, only the outermost level reports, as one plain line at most every
:data:`LINE_INTERVAL_S` seconds and one at the end. ``sciml --quiet`` (or ``SCIML_QUIET=1``) silences all of it.
"""
from __future__ import annotations

import os
import sys
import time
from typing import IO, Any, Iterable, Iterator

from tqdm.auto import tqdm

LINE_INTERVAL_S = 30.0  # off a terminal: the shortest gap between two progress lines
_quiet = False


def set_quiet(flag: bool = True) -> None:
    """Silence (or restore) every progress report of this process."""
    global _quiet
    _quiet = bool(flag)


def is_quiet() -> bool:
    return _quiet or os.environ.get("SCIML_QUIET", "") not in ("", "0")


class SilentProgress:
    """The progress interface (iterate, ``update``, ``set_postfix``, ``close``) that reports nothing."""

    def __init__(self, iterable: Iterable | None = None):
        self.iterable = iterable

    def __iter__(self) -> Iterator:
        yield from self.iterable or ()

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, ordered_dict: dict | None = None, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LineProgress(SilentProgress):
    """Plain progress lines ``desc: n/total unit (t s) k=v`` at most every ``interval_s`` and at the end."""

    def __init__(self, iterable: Iterable | None = None, total: int | None = None, desc: str = "",
                 unit: str = "it", initial: int = 0, stream: IO[str] | None = None,
                 interval_s: float = LINE_INTERVAL_S):
        super().__init__(iterable)
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.stream, self.interval_s = stream or sys.stderr, interval_s
        self.start = self.last = time.monotonic()
        self.postfix: dict[str, Any] = {}
        self.closed = self.printed_at_n = None

    def __iter__(self) -> Iterator:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval_s:
            self._line(now)

    def set_postfix(self, ordered_dict: dict | None = None, **kwargs: Any) -> None:
        self.postfix = {**(ordered_dict or {}), **kwargs}

    def close(self) -> None:
        if not self.closed and self.printed_at_n != self.n:
            self._line(time.monotonic())
        self.closed = True

    def _line(self, now: float) -> None:
        count = f"{self.n}/{self.total}" if self.total is not None else str(self.n)
        extra = "".join(f" {k}={v}" for k, v in self.postfix.items())
        print(f"{self.desc}: {count} {self.unit} ({now - self.start:.0f} s){extra}", file=self.stream, flush=True)
        self.last, self.printed_at_n = now, self.n


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
             level: int = 0, enabled: bool = True, initial: int = 0, stream: IO[str] | None = None):
    """A progress reporter over ``iterable`` (or updated by hand): a tqdm bar on a terminal (``level`` > 0: a
    nested bar that is cleared when done), a :class:`LineProgress` off a terminal (outermost level only), a
    :class:`SilentProgress` when ``enabled`` is False or progress is quiet."""
    stream = stream or sys.stderr
    if not enabled or is_quiet():
        return SilentProgress(iterable)
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=level == 0, file=stream)
    if level > 0:
        return SilentProgress(iterable)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, initial=initial, stream=stream)
