"""The one exception services raise for a refused use case."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A use case refused: services raise it, the API, web and CLI layers render it.

    ``status`` is an HTTP status; ``errors`` maps a field path to its messages;
    ``payload`` adds top-level keys to the JSON body (e.g. the stored answer on a 409).
    """

    def __init__(self, status: int, message: str, errors: dict[str, list[str]] | None = None,
                 payload: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or {}
        self.payload = payload or {}
