"""marshmallow schemas for study files; ``StudySchema`` is the root."""

from .study import StudySchema

__all__ = ["StudySchema"]
