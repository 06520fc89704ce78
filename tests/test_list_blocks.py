"""Reading a list file in blocks, in forked processes (list_files.in_blocks): the results come in the file's
order whatever process worked them, a process that fails or dies stops the import in words a log can use, and no
reading process outlives the import."""

from __future__ import annotations

import os

import pytest

from agri_insurance import list_files
from agri_insurance.list_files import ListRows, in_blocks, reading_processes


def _sheet(count: int) -> ListRows:
    rows = ((n, [f"农户{n}", n]) for n in range(2, count + 2))
    return ListRows(1, ["姓名", "n"], rows, in_memory=True, size_hint=count)


def _work(block):
    return os.getpid(), [cells[1] for _row, cells in block]


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_blocks_come_back_in_the_files_order(monkeypatch, processes):
    monkeypatch.setattr(list_files, "BLOCK_ROWS", 7)
    parts = in_blocks(_sheet(100), _work, processes)
    try:
        results = list(parts)
    finally:
        parts.close()
    assert [n for _pid, numbers in results for n in numbers] == list(range(2, 102))
    assert [len(numbers) for _pid, numbers in results] == [7] * 14 + [2]
    pids = {pid for pid, _numbers in results}
    if processes == 1:
        assert pids == {os.getpid()}
    else:   # round robin: block i in process i mod n, none of them this one
        assert len(pids) == processes and os.getpid() not in pids
        assert results[0][0] == results[processes][0] != results[1][0]
    assert parts.children == []


def test_an_empty_sheet_gives_no_blocks():
    parts = in_blocks(_sheet(0), _work, 2)
    try:
        assert list(parts) == []
    finally:
        parts.close()


def _fails_at_row_30(block):
    if any(row == 30 for row, _cells in block):
        raise ValueError("第30行无法处理")
    return len(block)


def test_a_failure_in_a_reading_process_is_raised_with_its_traceback(monkeypatch):
    monkeypatch.setattr(list_files, "BLOCK_ROWS", 10)
    parts = in_blocks(_sheet(100), _fails_at_row_30, 2)
    children = list(parts.children)
    received = []
    with pytest.raises(RuntimeError, match="list reading process 0 failed") as raised:
        try:
            for n in parts:
                received.append(n)
        finally:
            parts.close()
    assert "ValueError: 第30行无法处理" in str(raised.value)
    assert received == [10, 10]        # the blocks before the failing one (rows 2–21), then the failure
    assert not any(child.is_alive() for child in children)


def _dies_at_row_50(block):
    if any(row == 50 for row, _cells in block):
        os._exit(3)   # a reading process killed (out of memory, a signal): no word from it
    return len(block)


def test_a_reading_process_that_dies_stops_the_import():
    parts = in_blocks(_sheet(100), _dies_at_row_50, 2)
    with pytest.raises(RuntimeError, match=r"ended without finishing \(exit code 3\)"):
        try:
            list(parts)
        finally:
            parts.close()


def test_closing_early_ends_the_reading_processes(monkeypatch):
    monkeypatch.setattr(list_files, "BLOCK_ROWS", 1)
    parts = in_blocks(_sheet(10_000), _work, 2)   # far more than a pipe holds: the processes wait to send
    children = list(parts.children)
    next(iter(parts))
    parts.close()
    assert all(child.exitcode is not None for child in children)
    assert not any(child.is_alive() for child in children)


def test_which_files_are_read_in_parallel(app):
    with app.app_context():
        app.config.update(LIST_IMPORT_PROCESSES=3, LIST_IMPORT_PARALLEL_ROWS=1000)
        try:
            assert reading_processes(_sheet(1000)) == 3
            assert reading_processes(_sheet(999)) == 1                      # small: read before processes start
            csv_rows = ListRows(1, [], iter(()), in_memory=False, size_hint=None)
            assert reading_processes(csv_rows) == 1                         # one file handle: one reader
            app.config["LIST_IMPORT_PROCESSES"] = 0
            assert reading_processes(_sheet(5000)) == min(os.cpu_count() or 1, 4)
        finally:
            app.config.update(LIST_IMPORT_PROCESSES=2, LIST_IMPORT_PARALLEL_ROWS=0)


def test_a_reading_process_ends_on_sigterm_whatever_the_parent_does_with_it(monkeypatch):
    """A gunicorn worker catches SIGTERM to finish its request: a reading process forked from it must not inherit
    that, or `close` would wait for it and then kill it."""
    import signal

    monkeypatch.setattr(list_files, "BLOCK_ROWS", 1)
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        parts = in_blocks(_sheet(10_000), _work, 2)
        children = list(parts.children)
        next(iter(parts))
        parts.close()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert [child.exitcode for child in children] == [-signal.SIGTERM, -signal.SIGTERM]
