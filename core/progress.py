"""Progress of the long steps on a terminal: one line, rewritten in place ("dbt: model 12 of 57 ...", "staging file
3 of 40 ..."); nothing at all when stderr is not a terminal (a log file, CI, a pipe), where the INFO log lines say
what was done. finops/cli.py starts every log line on a terminal with CLEAR, so a log line never lands after a
progress line's text."""

from __future__ import annotations

import sys

CLEAR = "\r\033[K"  # back to the start of the line, and erase it


def on_terminal() -> bool:
    return sys.stderr.isatty()


def show_progress(text: str) -> None:
    """Show `text` as the progress line (cut to 160 characters); "" erases it."""
    if on_terminal():
        sys.stderr.write(CLEAR + text[:160])
        sys.stderr.flush()
