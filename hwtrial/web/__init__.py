"""Server-rendered pages: staff sign-in, participant link exchange, and the participant app."""

from __future__ import annotations

from flask import Flask

from .auth import bp as auth_bp
from .pages import bp as pages_bp


def register_web(app: Flask, prefix: str) -> None:
    app.register_blueprint(pages_bp, url_prefix=prefix or None)
    app.register_blueprint(auth_bp, url_prefix=prefix or None)
    from .participant import bp as participant_bp

    app.register_blueprint(participant_bp, url_prefix=f"{prefix}/p")
    from .recruitment import bp as recruitment_bp

    app.register_blueprint(recruitment_bp, url_prefix=prefix or None)
    from .staff import register_staff

    register_staff(app, prefix)
