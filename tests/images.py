"""Real PNG and JPEG files written by hand (no imaging library is installed): small, valid images that browsers
show, for the upload tests. `png_bytes(width, height)`, `jpeg_bytes(width, height)`."""

from __future__ import annotations

import struct
import zlib

_DC_CODES = ["00", "010", "011", "100", "101", "110", "1110", "11110", "111110", "1111110", "11111110", "111111110"]


def png_bytes(width: int = 320, height: int = 240, colour: tuple[int, int, int] = (46, 125, 50)) -> bytes:
    """An RGB PNG: a band of `colour` over a lighter ground."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    light = bytes(min(255, c + 150) for c in colour)
    raw = b"".join(b"\x00" + (bytes(colour) if height // 3 <= y < 2 * height // 3 else light) * width
                   for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def jpeg_bytes(width: int = 320, height: int = 240) -> bytes:
    """A baseline greyscale JPEG of a left-to-right gradient (block averages only: every block a flat tone)."""
    def segment(marker: int, body: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body

    blocks_x, blocks_y = (width + 7) // 8, (height + 7) // 8
    bits, previous = [], 0
    for _by in range(blocks_y):
        for bx in range(blocks_x):
            dc = 8 * (40 + 150 * bx // max(1, blocks_x - 1) - 128)   # a tone from dark to light, level-shifted
            diff, previous = dc - previous, dc
            size = abs(diff).bit_length()
            bits.append(_DC_CODES[size])
            if size:
                bits.append(format(diff if diff > 0 else diff + (1 << size) - 1, f"0{size}b"))
            bits.append("00")  # end of block: the AC table's one code
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)
    data = bytearray()
    for i in range(0, len(stream), 8):
        byte = int(stream[i:i + 8], 2)
        data.append(byte)
        if byte == 0xFF:
            data.append(0x00)  # byte stuffing
    dc_table = bytes([0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]) + bytes(range(12))
    ac_table = bytes([0x10, 0, 1] + [0] * 14) + b"\x00"
    return (b"\xff\xd8"
            + segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
            + segment(0xDB, b"\x00" + b"\x01" * 64)
            + segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
            + segment(0xC4, dc_table) + segment(0xC4, ac_table)
            + segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + bytes(data) + b"\xff\xd9")
