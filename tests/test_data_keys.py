"""Personal data at rest (issue 26): ID numbers and bank accounts sealed in the database, matching on the keyed
hash, rotation to a new key, and a wrong key failing loudly."""

import base64

import pytest
import sqlalchemy as sa

from agri_insurance import data_keys
from agri_insurance.config import TEST_DATA_KEYS, Config
from agri_insurance.data_keys import DataKeyError, parse_key_set
from agri_insurance.payouts.models import PayoutRow
from agri_insurance.underwriting.models import UnderwritingFlag, UnderwritingRow
from tests.payouts.factories import import_file, insured, payout, write_csv
from tests.payouts.test_service import kinds
from tests.underwriting.test_import import _flagged_across_insurers

NEW_KEY = "k2:" + base64.b64encode(b"another-test-key-0000000000000000"[:32]).decode()
OTHER_K1 = "k1:" + base64.b64encode(b"not-the-key-the-rows-were-sealed"[:32]).decode()
HASH_LINE = TEST_DATA_KEYS.splitlines()[0]


@pytest.fixture
def world(demo, db):
    from tests.subsidies.factories import assign
    assign()
    db.session.commit()
    return db


@pytest.fixture
def small_list():
    from tests.underwriting.factories import rows
    return rows(40)


def raw(db, table: str):
    return db.session.execute(sa.text(f"SELECT id_number, id_hash, bank_account FROM {table}")).all()


def test_a_raw_read_shows_no_id_number_and_duplicates_are_still_flagged(world, db, tmp_path, small_list):
    data = [list(r) for r in small_list]
    data[0][10] = "6228480012345678"
    _flagged_across_insurers(db, tmp_path, data)   # asserts the in-list and other-insurer duplicate flags
    stored = raw(db, "underwriting_rows")
    text = repr(stored)
    assert stored and all(row[0].startswith("k1$") for row in stored)
    assert not any(person[1] in text for person in small_list)
    assert "6228480012345678" not in text and "345678" not in text
    # the application reads them back in clear; masked display works on what it reads
    assert {r.id_number for r in db.session.scalars(sa.select(UnderwritingRow))} >= {p[1] for p in data[:10] + data[11:]}
    assert "6228480012345678" in set(db.session.scalars(sa.select(UnderwritingRow.bank_account)))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnderwritingFlag)) >= 4


def test_payouts_are_matched_and_flagged_on_the_hash_and_stored_sealed(world, db, tmp_path):
    farmers = insured(tmp_path, count=3)
    data = [payout(farmers[0], 10, 1), payout(farmers[1], 10, 1), payout(farmers[2], 10, 1),
            payout(farmers[2], 12, 1)]
    lst = import_file(write_csv(tmp_path / "p.csv", data))
    assert kinds(db, lst) == {5: {"paid_twice"}}
    assert db.session.scalar(sa.select(sa.func.count()).where(PayoutRow.list_id == lst.id,
                                                              PayoutRow.uw_list_id.is_not(None))) == 4
    text = repr(raw(db, "payout_rows"))
    assert "k1$" in text and "6222021234567890123" not in text
    assert not any(farmer[1] in text for farmer in farmers)


def test_rotation_reseals_every_row_and_old_data_still_reads(world, app, db, tmp_path, small_list, monkeypatch):
    _flagged_across_insurers(db, tmp_path, small_list)
    before = sorted(r.id_number for r in db.session.scalars(sa.select(UnderwritingRow)))
    hashes = sorted(row[1] for row in raw(db, "underwriting_rows"))
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{HASH_LINE}\n{NEW_KEY}\n{TEST_DATA_KEYS.splitlines()[1]}\n")
    assert data_keys.rotate(db.session, batch=7) == len(before)
    assert all(row[0].startswith("k2$") for row in raw(db, "underwriting_rows"))
    assert data_keys.rotate(db.session) == 0            # resumable: nothing left under the old key
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{HASH_LINE}\n{NEW_KEY}\n")   # the old key retired
    db.session.expire_all()
    assert sorted(r.id_number for r in db.session.scalars(sa.select(UnderwritingRow))) == before
    assert sorted(row[1] for row in raw(db, "underwriting_rows")) == hashes   # the matching column is unchanged


def test_a_wrong_key_fails_loudly(world, app, db, tmp_path, small_list, monkeypatch):
    _flagged_across_insurers(db, tmp_path, small_list)
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{HASH_LINE}\n{OTHER_K1}\n")
    db.session.expire_all()
    with pytest.raises(DataKeyError, match="does not open"):
        db.session.scalars(sa.select(UnderwritingRow)).all()
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{HASH_LINE}\n{NEW_KEY}\n")
    with pytest.raises(DataKeyError, match="lacks"):
        db.session.scalars(sa.select(UnderwritingRow)).all()
    db.session.rollback()


