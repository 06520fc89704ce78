"""What happens to an underwriting list, announced by underwriting (which owns it) to whoever must react.

underwriting imports none of its listeners (agri_insurance.announcements): they connect in their own package and
run in the caller's transaction, in the order they declare. Who listens is listed in docs/architecture.md.
"""

from __future__ import annotations

from agri_insurance.announcements import Announcement

# A stored list is about to be deleted (replaced by a new file, its claim deleted or moved to another scope).
# Sender: the list, its rows still there; `actor`. Listeners drop what refers to its rows (no foreign key holds
# those references: a key checked on each of a million rows stored costs more than this one statement).
list_removing = Announcement("underwriting-list-removing", "a stored list is about to be deleted")
