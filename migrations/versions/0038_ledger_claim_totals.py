"""subsidies: each claim keeps its government shares' amount and paid summed (gov_due, gov_paid), kept by the
database itself, so a year's ledger totals are a sum over its claims instead of a join with every share

Revision ID: 0038_ledger_claim_totals
Revises: 0037_volume3_owing_cover
Create Date: 2026-12-05 05:40:00

At ten years' data the ledger's totals summed some 40,000 government shares of one year out of 150,000, a scan of
claim_shares joined to the year's claims on every request (45-55 ms of SQL, the one page left above 150 ms p95).
The sums are kept by triggers on claim_shares rather than by the code that pays: a share's `paid` changes in four
places (a payment, an advance drawn, a settlement's two transfers) and its rows are written by COPY in the
benchmark, and a trigger cannot be forgotten by the next one. Filled here from the shares as they are.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0038_ledger_claim_totals'
down_revision = '0037_volume3_owing_cover'
branch_labels = None
depends_on = None

GOVERNMENT = "('central', 'provincial', 'city', 'county')"


def _postgresql() -> None:
    op.execute(f"""
CREATE FUNCTION claim_shares_keep_government_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.level IN {GOVERNMENT} THEN
        UPDATE subsidy_claims SET gov_due = gov_due - OLD.amount, gov_paid = gov_paid - OLD.paid
         WHERE id = OLD.claim_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.level IN {GOVERNMENT} THEN
        UPDATE subsidy_claims SET gov_due = gov_due + NEW.amount, gov_paid = gov_paid + NEW.paid
         WHERE id = NEW.claim_id;
    END IF;
    RETURN NULL;
END $$""")
    op.execute("""
CREATE TRIGGER claim_shares_government_totals
AFTER INSERT OR DELETE OR UPDATE OF claim_id, level, amount, paid ON claim_shares
FOR EACH ROW EXECUTE FUNCTION claim_shares_keep_government_totals()""")


def _sqlite() -> None:
    add = "UPDATE subsidy_claims SET gov_due = gov_due + NEW.amount, gov_paid = gov_paid + NEW.paid WHERE id = NEW.claim_id"
    take = "UPDATE subsidy_claims SET gov_due = gov_due - OLD.amount, gov_paid = gov_paid - OLD.paid WHERE id = OLD.claim_id"
    op.execute(f"CREATE TRIGGER claim_shares_government_totals_insert AFTER INSERT ON claim_shares "
               f"WHEN NEW.level IN {GOVERNMENT} BEGIN {add}; END")
    op.execute(f"CREATE TRIGGER claim_shares_government_totals_delete AFTER DELETE ON claim_shares "
               f"WHEN OLD.level IN {GOVERNMENT} BEGIN {take}; END")
    op.execute(f"CREATE TRIGGER claim_shares_government_totals_update_old AFTER UPDATE OF claim_id, level, amount, paid "
               f"ON claim_shares WHEN OLD.level IN {GOVERNMENT} BEGIN {take}; END")
    op.execute(f"CREATE TRIGGER claim_shares_government_totals_update_new AFTER UPDATE OF claim_id, level, amount, paid "
               f"ON claim_shares WHEN NEW.level IN {GOVERNMENT} BEGIN {add}; END")


def upgrade():
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gov_due', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('gov_paid', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False))
    op.execute(f"""
UPDATE subsidy_claims SET
    gov_due = COALESCE((SELECT SUM(s.amount) FROM claim_shares s
                         WHERE s.claim_id = subsidy_claims.id AND s.level IN {GOVERNMENT}), 0),
    gov_paid = COALESCE((SELECT SUM(s.paid) FROM claim_shares s
                          WHERE s.claim_id = subsidy_claims.id AND s.level IN {GOVERNMENT}), 0)""")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite()
    else:
        _postgresql()


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER IF EXISTS claim_shares_government_totals_{name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS claim_shares_government_totals ON claim_shares")
        op.execute("DROP FUNCTION IF EXISTS claim_shares_keep_government_totals()")
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.drop_column('gov_paid')
        batch_op.drop_column('gov_due')
