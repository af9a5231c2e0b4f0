"""Every upload is decoded and re-encoded here before anything is stored.

What leaves this module is a fresh JPEG made from the decoded pixels only: turned upright by its
EXIF orientation, with no EXIF, XMP, ICC comments, GPS, device or times (the new file is written
without any of them). Anything that is not a JPEG, PNG or HEIC/HEIF image, is over
``MAX_UPLOAD_BYTES``, has more than ``MAX_PIXELS`` (a decompression bomb), or does not decode to
the end (a truncated file) raises :class:`PhotoRefused` with a message for the patient; nothing is
stored by the caller then.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import pillow_heif
from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# A 48-megapixel iPhone photo is 8064 x 6048; a decompression bomb is far beyond.
MAX_PIXELS = 60_000_000
# What is stored: the long side at most this (plenty to compare skin; a phone's full 48 MP is not
# needed), and the thumbnails of the timeline.
STORED_LONG_SIDE = 3072
THUMBNAIL_LONG_SIDE = 480
JPEG_QUALITY = 88
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "HEIF", "HEIC"}  # MPO: JPEGs some cameras write

# Pillow refuses beyond 2x its own limit and only warns between; ours is checked before decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class PhotoRefused(ValueError):
    """The upload is not stored; ``str(error)`` says why in the patient's words."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes  # a JPEG with no metadata
    width: int
    height: int


def clean_upload(upload: BinaryIO, *, size: int) -> CleanImage:
    """Decode ``upload`` (``size`` bytes, as the request said) and return it re-encoded."""
    if size > MAX_UPLOAD_BYTES:
        raise PhotoRefused(_("That photo is larger than 20 MB. Please choose a smaller one."))
    if size == 0:
        raise PhotoRefused(_("That file is empty. Please choose a photo."))
    image = _decoded(upload)
    return _encoded(image, long_side=STORED_LONG_SIDE)


def thumbnail(data: bytes) -> CleanImage:
    """A small JPEG of an already clean image (the timeline's)."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return _encoded(image, long_side=THUMBNAIL_LONG_SIDE)


def _decoded(upload: BinaryIO) -> Image.Image:
    not_a_photo = _("That file is not a photo we can read. Please choose a JPEG, PNG or HEIC "
                    "photo.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoRefused(not_a_photo)
            # The header's size, before a single pixel is decoded.
            if image.width * image.height > MAX_PIXELS:
                raise PhotoRefused(_too_many_pixels())
            image.load()  # decodes to the end: a truncated file fails here
            return ImageOps.exif_transpose(image)
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRefused(_too_many_pixels()) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        # OSError: "image file is truncated" and other broken data; never shown or logged.
        raise PhotoRefused(not_a_photo) from None


def _too_many_pixels() -> str:
    return _("That photo has too many pixels to be a phone photo (the limit is 60 megapixels). "
             "Please choose another.")


def _encoded(image: Image.Image, *, long_side: int) -> CleanImage:
    """A new RGB JPEG of ``image``'s pixels, at most ``long_side`` on its longer side."""
    picture = _rgb(image)
    picture.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # A new image object carries no info dict: no exif=, icc_profile= or comment is written.
    Image.frombytes("RGB", picture.size, picture.tobytes()).save(
        out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanImage(data=out.getvalue(), width=picture.width, height=picture.height)


def _rgb(image: Image.Image) -> Image.Image:
    image = _in_srgb(image)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent PNGs: on white, as a photo would be.
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def _in_srgb(image: Image.Image) -> Image.Image:
    """Colours converted from the photo's own profile (iPhones shoot Display P3) to sRGB, so
    that dropping the profile with the rest of the metadata leaves the skin's colour as seen."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        return ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: the pixels as they are


_SRGB = ImageCms.createProfile("sRGB")
