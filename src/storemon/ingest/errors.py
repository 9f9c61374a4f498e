"""The one error of the ingest layer."""

from __future__ import annotations


class IngestError(Exception):
    """A feed file that cannot be read at all (no header, a required column
    missing, not a binary stream). Bad rows are never errors: they become
    rejects with a line number and a reason."""
