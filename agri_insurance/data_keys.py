"""Personal data at rest (issue 26, GB/T 22239-2019 level 3, 个人信息保护法): ID numbers and bank accounts are stored
encrypted (AES-256-GCM, authenticated), with a keyed hash (HMAC-SHA256) of the ID number beside them for matching.

The keys live outside the database (config.py: DATA_KEY or DATA_KEY_FILE), as a key set:

    hash:BASE64      the HMAC key of the matching column; never rotated (the hashes would all change)
    k2:BASE64        the current encryption key (the first `k…` entry is the one new values are written with)
    k1:BASE64        an older key, kept until `flask rotate-data-key` has re-encrypted every row written with it

A stored value is `k2$` + base64(nonce ‖ ciphertext ‖ tag): the key id says which key opens it, so a rotation can go
row by row. A value that does not open (wrong key, altered row) raises `DataKeyError`: never a silent empty field.
Matching (duplicates, double insurance, payouts to policies, the household limit) compares `id_hash` only.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import threading
import weakref
from functools import lru_cache

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

HASH_ID = "hash"


class DataKeyError(RuntimeError):
    """A key set that cannot be used, or a stored value that its key does not open."""


def generate_key_set() -> str:
    """A fresh key set in the file format (one `id:base64` a line)."""
    return (f"{HASH_ID}:{base64.b64encode(secrets.token_bytes(32)).decode()}\n"
            f"k1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n")


def new_key_line(existing: str) -> str:
    """The next key id for a rotation: k<n+1> after the highest k<n> of the set."""
    numbers = [int(kid[1:]) for kid in parse_key_set(existing).keys if kid[1:].isdigit()]
    return f"k{max(numbers, default=0) + 1}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


_NONCES_AT_ONCE = 4096
_KEY_SETS: weakref.WeakSet = weakref.WeakSet()


class KeySet:
    def __init__(self, current: str, keys: dict[str, bytes], hash_key: bytes) -> None:
        self.current = current
        self.keys = keys
        self.hash_key = hash_key
        self.aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self._nonce_lock = threading.Lock()
        self._forget_nonces()
        _KEY_SETS.add(self)

    def _forget_nonces(self) -> None:
        self._nonces, self._next_nonce = b"", 0

    def _nonce(self) -> bytes:
        """12 random bytes for one seal, never handed out twice: the OS's random bytes drawn for 4,096 nonces at
        once (a system call per seal was a tenth of a list import's sealing), taken under a lock (threads share the
        key set), and forgotten in a forked process (a worker forked from a process must not repeat its nonces)."""
        with self._nonce_lock:
            at = self._next_nonce
            if at >= len(self._nonces):
                self._nonces, at = os.urandom(12 * _NONCES_AT_ONCE), 0
            self._next_nonce = at + 12
            return self._nonces[at:at + 12]

    def encrypt(self, value: str | None, field: bytes = b"pd") -> str | None:
        if value is None:
            return None
        nonce = self._nonce()
        sealed = self.aead[self.current].encrypt(nonce, value.encode(), field)
        return f"{self.current}${base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str | None, field: bytes = b"pd") -> str | None:
        if stored is None:
            return None
        kid, sep, body = stored.partition("$")
        if not sep:
            raise DataKeyError(f"stored personal data is not encrypted (no key id): {stored[:4]}…")
        aead = self.aead.get(kid)
        if aead is None:
            raise DataKeyError(f"stored personal data written with key {kid!r}, which the key set lacks")
        raw = base64.b64decode(body)
        try:
            return aead.decrypt(raw[:12], raw[12:], field).decode()
        except InvalidTag:
            raise DataKeyError(f"stored personal data does not open with key {kid!r} (wrong key or altered row)") \
                from None

    def hash(self, value: str | None) -> str | None:
        if value is None:
            return None
        # the one-shot HMAC (OpenSSL's, no Python HMAC object per call): the same digest as
        # hmac.new(…).hexdigest(), in about two thirds of the time (a list import hashes every row)
        return hmac.digest(self.hash_key, value.encode(), "sha256").hex()


def _forget_nonces_after_fork() -> None:
    for keyset in list(_KEY_SETS):
        keyset._nonce_lock = threading.Lock()  # a lock held by another thread at the fork stays held in the child
        keyset._forget_nonces()


os.register_at_fork(after_in_child=_forget_nonces_after_fork)


def parse_key_set(text: str) -> KeySet:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    # comments are whole lines (dropped before commas separate entries: a comment may hold a comma)
    lines = [line for line in text.splitlines() if not line.strip().startswith("#")]
    for part in "\n".join(lines).replace(",", "\n").splitlines():
        part = part.strip()
        if not part:
            continue
        kid, sep, encoded = part.partition(":")
        kid = kid.strip()
        if not sep or not kid or "$" in kid:
            raise DataKeyError("a data key entry is `id:base64` (e.g. k1:…)")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except ValueError:
            raise DataKeyError(f"data key {kid!r} is not base64") from None
        if len(key) != 32:
            raise DataKeyError(f"data key {kid!r} must be 32 bytes (AES-256), is {len(key)}")
        keys[kid] = key
        order.append(kid)
    hash_key = keys.pop(HASH_ID, None)
    current = next((kid for kid in order if kid != HASH_ID), None)
    if hash_key is None or current is None:
        raise DataKeyError("the data key set needs a `hash:` entry and at least one encryption key (k1:…)")
    return KeySet(current, keys, hash_key)


@lru_cache(maxsize=8)
def _cached(text: str) -> KeySet:
    return parse_key_set(text)


def keys() -> KeySet:
    """The application's key set (config DATA_KEYS, read from outside the database at start)."""
    return _cached(current_app.config["DATA_KEYS"])


