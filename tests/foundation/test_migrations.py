"""Migrations: an empty database upgrades to head and `db check` finds no drift."""

from __future__ import annotations

import sqlalchemy as sa


def test_upgraded_database_has_every_model_table(app):
    from hwtrial.models import Model

    with app.app_context():
        names = set(sa.inspect(app.extensions["hwtrial"].db.engine).get_table_names())
    assert set(Model.metadata.tables) <= names


def test_db_check_reports_no_drift(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output + str(result.exception)


def test_db_check_notices_drift(app, runner):
    with app.app_context():
        engine = app.extensions["hwtrial"].db.engine
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE hwtrial_stray (id INTEGER PRIMARY KEY)")
    try:
        result = runner.invoke(args=["db", "check"])
    finally:
        with app.app_context(), engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE hwtrial_stray")
    assert result.exit_code != 0


def test_timestamps_come_back_timezone_aware_utc(session):
    from datetime import UTC

    from hwtrial.models import User

    user = User(email="tz@test.example", role="admin")
    session.add(user)
    session.commit()
    session.expire_all()
    assert session.get(User, user.id).created_at.tzinfo == UTC


def test_float_columns_are_double_whatever_the_sqlalchemy_release():
    # SQLAlchemy 2.0 maps ``float`` to FLOAT, 2.1 to DOUBLE; the migrations create DOUBLE, and
    # ``db check`` at the oldest supported SQLAlchemy found drift before the base said so.
    from hwtrial.models import Model

    tables = Model.metadata.tables
    annotated = [tables["hwtrial_allocation"].c.probability, tables["hwtrial_cluster"].c.probability,
                 tables["hwtrial_decision_point"].c.probability,
                 tables["hwtrial_questionnaire_response"].c.total]  # plain ``Mapped[float]``
    assert all(isinstance(c.type, sa.Double) for c in annotated)
