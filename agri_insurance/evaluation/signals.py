"""What the evaluation pages let other modules add (agri_insurance.announcements). evaluation imports none of its
listeners; they connect in their own package and are listed in docs/architecture.md."""

from __future__ import annotations

from agri_insurance.announcements import Announcement

panel_page_parts = Announcement(
    "panel-page-parts", "what other modules show on a round's evaluation page to `user`; details: bids (opened)")
