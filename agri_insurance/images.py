"""Checking that uploaded bytes are really a PNG or JPEG image, without an imaging library (none is installed).

The magic bytes alone say little (a renamed file starts as the name claims only by accident; a truncated upload
still starts right), so the file's structure is walked the way a decoder reads it:

- PNG: the signature, an IHDR chunk first (size, bit depth and colour type a PNG may have), every chunk complete
  with a correct CRC, at least one IDAT, and IEND last; the image data is inflated (streamed, never held) and must
  come to exactly the bytes its size, depth, colour type and interlacing call for.
- JPEG: start of image, then every marker segment complete, a start-of-frame with the size and 1, 3 or 4
  components, a start of scan, the entropy-coded data, and the end of image.

What is not checked: the pixels themselves (a PNG's filters, a JPEG's Huffman codes). A file that passes is a
complete, well-formed image of the stated size a browser shows; the rest would take a decoder.

    info = inspect_image(data)        # NotAnImage(reason) otherwise
    info.kind, info.width, info.height, info.mimetype
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START = b"\xff\xd8"
MAX_PIXELS = 50_000_000  # a 50-megapixel photo; more is refused before its data is inflated
# PNG colour type: (channels, bit depths allowed)
_PNG_COLOUR = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)), 4: (2, (8, 16)), 6: (4, (8, 16))}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
# start-of-frame markers (baseline, extended, progressive, lossless; Huffman or arithmetic): not DHT, JPG, DAC
_JPEG_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


class NotAnImage(ValueError):
    """Refused: `reason` is "not_image" (neither PNG nor JPEG), "damaged" (incomplete or malformed) or "too_large"
    (more pixels than MAX_PIXELS)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    kind: str  # "png" or "jpeg"
    width: int
    height: int

    @property
    def mimetype(self) -> str:
        return f"image/{self.kind}"

    @property
    def suffix(self) -> str:
        return ".png" if self.kind == "png" else ".jpg"


def inspect_image(data: bytes) -> ImageInfo:
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    if data.startswith(JPEG_START):
        return _jpeg(data)
    raise NotAnImage("not_image")


def _damaged(detail: str) -> NotAnImage:
    return NotAnImage("damaged", detail)


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise _damaged("no width or height")
    if width * height > MAX_PIXELS:
        raise NotAnImage("too_large", f"{width}x{height}")


# --- PNG -----------------------------------------------------------------------------------------------

def _png_data_size(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    """Bytes of the filtered image data: per scanline one filter byte and the pixels, per Adam7 pass if
    interlaced."""
    def size(w: int, h: int) -> int:
        return 0 if w == 0 or h == 0 else h * (1 + (w * bits_per_pixel + 7) // 8)

    if not interlaced:
        return size(width, height)
    return sum(size(max(0, (width - x0 + dx - 1) // dx), max(0, (height - y0 + dy - 1) // dy))
               for x0, y0, dx, dy in _ADAM7)


def _png(data: bytes) -> ImageInfo:
    pos = len(PNG_SIGNATURE)
    width = height = expected = 0
    inflater = zlib.decompressobj()
    inflated = 0
    seen_header = seen_data = False
    while True:
        if pos + 12 > len(data):
            raise _damaged("truncated before IEND")
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise _damaged("chunk runs past the end")
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != int.from_bytes(data[pos + 8 + length:end], "big"):
            raise _damaged(f"bad CRC in {kind!r}")
        if not seen_header:
            if kind != b"IHDR" or length != 13:
                raise _damaged("IHDR is not first")
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, colour, compression, filtering, interlace = body[8], body[9], body[10], body[11], body[12]
            channels, depths = _PNG_COLOUR.get(colour, (0, ()))
            if depth not in depths or compression != 0 or filtering != 0 or interlace not in (0, 1):
                raise _damaged("impossible IHDR")
            _check_size(width, height)
            expected = _png_data_size(width, height, depth * channels, interlace == 1)
            seen_header = True
        elif kind == b"IDAT":
            seen_data = True
            inflated += _inflate(inflater, body, expected - inflated)
        elif kind == b"IEND":
            break
        pos = end
    if not seen_data:
        raise _damaged("no IDAT")
    try:
        inflated += len(inflater.flush())
    except zlib.error as e:
        raise _damaged("bad image data") from e
    if not inflater.eof or inflated != expected:
        raise _damaged(f"image data is {inflated} bytes, {expected} expected")
    return ImageInfo("png", width, height)


def _inflate(inflater, chunk: bytes, room: int) -> int:
    """Feed `chunk`; return how many bytes came out (counted, not kept). More than `room`: damaged (or a bomb)."""
    produced = 0
    try:
        while chunk:
            out = inflater.decompress(chunk, 1 << 20)
            produced += len(out)
            if produced > room:
                raise _damaged("more image data than the size calls for")
            chunk = inflater.unconsumed_tail
    except zlib.error as e:
        raise _damaged("bad image data") from e
    return produced


# --- JPEG ----------------------------------------------------------------------------------------------

def _jpeg(data: bytes) -> ImageInfo:
    pos = len(JPEG_START)
    size: tuple[int, int] | None = None
    scanned = False
    while True:
        if pos >= len(data) or data[pos] != 0xFF:
            raise _damaged("expected a marker")
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= len(data):
            raise _damaged("truncated")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # end of image
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart markers, TEM: no length
            continue
        if pos + 2 > len(data):
            raise _damaged("truncated")
        length = int.from_bytes(data[pos:pos + 2], "big")
        if length < 2 or pos + length > len(data):
            raise _damaged("segment runs past the end")
        segment = data[pos + 2:pos + length]
        pos += length
        if marker in _JPEG_SOF:
            if len(segment) < 6:
                raise _damaged("short frame header")
            height, width, components = (int.from_bytes(segment[1:3], "big"), int.from_bytes(segment[3:5], "big"),
                                         segment[5])
            if components not in (1, 3, 4) or len(segment) < 6 + 3 * components:
                raise _damaged("impossible frame header")
            _check_size(width, height)
            size = (width, height)
        elif marker == 0xDA:  # start of scan: the entropy-coded data runs to the next marker
            if size is None:
                raise _damaged("scan before frame")
            scanned = True
            pos = _end_of_scan(data, pos)
    if size is None or not scanned:
        raise _damaged("no frame or no scan")
    return ImageInfo("jpeg", *size)


def _end_of_scan(data: bytes, pos: int) -> int:
    """The position of the marker after entropy-coded data starting at `pos` (0xFF00 is a stuffed byte, 0xFFD0-D7
    a restart marker inside the scan)."""
    while True:
        found = data.find(b"\xff", pos)
        if found < 0 or found + 1 >= len(data):
            raise _damaged("scan runs past the end")
        following = data[found + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos = found + 2
        elif following == 0xFF:
            pos = found + 1
        else:
            return found
