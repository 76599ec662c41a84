"""Uploads are cut off at ``FILE_UPLOAD_MAX_BYTES`` while they arrive.

Django's own handlers keep a whole file (in memory, or in a temporary file on disk)
before any view can look at its size, so a 2 GB "receipt" would fill the disk first and
be refused after. ``SizeLimitedUploadHandler`` runs first in ``FILE_UPLOAD_HANDLERS``:
it counts each file's bytes, and once a file passes the limit it stops passing them on.
The file then arrives as a ``TooLargeFile``: its ``size`` is what was received, its
content is empty, so the form refuses it with its usual "larger than 5 MB" message. At
most the limit is ever held for a file (what Django's handler had received before the
cut-off, dropped with the request). Files within the limit go on to Django's handlers
unchanged.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


class TooLargeFile(UploadedFile):
    """A file refused for its size: the name and the size seen, none of the content."""

    too_large = True

    def __init__(self, *, name: str, content_type: str, size: int, charset=None, content_type_extra=None):
        super().__init__(io.BytesIO(), name, content_type, size, charset, content_type_extra)


class SizeLimitedUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.FILE_UPLOAD_MAX_BYTES
        self.received = 0
        self.too_large = False

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.too_large = False

    def receive_data_chunk(self, raw_data: bytes, start: int):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_large = True
        # None: the handlers after this one get no more of the file.
        return None if self.too_large else raw_data

    def file_complete(self, file_size: int):
        if not self.too_large:
            return None  # the next handler returns the file itself
        return TooLargeFile(
            name=self.file_name,
            content_type=self.content_type,
            size=self.received,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )
