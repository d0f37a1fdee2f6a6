"""Keep secrets out of logs: access links, API tokens and session ids are redacted.

Installed on the werkzeug (development server) and gunicorn access/error loggers by the
extension. Participant tokens travel only in query strings or form bodies (never paths),
so redacting ``token=`` values in request lines is enough for access logs.
"""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"(?i)\b(token|t|secret|password)=[^&\s\"']+"),
    re.compile(r"\bhw[ts]_[A-Za-z0-9_\-]{20,}"),  # API tokens and session secrets
    re.compile(r"(?i)(authorization:\s*bearer\s+)\S+"),
]

LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "flask.app", "hwtrial")


def redact(text: str) -> str:
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}=[redacted]", text)
    text = _PATTERNS[1].sub("[redacted]", text)
    return _PATTERNS[2].sub(lambda m: m.group(1) + "[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_redaction() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
