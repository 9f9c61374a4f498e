"""Errors as one line for a person at a terminal."""

from __future__ import annotations

from storemon.messages import first_line, plain_words

__all__ = ["UserError", "plain_words", "user_error_of"]

class UserError(Exception):
    """A mistake in how the command was called; the message says what to do."""


def user_error_of(error: BaseException) -> str:
    """One line describing ``error``: our own errors speak for themselves,
    anything else is named by its type."""
    from storemon.data.database import DatabaseError
    from storemon.ingest.errors import IngestError

    message = first_line(error)
    name = type(error).__name__
    if isinstance(error, UserError | DatabaseError | IngestError | ValueError):
        return message
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.strerror or message}: {error.filename}"
    return message if message == name else f"{name}: {message}"
