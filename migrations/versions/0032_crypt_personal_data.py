"""personal data at rest: ID numbers and bank accounts sealed (AES-GCM), a keyed hash of the ID number for matching

Revision ID: 0032_crypt_personal_data
Revises: 0031_payouts_notice
Create Date: 2026-12-05 02:30:00

underwriting_rows and payout_rows get `id_hash` (HMAC-SHA256 of the ID number, agri_insurance/data_keys.py); their
`id_number` and `bank_account` widen to hold the sealed text. Existing rows are converted here, in batches, with
the key set of the application running the upgrade (DATA_KEY / DATA_KEY_FILE: set it before `flask db upgrade`).
The person index moves from the ID number to its hash. Downgrade opens the rows again with the same key set.
"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

from agri_insurance.data_keys import parse_key_set

# revision identifiers, used by Alembic.
revision = '0032_crypt_personal_data'
down_revision = '0031_payouts_notice'
branch_labels = None
depends_on = None

TABLES = ('underwriting_rows', 'payout_rows')
BATCH = 5000


def _table(name):
    return sa.table(name, sa.column('list_id', sa.Integer), sa.column('row_no', sa.Integer),
                    sa.column('id_number', sa.String), sa.column('id_hash', sa.String),
                    sa.column('bank_account', sa.String))


def _convert(name, keys, seal):
    """Rewrite every row, a batch at a time (keyset pagination on the primary key)."""
    t = _table(name)
    bind = op.get_bind()
    last = (-1, -1)
    while True:
        rows = bind.execute(
            sa.select(t.c.list_id, t.c.row_no, t.c.id_number, t.c.bank_account)
            .where(sa.tuple_(t.c.list_id, t.c.row_no) > sa.tuple_(*last))
            .order_by(t.c.list_id, t.c.row_no).limit(BATCH)).all()
        if not rows:
            return
        where = (t.c.list_id == sa.bindparam('l'), t.c.row_no == sa.bindparam('r'))
        if seal:
            bind.execute(sa.update(t).where(*where).values(
                id_number=sa.bindparam('i'), id_hash=sa.bindparam('h'), bank_account=sa.bindparam('b')),
                [{'l': r.list_id, 'r': r.row_no, 'i': keys.encrypt(r.id_number), 'h': keys.hash(r.id_number),
                  'b': keys.encrypt(r.bank_account)} for r in rows])
        else:  # the hash column is dropped after
            bind.execute(sa.update(t).where(*where).values(
                id_number=sa.bindparam('i'), bank_account=sa.bindparam('b')),
                [{'l': r.list_id, 'r': r.row_no, 'i': keys.decrypt(r.id_number),
                  'b': keys.decrypt(r.bank_account)} for r in rows])
        last = (rows[-1].list_id, rows[-1].row_no)


def upgrade():
    keys = parse_key_set(current_app.config['DATA_KEYS'])
    with op.batch_alter_table('underwriting_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_underwriting_rows_person')
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column('id_hash', sa.String(length=64), nullable=True))
            batch_op.alter_column('id_number', existing_type=sa.String(length=18), type_=sa.String(length=120),
                                  existing_nullable=False)
            batch_op.alter_column('bank_account', existing_type=sa.String(length=32), type_=sa.String(length=120),
                                  existing_nullable=True)
        _convert(name, keys, seal=True)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column('id_hash', existing_type=sa.String(length=64), nullable=False)
    with op.batch_alter_table('underwriting_rows', schema=None) as batch_op:
        batch_op.create_index('ix_underwriting_rows_person', ['product_id', 'year', 'id_hash', 'list_id'],
                              unique=False)


def downgrade():
    keys = parse_key_set(current_app.config['DATA_KEYS'])
    with op.batch_alter_table('underwriting_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_underwriting_rows_person')
    for name in TABLES:
        _convert(name, keys, seal=False)
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column('id_hash')
            batch_op.alter_column('id_number', existing_type=sa.String(length=120), type_=sa.String(length=18),
                                  existing_nullable=False)
            batch_op.alter_column('bank_account', existing_type=sa.String(length=120), type_=sa.String(length=32),
                                  existing_nullable=True)
    with op.batch_alter_table('underwriting_rows', schema=None) as batch_op:
        batch_op.create_index('ix_underwriting_rows_person', ['product_id', 'year', 'id_number', 'list_id'],
                              unique=False)
