"""Helpers shared by CLI commands: turning library errors into one-line usage errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from ..errors import InstsimError


class UsageError(click.UsageError):
    """Exit code 2 with a one-line message, no traceback."""


@contextlib.contextmanager
def usage_errors() -> Iterator[None]:
    """Re-raise instsim's errors from option handling as click usage errors (exit 2)."""
    try:
        yield
    except InstsimError as exc:
        raise UsageError(str(exc)) from None