def test_a_tampered_value_does_not_open():
    keys = parse_key_set(TEST_DATA_KEYS)
    sealed = keys.encrypt("36112819800101123X")
    assert keys.decrypt(sealed) == "36112819800101123X"
    body = bytearray(base64.b64decode(sealed[3:]))
    body[-1] ^= 1
    with pytest.raises(DataKeyError):
        keys.decrypt("k1$" + base64.b64encode(bytes(body)).decode())
    assert keys.encrypt("x") != keys.encrypt("x")           # a fresh nonce each time
    assert keys.hash("36112819800101123X") == keys.hash("36112819800101123X")


def _nonce(sealed: str) -> bytes:
    return base64.b64decode(sealed.partition("$")[2])[:12]


def test_no_nonce_is_used_twice_across_blocks_threads_and_a_forked_process():
    """Nonces are drawn from the OS a block at a time: every seal still gets its own (past a block's end, from
    four threads at once), each seal opens, the hash is HMAC-SHA256 as before, and a forked process (an RQ worker)
    does not repeat the nonces its parent is about to use."""
    import hashlib
    import hmac
    import os
    import threading

    keys = parse_key_set(TEST_DATA_KEYS)
    seen: list[bytes] = []

    def seal_many():
        seen.extend(_nonce(keys.encrypt(f"{n}")) for n in range(3000))

    threads = [threading.Thread(target=seal_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == len(set(seen)) == 12_000 > data_keys._NONCES_AT_ONCE
    assert keys.decrypt(keys.encrypt("36112819800101123X")) == "36112819800101123X"
    assert keys.hash("36112819800101123X") == hmac.new(keys.hash_key, b"36112819800101123X",
                                                       hashlib.sha256).hexdigest()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next nonce, to the parent
        os.write(write, _nonce(keys.encrypt("x")))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 12)
    assert len(child) == 12 and child != _nonce(keys.encrypt("x"))


@pytest.mark.parametrize("text", ["k1:abc", "k1:" + base64.b64encode(b"short").decode(), NEW_KEY])
def test_a_malformed_or_incomplete_key_set_is_refused(text):
    with pytest.raises(DataKeyError):
        parse_key_set(text)


def test_production_refuses_to_start_without_a_data_key(monkeypatch, tmp_path):
    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.delenv("DATA_KEY_FILE", raising=False)
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("PREFERRED_URL_SCHEME", "https")
    with pytest.raises(RuntimeError, match="DATA_KEY"):
        Config()
    key_file = tmp_path / "data_key"
    key_file.write_text(TEST_DATA_KEYS)
    monkeypatch.setenv("DATA_KEY_FILE", str(key_file))
    assert Config().DATA_KEYS == TEST_DATA_KEYS


def test_the_commands_print_a_next_key_and_rotate_in_batches(world, app, db, tmp_path, small_list, monkeypatch):
    _flagged_across_insurers(db, tmp_path, small_list)
    runner = app.test_cli_runner()
    line = runner.invoke(args=["new-data-key"]).output.strip()
    assert line.startswith("k2:")
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{HASH_LINE}\n{line}\n{TEST_DATA_KEYS.splitlines()[1]}\n")
    result = runner.invoke(args=["rotate-data-key", "--batch", "10"])
    assert result.exit_code == 0 and f"{len(small_list) + 6} rows re-encrypted with key k2" in result.output
    monkeypatch.setitem(app.config, "DATA_KEYS", f"{HASH_LINE}\n{OTHER_K1}\n")   # a key set that opens nothing
    result = runner.invoke(args=["rotate-data-key"])
    assert result.exit_code != 0 and "k2" in result.output                     # refused in words, nothing written


def test_the_development_key_set_config_writes_is_read_back_and_kept(monkeypatch, tmp_path):
    """`make run` without a key: config writes a development key set once (its comment line holds a comma) and
    reads the same one at every start."""
    from agri_insurance import config

    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.delenv("DATA_KEY_FILE", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    text = config._data_keys(production=False)
    assert (tmp_path / "data_key").read_text().startswith("# DEVELOPMENT")
    keys = parse_key_set(text)
    assert keys.decrypt(keys.encrypt("36112819800101123X")) == "36112819800101123X"
    assert config._data_keys(production=False) == text


def test_processes_starting_at_once_all_read_the_one_key_set_written(tmp_path):
    """gunicorn's workers and an RQ worker may start together on a fresh instance directory: each must read the
    same complete file, none an error or a half-written one."""
    from concurrent.futures import ThreadPoolExecutor

    from agri_insurance.config import _written_once

    path = tmp_path / "data_key"
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(lambda i: _written_once(path, f"key set {i}\n" * 1000), range(32)))
    assert len(set(texts)) == 1 and texts[0] == path.read_text() and texts[0].count("\n") == 1000
    assert [p.name for p in tmp_path.iterdir()] == ["data_key"]      # no drafts left behind
