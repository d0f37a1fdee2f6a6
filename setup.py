"""Only what pyproject.toml cannot say: ship the top-level migrations/ as ``hwtrial.migrations``.

The repository keeps Alembic's folder where Flask-Migrate expects it; an installed wheel needs it
inside the package (found by :func:`hwtrial.config.default_migrations_dir`).
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["hwtrial*"])
    + ["hwtrial.migrations", "hwtrial.migrations.versions"],
    package_dir={"hwtrial.migrations": "migrations"},
)