class Encrypted(sa.types.TypeDecorator):
    """A text column stored encrypted: written and read through the ORM/Core in clear, in the database sealed.
    Bulk loads (COPY) seal with `keys().encrypt` themselves; compare rows with the hash column, never this one."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return keys().encrypt(value)

    def process_result_value(self, value, dialect):
        return keys().decrypt(value)


# --- rotation --------------------------------------------------------------------------------------------------

SEALED_TABLES = ("underwriting_rows", "payout_rows")  # the tables whose id_number and bank_account are sealed


def _raw_table(name: str) -> sa.TableClause:
    """The table with its sealed columns as plain text (no Encrypted type: rotation moves the sealed text)."""
    return sa.table(name, sa.column("list_id", sa.Integer), sa.column("row_no", sa.Integer),
                    sa.column("id_number", sa.String), sa.column("bank_account", sa.String))


def rotate(session, batch: int = 5000, progress=None) -> int:
    """Re-seal every value not yet under the current key with it, `batch` rows a transaction (committed one by
    one, so an interrupted rotation resumes where it stopped: it looks for rows still under an older key).
    Returns how many rows were re-sealed. A value no key of the set opens stops it with `DataKeyError`."""
    keyset = keys()
    prefix = f"{keyset.current}$%"
    done = 0
    for name in SEALED_TABLES:
        t = _raw_table(name)
        stale = sa.or_(t.c.id_number.not_like(prefix),
                       sa.and_(t.c.bank_account.is_not(None), t.c.bank_account.not_like(prefix)))
        while True:
            rows = session.execute(sa.select(t.c.list_id, t.c.row_no, t.c.id_number, t.c.bank_account)
                                   .where(stale).order_by(t.c.list_id, t.c.row_no).limit(batch)).all()
            if not rows:
                break
            session.execute(
                sa.update(t).where(t.c.list_id == sa.bindparam("l"), t.c.row_no == sa.bindparam("r"))
                .values(id_number=sa.bindparam("i"), bank_account=sa.bindparam("b")),
                [{"l": r.list_id, "r": r.row_no, "i": keyset.encrypt(keyset.decrypt(r.id_number)),
                  "b": keyset.encrypt(keyset.decrypt(r.bank_account))} for r in rows])
            session.commit()
            done += len(rows)
            if progress:
                progress(name, done)
    return done
