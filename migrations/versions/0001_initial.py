"""Initial schema: studies, participants, allocation, homework, events, questionnaires,
decision points, outbox, accounts, sessions and the append-only audit trail.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hwtrial_audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('study_key', sa.String(length=80), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_audit_entry')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_hwtrial_audit_entry_entry_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_hwtrial_audit_entry_prev_hash')),
    sa.UniqueConstraint('seq', name=op.f('uq_hwtrial_audit_entry_seq'))
    )
    with op.batch_alter_table('hwtrial_audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hwtrial_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_hwtrial_audit_entry_study_key'), ['study_key'], unique=False)

    op.create_table('hwtrial_audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_audit_head'))
    )
    op.create_table('hwtrial_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_hwtrial_outbox_dedupe_key'))
    )
    with op.batch_alter_table('hwtrial_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hwtrial_outbox_due_at'), ['due_at'], unique=False)

    op.create_table('hwtrial_study',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('allocation_seed', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unblinded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'active', 'closed')", name=op.f('ck_hwtrial_study_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_study')),
    sa.UniqueConstraint('key', name=op.f('uq_hwtrial_study_key'))
    )
    op.create_table('hwtrial_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('may_unblind', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'coordinator', 'therapist', 'statistician')", name=op.f('ck_hwtrial_user_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_user')),
    sa.UniqueConstraint('email', name=op.f('uq_hwtrial_user_email'))
    )
    op.create_table('hwtrial_allocation_block',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('stratum_key', sa.String(length=400), nullable=False),
    sa.Column('block_no', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_allocation_block_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_allocation_block')),
    sa.UniqueConstraint('study_id', 'stratum_key', 'block_no', name=op.f('uq_hwtrial_allocation_block_study_id_stratum_key_block_no'))
    )
    op.create_table('hwtrial_allocation_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('stratum_key', sa.String(length=400), nullable=False),
    sa.Column('counts', sa.Text(), nullable=False),
    sa.Column('block_no', sa.Integer(), nullable=True),
    sa.Column('next_position', sa.Integer(), nullable=False),
    sa.Column('n_allocated', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_allocation_state_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_allocation_state')),
    sa.UniqueConstraint('study_id', 'stratum_key', name=op.f('uq_hwtrial_allocation_state_study_id_stratum_key'))
    )
    op.create_table('hwtrial_api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('study_keys', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_api_token_user_id_hwtrial_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_hwtrial_api_token_token_hash'))
    )
    op.create_table('hwtrial_cluster',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('cluster_key', sa.String(length=200), nullable=False),
    sa.Column('arm_key', sa.String(length=200), nullable=False),
    sa.Column('probability', sa.Double(), nullable=False),
    sa.Column('covariates', sa.Text(), nullable=False),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_cluster_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_cluster')),
    sa.UniqueConstraint('study_id', 'cluster_key', name=op.f('uq_hwtrial_cluster_study_id_cluster_key'))
    )
    op.create_table('hwtrial_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('strata', sa.Text(), nullable=False),
    sa.Column('cluster_key', sa.String(length=200), nullable=True),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=20), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('exclude_data', sa.Boolean(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('source_info', sa.Text(), nullable=False),
    sa.Column('link_generation', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'withdrawn')", name=op.f('ck_hwtrial_participant_status')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_participant_study_id_hwtrial_study')),
    sa.ForeignKeyConstraint(['therapist_id'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_participant_therapist_id_hwtrial_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_participant')),
    sa.UniqueConstraint('study_id', 'external_id', name=op.f('uq_hwtrial_participant_study_id_external_id'))
    )
    op.create_table('hwtrial_study_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_study_version_created_by_hwtrial_user')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_study_version_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_study_version')),
    sa.UniqueConstraint('study_id', 'version', name=op.f('uq_hwtrial_study_version_study_id_version'))
    )
    op.create_table('hwtrial_unblinding_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_unblinding_request_approved_by_hwtrial_user')),
    sa.ForeignKeyConstraint(['requested_by'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_unblinding_request_requested_by_hwtrial_user')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_unblinding_request_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_unblinding_request'))
    )
    op.create_table('hwtrial_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('sequence_no', sa.Integer(), nullable=False),
    sa.Column('arm_key', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('probability', sa.Double(), nullable=False),
    sa.Column('stratum_key', sa.String(length=400), nullable=False),
    sa.Column('block_no', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('study_version', sa.Integer(), nullable=False),
    sa.Column('diagnostics', sa.Text(), nullable=False),
    sa.Column('allocated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_allocation_participant_id_hwtrial_participant')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_allocation_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_allocation')),
    sa.UniqueConstraint('participant_id', name=op.f('uq_hwtrial_allocation_participant_id')),
    sa.UniqueConstraint('study_id', 'sequence_no', name=op.f('uq_hwtrial_allocation_study_id_sequence_no')),
    sa.UniqueConstraint('study_id', 'stratum_key', 'block_no', 'position', name=op.f('uq_hwtrial_allocation_study_id_stratum_key_block_no_position'))
    )
    op.create_table('hwtrial_consent_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=20), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('consented_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_consent_record_participant_id_hwtrial_participant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_consent_record'))
    )
    with op.batch_alter_table('hwtrial_consent_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hwtrial_consent_record_participant_id'), ['participant_id'], unique=False)

    op.create_table('hwtrial_decision_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('point_index', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('probability', sa.Double(), nullable=False),
    sa.Column('treated', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_decision_point_participant_id_hwtrial_participant')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_decision_point_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_decision_point')),
    sa.UniqueConstraint('participant_id', 'point_index', name=op.f('uq_hwtrial_decision_point_participant_id_point_index'))
    )
    op.create_table('hwtrial_feature_exposure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('feature', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('first_exposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_feature_exposure_participant_id_hwtrial_participant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_feature_exposure')),
    sa.UniqueConstraint('participant_id', 'feature', name=op.f('uq_hwtrial_feature_exposure_participant_id_feature'))
    )
    op.create_table('hwtrial_homework_instance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('template_key', sa.String(length=80), nullable=False),
    sa.Column('slot_key', sa.String(length=200), nullable=False),
    sa.Column('origin', sa.String(length=10), nullable=False),
    sa.Column('assigned_by', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('open_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expire_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('draft', sa.Text(), nullable=True),
    sa.Column('submission', sa.Text(), nullable=True),
    sa.Column('self_review', sa.Text(), nullable=True),
    sa.Column('reviewer_role', sa.String(length=10), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('metrics', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('scheduled', 'delivered', 'opened', 'started', 'submitted', 'expired')", name=op.f('ck_hwtrial_homework_instance_state')),
    sa.ForeignKeyConstraint(['assigned_by'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_homework_instance_assigned_by_hwtrial_user')),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_homework_instance_participant_id_hwtrial_participant')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_homework_instance_reviewed_by_hwtrial_user')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_homework_instance_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_homework_instance')),
    sa.UniqueConstraint('participant_id', 'slot_key', name=op.f('uq_hwtrial_homework_instance_participant_id_slot_key'))
    )
    with op.batch_alter_table('hwtrial_homework_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hwtrial_homework_instance_study_id'), ['study_id'], unique=False)

    op.create_table('hwtrial_questionnaire_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('instrument_key', sa.String(length=80), nullable=False),
    sa.Column('timepoint_key', sa.String(length=80), nullable=False),
    sa.Column('answers', sa.Text(), nullable=False),
    sa.Column('total', sa.Double(), nullable=True),
    sa.Column('band', sa.String(length=40), nullable=True),
    sa.Column('prorated', sa.Boolean(), nullable=False),
    sa.Column('n_missing', sa.Integer(), nullable=False),
    sa.Column('in_window', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_questionnaire_response_participant_id_hwtrial_participant')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_questionnaire_response_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_questionnaire_response')),
    sa.UniqueConstraint('participant_id', 'instrument_key', 'timepoint_key', name=op.f('uq_hwtrial_questionnaire_response_participant_id_instrument_key_timepoint_key'))
    )
    with op.batch_alter_table('hwtrial_questionnaire_response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hwtrial_questionnaire_response_study_id'), ['study_id'], unique=False)

    op.create_table('hwtrial_web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(user_id IS NULL) <> (participant_id IS NULL)', name=op.f('ck_hwtrial_web_session_one_principal')),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_web_session_participant_id_hwtrial_participant')),
    sa.ForeignKeyConstraint(['user_id'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_web_session_user_id_hwtrial_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_web_session')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_hwtrial_web_session_secret_hash'))
    )
    op.create_table('hwtrial_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('client_event_id', sa.String(length=64), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('client_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('server_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['hwtrial_homework_instance.id'], name=op.f('fk_hwtrial_event_instance_id_hwtrial_homework_instance')),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_event_participant_id_hwtrial_participant')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_event_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_event')),
    sa.UniqueConstraint('study_id', 'client_event_id', name=op.f('uq_hwtrial_event_study_id_client_event_id'))
    )
    with op.batch_alter_table('hwtrial_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hwtrial_event_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hwtrial_event_participant_id'), ['participant_id'], unique=False)

    op.create_table('hwtrial_safety_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['hwtrial_user.id'], name=op.f('fk_hwtrial_safety_alert_acknowledged_by_hwtrial_user')),
    sa.ForeignKeyConstraint(['participant_id'], ['hwtrial_participant.id'], name=op.f('fk_hwtrial_safety_alert_participant_id_hwtrial_participant')),
    sa.ForeignKeyConstraint(['response_id'], ['hwtrial_questionnaire_response.id'], name=op.f('fk_hwtrial_safety_alert_response_id_hwtrial_questionnaire_response')),
    sa.ForeignKeyConstraint(['study_id'], ['hwtrial_study.id'], name=op.f('fk_hwtrial_safety_alert_study_id_hwtrial_study')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hwtrial_safety_alert'))
    )

    # Append-only audit trail: UPDATE and DELETE are refused by the database itself.
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER hwtrial_audit_entry_no_{verb.lower()} BEFORE {verb} ON hwtrial_audit_entry "
                "BEGIN SELECT RAISE(ABORT, 'hwtrial_audit_entry is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION hwtrial_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'hwtrial_audit_entry is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER hwtrial_audit_entry_no_change BEFORE UPDATE OR DELETE ON hwtrial_audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION hwtrial_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER hwtrial_audit_entry_no_truncate BEFORE TRUNCATE ON hwtrial_audit_entry "
            "FOR EACH STATEMENT EXECUTE FUNCTION hwtrial_audit_append_only()"
        )
    # The genesis head: appenders lock this row, so it must exist before the first append.
    op.execute("INSERT INTO hwtrial_audit_head (id, seq, entry_hash, mac) VALUES (1, 0, '" + "0" * 64 + "', '')")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS hwtrial_audit_entry_no_truncate ON hwtrial_audit_entry")
        op.execute("DROP TRIGGER IF EXISTS hwtrial_audit_entry_no_change ON hwtrial_audit_entry")
        op.execute("DROP FUNCTION IF EXISTS hwtrial_audit_append_only()")
    op.drop_table('hwtrial_safety_alert')
    with op.batch_alter_table('hwtrial_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hwtrial_event_participant_id'))
        batch_op.drop_index(batch_op.f('ix_hwtrial_event_instance_id'))

    op.drop_table('hwtrial_event')
    op.drop_table('hwtrial_web_session')
    with op.batch_alter_table('hwtrial_questionnaire_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hwtrial_questionnaire_response_study_id'))

    op.drop_table('hwtrial_questionnaire_response')
    with op.batch_alter_table('hwtrial_homework_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hwtrial_homework_instance_study_id'))

    op.drop_table('hwtrial_homework_instance')
    op.drop_table('hwtrial_feature_exposure')
    op.drop_table('hwtrial_decision_point')
    with op.batch_alter_table('hwtrial_consent_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hwtrial_consent_record_participant_id'))

    op.drop_table('hwtrial_consent_record')
    op.drop_table('hwtrial_allocation')
    op.drop_table('hwtrial_unblinding_request')
    op.drop_table('hwtrial_study_version')
    op.drop_table('hwtrial_participant')
    op.drop_table('hwtrial_cluster')
    op.drop_table('hwtrial_api_token')
    op.drop_table('hwtrial_allocation_state')
    op.drop_table('hwtrial_allocation_block')
    op.drop_table('hwtrial_user')
    op.drop_table('hwtrial_study')
    with op.batch_alter_table('hwtrial_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hwtrial_outbox_due_at'))

    op.drop_table('hwtrial_outbox')
    op.drop_table('hwtrial_audit_head')
    with op.batch_alter_table('hwtrial_audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hwtrial_audit_entry_study_key'))
        batch_op.drop_index(batch_op.f('ix_hwtrial_audit_entry_action'))

    op.drop_table('hwtrial_audit_entry')
