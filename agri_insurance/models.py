"""Imports every module's models so SQLAlchemy and Alembic see the whole schema."""

from agri_insurance.allocation.models import AllocationRun  # noqa: F401
from agri_insurance.annual_review.models import (  # noqa: F401
    AnnualReview,
    Complaint,
    ReviewIndicator,
    ReviewResult,
    ReviewScore,
)
from agri_insurance.api.models import IdempotencyKey  # noqa: F401
from agri_insurance.audit.models import AuditEntry  # noqa: F401
from agri_insurance.auth.models import (
    ApiToken,  # noqa: F401
    User,  # noqa: F401
)
from agri_insurance.awards.models import (  # noqa: F401
    Award,
    AwardChange,
    BackupUnderwriter,
    Holiday,
    Objection,
    PublicNotice,
)
from agri_insurance.bids.models import Bid, BidOpening, BidReceipt  # noqa: F401
from agri_insurance.evaluation.models import (  # noqa: F401
    ConflictDeclaration,
    Criterion,
    EligibilityCheck,
    EvaluationPanel,
    ExpertScore,
    PanelMember,
    ScoringScheme,
)
from agri_insurance.jobs.models import Job  # noqa: F401
from agri_insurance.payouts.models import (  # noqa: F401
    PayoutFlag,
    PayoutList,
    PayoutNotice,
    PayoutNoticePhoto,
    PayoutRow,
)
from agri_insurance.reference.models import Insurer, Product, Region, SubsidyScheme  # noqa: F401
from agri_insurance.storage import StoredFile  # noqa: F401
from agri_insurance.subsidies.models import (  # noqa: F401
    Budget,
    ClaimShare,
    Payment,
    SubsidyClaim,
    UnderwritingAssignment,
)
from agri_insurance.tenders.models import CountyException, Lot, SelectionRound  # noqa: F401
from agri_insurance.underwriting.models import (  # noqa: F401
    UnderwritingFlag,
    UnderwritingList,
    UnderwritingRow,
)
