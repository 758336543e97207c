"""Progress display for long runs: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any

__all__ = ["Progress"]


class Progress:
    """Counts finished trials and shows the best value so far.

    Args:
        total: Trials expected (None if unbounded).
        timeout: Seconds budget (shown when there is no ``total``).
        enabled: Show anything at all.
        interval: Seconds between plain-text lines.
    """

    def __init__(self, total: int | None, timeout: float | None, *, enabled: bool,
                 interval: float = 5.0, stream: Any = None) -> None:
        self.enabled = enabled
        self.total = total
        self.timeout = timeout
        self.done = 0
        self.best: float | None = None
        self._stream = stream or sys.stderr
        self._interval = interval
        self._last = 0.0
        self._start = time.monotonic()
        self._rich: Any = None
        if enabled and getattr(self._stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[best]}"),
                console=Console(file=self._stream), transient=False,
            )
            self._task = self._rich.add_task("trials", total=total, best="")
            self._rich.start()

    def update(self, best: float | None) -> None:
        self.done += 1
        self.best = best
        if not self.enabled:
            return
        text = f"best={best:.6g}" if best is not None else "best=-"
        if self._rich is not None:
            self._rich.update(self._task, advance=1, best=text)
            return
        now = time.monotonic()
        if now - self._last >= self._interval or (self.total and self.done >= self.total):
            self._last = now
            self._line(text)

    def _line(self, text: str) -> None:
        elapsed = time.monotonic() - self._start
        of = f"/{self.total}" if self.total else ""
        budget = f" of {self.timeout:g}s" if self.timeout and not self.total else ""
        self._stream.write(f"[autolearn] trials {self.done}{of}  {elapsed:.1f}s{budget}  {text}\n")
        self._stream.flush()

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
        elif self.enabled and self.done and (self.total is None or self.done < self.total):
            best = self.best
            self._line(f"best={best:.6g}" if best is not None else "best=-")
