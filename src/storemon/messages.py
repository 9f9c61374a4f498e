"""Error texts for people: one line, whatever the error."""

from __future__ import annotations

#: Validation wording (pydantic's, as Typer and FastAPI pass it on) and what a
#: person reads instead.
_PLAIN = {
    "Value error, ": "",
    ", unable to parse string as an integer": "",
    ", unable to parse string as a number": "",
    "Input should be a valid integer": "not a whole number",
    "Input should be a valid number": "not a number",
    "Input should be ": "must be ",
}


def first_line(error: BaseException | None) -> str:
    """The first non-blank line of ``error``'s text, else the name of its type
    (drivers put hints and SQL on the lines below)."""
    for line in str(error if error is not None else "").splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


def one_line(error: BaseException) -> str:
    """``Type: text`` with the whole text on one line (for logs and the error
    recorded on a failed report, where the type helps)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 store``, ``2 stores``."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def plain_words(message: str) -> str:
    """``message`` without validation jargon, on one line."""
    for jargon, words in _PLAIN.items():
        message = message.replace(jargon, words)
    return " ".join(message.split())
