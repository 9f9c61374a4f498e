"""Errors as one line for a person at a terminal."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in how the command was called; the message says what to do."""


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def user_error_of(error: BaseException) -> str:
    """One line describing ``error``: our own errors speak for themselves,
    anything else is named by its type."""
    from storemon.data.database import DatabaseError
    from storemon.ingest.errors import IngestError

    message = _first_line(str(error))
    if isinstance(error, UserError | DatabaseError | IngestError | ValueError):
        return message or type(error).__name__
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or message}: {error.filename}"
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
