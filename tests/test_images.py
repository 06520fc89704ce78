"""The foundations a notice to farmers rests on: images checked as a decoder reads them, names masked."""

import struct
import zlib

import pytest

from agri_insurance.images import NotAnImage, inspect_image
from agri_insurance.masking import mask_id, mask_name
from tests.images import jpeg_bytes, png_bytes


def reason(data: bytes) -> str:
    with pytest.raises(NotAnImage) as refused:
        inspect_image(data)
    return refused.value.reason


def test_real_png_and_jpeg_files_pass_with_their_size():
    png, jpeg = inspect_image(png_bytes(400, 300)), inspect_image(jpeg_bytes(1000, 700))
    assert (png.kind, png.width, png.height, png.mimetype, png.suffix) == ("png", 400, 300, "image/png", ".png")
    assert (jpeg.kind, jpeg.width, jpeg.height, jpeg.mimetype) == ("jpeg", 1000, 700, "image/jpeg")


def test_a_file_that_only_starts_like_an_image_is_refused():
    assert reason(b"%PDF-1.4 not an image") == "not_image"
    assert reason("张贴照片.jpg".encode()) == "not_image"
    assert reason(b"") == "not_image"
    png = png_bytes()
    assert reason(png[:-12]) == "damaged"                          # IEND cut off
    assert reason(png[:40]) == "damaged"                           # cut inside the image data
    flipped = bytearray(png)
    flipped[45] ^= 0xFF                                            # a byte of the image data: the CRC says so
    assert reason(bytes(flipped)) == "damaged"
    jpeg = jpeg_bytes()
    assert reason(jpeg[:-2]) == "damaged"                          # no end of image
    assert reason(jpeg[:300]) == "damaged"
    assert reason(b"\xff\xd8\xff\xd9") == "damaged"                # start and end, nothing between


def _png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_a_png_whose_data_does_not_fill_its_size_is_refused_and_a_huge_one_is_not_inflated():
    assert inspect_image(_png(4, 2, b"\x00" * 10)).width == 4        # 2 rows of (filter byte + 4 grey pixels)
    assert reason(_png(4, 2, b"\x00" * 9)) == "damaged"
    assert reason(_png(4, 2, b"\x00" * 11)) == "damaged"
    # 100,000 × 100,000 pixels: refused from its header, its data never inflated (a decompression bomb)
    assert reason(_png(100_000, 100_000, b"\x00" * 10)) == "too_large"


def test_names_are_masked_as_the_notices_print_them():
    assert mask_name("张三华") == "张*华"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳明华") == "欧**华"
    assert mask_name("王") == "*"
    assert mask_name(" 张 三华 ") == "张**华"          # inner spaces count as characters once collapsed
    assert mask_name("鄱阳县丰收水稻种植专业合作社", organisation=True) == "鄱阳县丰收水稻种植专业合作社"
    assert mask_name("") == "" and mask_name(None) == ""
    assert mask_id("36112819800101123X") == "361128********123X"
