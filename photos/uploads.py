"""Uploads never touch the disk unencrypted: every uploaded file is kept in memory, and only up
to the photo limit. Django's default spools a file over 2.5 MB to a temporary file in clear;
a skin photo must exist on disk only encrypted (``photos.storage``)."""

from __future__ import annotations

from io import BytesIO

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from .imaging import MAX_UPLOAD_BYTES


class BoundedMemoryUploadHandler(FileUploadHandler):
    """Keeps each file in memory up to ``MAX_UPLOAD_BYTES``; past that it keeps counting but
    drops the bytes, so the form can say "larger than 20 MB" (the file's ``size`` is the real
    one) without the server holding or writing it."""

    def new_file(self, *args: object, **kwargs: object) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = BytesIO()
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received <= MAX_UPLOAD_BYTES:
            self.buffer.write(raw_data)
        else:
            self.buffer = BytesIO()  # too large: nothing of it is kept

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer, field_name=self.field_name, name=self.file_name,
            content_type=self.content_type, size=file_size, charset=self.charset,
            content_type_extra=self.content_type_extra)
