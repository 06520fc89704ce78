"""What happens to a subsidy claim, announced by subsidies (the owner of its life) to whoever must react.

subsidies imports none of its listeners; they connect in their own package (`<module>/listeners.py`, imported by
the application) and run in the caller's transaction in the order they declare (agri_insurance.announcements).
A listener does its own module's part or refuses with a DomainError, and the caller rolls everything back.
Sender: the claim, locked (its row lock is taken before any of these is sent, except where noted); `actor`.

Who listens is listed in docs/architecture.md; `<announcement>.listeners()` tells at run time. Today underwriting
listens to every one of them: a claim goes nowhere without its per-farmer list (承保清单).
"""

from __future__ import annotations

from agri_insurance.announcements import Announcement

# A draft is about to be edited, submitted or deleted. Sent twice: before the claim's row lock (a listener that
# refuses must not first wait for the lock) and again under it (something may have started in between).
# Listeners refuse while the draft must not change (e.g. a list import for it is running).
draft_changing = Announcement("claim-draft-changing", "a draft is about to change; refuse while it must not")

# A draft's county, product or year is about to change (the new values are not written yet); details: `changes`
# (audit.changes of the edit). Collected: listeners return notices for the user (lazy strings) of what they
# dropped with the old scope ("the list was deleted, upload it again").
claim_scope_changing = Announcement("claim-scope-changing", "a draft's county, product or year is about to change")

# A draft is about to be submitted: its shares are set as the scheme in force says; the status is not changed
# yet. Listeners check what must go with a submitted claim and refuse otherwise.
claim_submitting = Announcement("claim-submitting", "draft → submitted, before the change; refuse to stop it")

# A submitted claim is about to be verified (after the status and county checks, before the budget checks);
# details: `reviewed` (the verifier confirmed having looked at what the checks flagged). Collected: listeners
# return (key, value) pairs recorded in the verification's audit entry.
claim_verifying = Announcement("claim-verifying", "submitted → verified, before the change; refuse to stop it")

# A draft is about to be deleted (it still exists): listeners delete what they hold on it.
draft_deleting = Announcement("claim-draft-deleting", "a draft is about to be deleted")

# Collected, not reacted to: what other modules offer on a claim (a list of agri_insurance.actions.Action,
# keyword `user`) and show on its pages (a list of agri_insurance.actions.PagePart, keywords `user` and `page`:
# "detail" for the claim's page, "form" for its edit form).
claim_actions = Announcement("claim-actions", "the actions other modules offer on a claim to `user`")
claim_page_parts = Announcement("claim-page-parts", "what other modules show on a claim's pages to `user`")

# Collected: what other modules offer on the claims list (sender: None; keyword `user`), a list of
# agri_insurance.actions.Action (underwriting: a new claim from an underwriting list, its totals taken from it).
claim_list_actions = Announcement("claim-list-actions", "the actions other modules offer on the claims list")
