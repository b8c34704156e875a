"""Add actions, meeting details and Fireflies credentials

Revision ID: 6c10f51b45d1
Revises: 6917e8ad90e8
Create Date: 2026-12-04 20:21:39.915753

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6c10f51b45d1'
down_revision = '6917e8ad90e8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fireflies_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('api_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('last_four', sa.String(length=4), nullable=False),
    sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_tested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_test_ok', sa.Boolean(), nullable=True),
    sa.Column('last_test_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_fireflies_credential_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fireflies_credential')),
    sa.UniqueConstraint('user_id', name=op.f('uq_fireflies_credential_user_id'))
    )
    op.create_table('idempotency_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_digest', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_idempotency_record_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_record')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_idempotency_record_user_id'))
    )
    op.create_table('action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('source_url', sa.String(length=2048), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_action_created_by_id_user')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_action_meeting_id_meeting'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], name=op.f('fk_action_workspace_id_workspace')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action'))
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index('ix_action_workspace_id_id', ['workspace_id', 'id'], unique=False)

    op.create_table('transcript_sentence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('speaker', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('start_time', sa.Float(), nullable=True),
    sa.Column('end_time', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_transcript_sentence_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcript_sentence'))
    )
    with op.batch_alter_table('transcript_sentence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcript_sentence_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_action_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_meeting_action_item_action_id_action'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_action_item_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_action_item'))
    )
    with op.batch_alter_table('meeting_action_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_action_item_meeting_id'), ['meeting_id'], unique=False)

    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('duration_minutes', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('participants', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('summary_overview', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('summary_keywords', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('fetch_attempts', sa.Integer(), nullable=False, server_default=sa.text('0')))
        batch_op.add_column(sa.Column('fetch_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fetch_queued_at', sa.DateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('fetch_queued_at')
        batch_op.drop_column('fetched_at')
        batch_op.drop_column('fetch_error')
        batch_op.drop_column('fetch_attempts')
        batch_op.drop_column('summary_keywords')
        batch_op.drop_column('summary_overview')
        batch_op.drop_column('participants')
        batch_op.drop_column('duration_minutes')
        batch_op.drop_column('held_at')

    with op.batch_alter_table('meeting_action_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_action_item_meeting_id'))

    op.drop_table('meeting_action_item')
    with op.batch_alter_table('transcript_sentence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcript_sentence_meeting_id'))

    op.drop_table('transcript_sentence')
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index('ix_action_workspace_id_id')

    op.drop_table('action')
    op.drop_table('idempotency_record')
    op.drop_table('fireflies_credential')
