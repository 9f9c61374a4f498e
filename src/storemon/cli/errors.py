"""Errors as one line for a person at a terminal."""

from __future__ import annotations

from storemon.messages import first_line

#: Validation wording (pydantic's, through Typer) and what a person reads instead.
_PLAIN = {
    "Value error, ": "",
    ", unable to parse string as an integer": "",
    ", unable to parse string as a number": "",
    "Input should be a valid integer": "not a whole number",
    "Input should be a valid number": "not a number",
    "Input should be ": "must be ",
}


class UserError(Exception):
    """A mistake in how the command was called; the message says what to do."""


def plain_words(message: str) -> str:
    """``message`` without validation jargon, on one line."""
    for jargon, words in _PLAIN.items():
        message = message.replace(jargon, words)
    return " ".join(message.split())


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
