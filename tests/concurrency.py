"""Two users at once: run a service call in a thread of its own (own app context, own session)."""

from __future__ import annotations

import threading

from agri_insurance.errors import DomainError
from agri_insurance.extensions import db


def in_thread(app, work, outcome: dict, key: str, locked: threading.Event | None = None,
              hold: threading.Event | None = None) -> threading.Thread:
    """Start a thread that runs `work()` and commits; `outcome[key]` becomes "done" or the DomainError's message.
    With `locked` and `hold`: after `work()` it sets `locked` and waits for `hold` before committing, so its
    transaction keeps its locks while the test starts a second user."""

    def run() -> None:
        with app.app_context():
            try:
                work()
                if locked is not None:
                    locked.set()
                    hold.wait(timeout=10)
                db.session.commit()
                outcome[key] = "done"
            except DomainError as e:
                db.session.rollback()
                outcome[key] = e.message
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def second_waits_for_first(app, first, second, outcome: dict) -> None:
    """`first` runs and holds its transaction open; `second` must wait for it (a lock), then both finish."""
    locked, hold = threading.Event(), threading.Event()
    one = in_thread(app, first, outcome, "first", locked, hold)
    assert locked.wait(timeout=10)
    two = in_thread(app, second, outcome, "second")
    two.join(timeout=1.0)
    assert two.is_alive(), "the second user did not wait for the first one's lock"
    hold.set()
    one.join(timeout=10)
    two.join(timeout=10)
