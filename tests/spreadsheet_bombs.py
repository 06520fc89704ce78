"""Hostile xlsx files for tests, small on disk and in memory: they are written as a stream, so a file that would
inflate to hundreds of megabytes never exists unpacked (CI's memory)."""

from __future__ import annotations

import io
import struct
import zipfile

from openpyxl import Workbook, load_workbook

_CHUNK = b" " * (1 << 20)


def inflating_to(data: bytes, megabytes: int) -> bytes:
    """The workbook `data` with its first sheet padded (whitespace before </sheetData>, still valid XML) so that
    the archive inflates to more than `megabytes` MB: a zip bomb that readers would really read."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, body)
                continue
            head, tail = body.split(b"</sheetData>", 1) if b"</sheetData>" in body else body.split(b"<sheetData/>")
            with target.open(info.filename, "w") as member:
                member.write(head.replace(b"<sheetData/>", b"<sheetData>"))
                for _ in range(megabytes + 1):
                    member.write(_CHUNK)
                member.write(b"</sheetData>" + tail)
    return out.getvalue()


def declaring_less(data: bytes, member_name: str = "xl/worksheets/sheet1.xml") -> bytes:
    """`data` with `member_name`'s uncompressed size understated as 1 KB in the local header and the central
    directory: the archive lies about what it inflates to."""
    raw = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member_name)
    struct.pack_into("<I", raw, info.header_offset + 22, 1024)
    start = raw.find(b"PK\x01\x02")
    while start != -1:
        name_length = struct.unpack_from("<H", raw, start + 28)[0]
        if raw[start + 46:start + 46 + name_length].decode() == member_name:
            struct.pack_into("<I", raw, start + 24, 1024)
        start = raw.find(b"PK\x01\x02", start + 4)
    return bytes(raw)


def with_far_cell(data: bytes, sheet: str | None, row: int, column: int, value=" ") -> bytes:
    """`data` with one more cell at (`row`, `column`) of `sheet` (the first one when None): a sheet that is
    small on disk but as long or wide as that cell is far."""
    wb = load_workbook(io.BytesIO(data))
    ws = wb[sheet] if sheet else wb.worksheets[0]
    ws.cell(row=row, column=column, value=value)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def small_workbook() -> bytes:
    wb = Workbook()
    wb.active.append(["a", "b"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def replacing(data: bytes, old: bytes, new: bytes, member_name: str = "xl/worksheets/sheet1.xml") -> bytes:
    """`data` with `old` replaced by `new` in the XML of `member_name` (a sheet declaring another dimension)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == member_name:
                assert old in body, body[:300]
                body = body.replace(old, new)
            target.writestr(info.filename, body)
    return out.getvalue()
