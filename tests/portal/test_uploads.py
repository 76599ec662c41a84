"""portal.uploads: a file past the limit stops being received, and is refused by size."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from portal.uploads import TooLargeFile


def _request(settings, size: int):
    content = b"%PDF-1.4\n" + b"0" * (size - 9)
    # Multipart, read through settings.FILE_UPLOAD_HANDLERS when request.FILES is used.
    request = RequestFactory().post("/", data={"note": "hi", "receipt": SimpleUploadedFile("r.pdf", content)})
    return request, content


@pytest.mark.parametrize("size", [1_000, 64 * 1024, 2 * 1024 * 1024])
def test_a_file_within_the_limit_arrives_whole(settings, size):
    settings.FILE_UPLOAD_MAX_BYTES = 3 * 1024 * 1024
    request, content = _request(settings, size)
    upload = request.FILES["receipt"]
    assert not isinstance(upload, TooLargeFile)
    assert upload.size == size and upload.read() == content
    assert request.POST["note"] == "hi"


def test_a_file_past_the_limit_arrives_empty_with_the_size_seen(settings):
    settings.FILE_UPLOAD_MAX_BYTES = 256 * 1024
    request, _ = _request(settings, 3 * 1024 * 1024)
    upload = request.FILES["receipt"]
    assert isinstance(upload, TooLargeFile)
    # The whole size is counted (the body is read off the connection), none of it kept.
    assert upload.size == 3 * 1024 * 1024
    assert upload.read() == b"" and upload.name == "r.pdf"
    # The form fields around it still arrive: the page can say what was wrong.
    assert request.POST["note"] == "hi"


def test_each_file_is_counted_on_its_own(settings):
    settings.FILE_UPLOAD_MAX_BYTES = 100_000
    small, big = b"%PDF-1.4\n" + b"1" * 60_000, b"%PDF-1.4\n" + b"2" * 300_000
    files = {
        "a": SimpleUploadedFile("a.pdf", small),
        "b": SimpleUploadedFile("b.pdf", big),
        "c": SimpleUploadedFile("c.pdf", small),
    }
    request = RequestFactory().post("/", data=files)
    assert request.FILES["a"].read() == small and request.FILES["c"].read() == small
    assert isinstance(request.FILES["b"], TooLargeFile)
