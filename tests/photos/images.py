"""Real image files for the photo tests, made here (no binary fixtures in the repository)."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
from PIL import Image, ImageDraw

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE, MODEL, DATETIME_ORIGINAL = 0x010F, 0x0110, 0x9003


def skin_photo(size: tuple[int, int] = (640, 480), *, seed: int = 0) -> Image.Image:
    """A skin-toned picture with a reddish patch (its size and place vary with ``seed``)."""
    image = Image.new("RGB", size, (224, 180, 150))
    draw = ImageDraw.Draw(image)
    w, h = size
    r = max(8, min(w, h) // (4 + seed % 3))
    cx, cy = w // 3 + (seed * 37) % (w // 3), h // 3 + (seed * 53) % (h // 3)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(200, 110, 100))
    draw.rectangle((0, 0, w // 10, h // 10), fill=(60, 90, 160))  # marks the top-left corner
    return image


def jpeg_bytes(image: Image.Image | None = None, *, gps: bool = False, orientation: int = 1,
               device: bool = False) -> bytes:
    """A JPEG; with ``gps`` a GPS position (London) in its EXIF, ``device`` a camera make/model
    and time, ``orientation`` the EXIF orientation tag (6: the camera was turned 90°)."""
    image = image or skin_photo()
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    if device:
        exif[MAKE] = "Apple"
        exif[MODEL] = "iPhone 15 Pro"
        exif.get_ifd(0x8769)[DATETIME_ORIGINAL] = "2026:11:20 08:15:00"
    if gps:
        gps_ifd = exif.get_ifd(GPS_IFD)
        gps_ifd[1] = "N"
        gps_ifd[2] = (51.0, 30.0, 26.0)
        gps_ifd[3] = "W"
        gps_ifd[4] = (0.0, 7.0, 39.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def heic_bytes(image: Image.Image | None = None) -> bytes:
    out = io.BytesIO()
    (image or skin_photo()).save(out, format="HEIF", quality=80)
    return out.getvalue()


def png_bytes(image: Image.Image | None = None) -> bytes:
    out = io.BytesIO()
    (image or skin_photo()).save(out, format="PNG")
    return out.getvalue()


def png_bomb(side: int = 50_000) -> bytes:
    """A valid 1-bit PNG of ``side`` x ``side`` pixels, all black: a few hundred KB that would
    decode to gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + the row's bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))


def pdf_bytes() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n"
            b"%%EOF\n")


def truncated_jpeg() -> bytes:
    whole = jpeg_bytes(skin_photo((1200, 900)))
    return whole[: len(whole) // 2]


def oversized_jpeg(total: int = 25 * 1024 * 1024) -> bytes:
    """A JPEG padded after its end marker to ``total`` bytes (still an image, but too big)."""
    whole = jpeg_bytes()
    return whole + b"\x00" * (total - len(whole))


def metadata_of(data: bytes) -> dict:
    """What a stored or served JPEG carries besides pixels."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {"exif": dict(exif), "gps": dict(exif.get_ifd(GPS_IFD)),
                "info_keys": sorted(k for k in image.info if k not in ("jfif", "jfif_version",
                                                                       "jfif_unit", "jfif_density",
                                                                       "dpi", "progressive",
                                                                       "progression"))}
