"""Hostile requests below the forms: bodies over the upload limits, too many fields or
files, the wrong content type, broken UTF-8 in bodies, query strings and paths, huge
uploads, and garbage in headers. Each is refused cleanly (a 4xx, or the form again with
its message), never a 500, and changes nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cards.models import Transaction
from tests.cards.payments_helpers import spend
from tests.factories import BusinessProgramFactory, CardholderFactory, CardProductFactory, UserFactory, issue_card
from tests.factories import open_account as account_open
from tests.security import hostile

pytestmark = pytest.mark.django_db

BAD_REQUEST_TEXT = "Sorry, we could not read what was sent"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def member(db):
    user = UserFactory(username="hostile.member")
    issued = issue_card(account=account_open(holder=user.cardholder))
    spend(issued, "80.00", merchant={"name": "Gadget Store", "mcc": "5732", "city": "Austin", "country": "US"})
    client = Client()
    client.force_login(user)
    return {"user": user, "client": client, "charge": Transaction.objects.get(card=issued.card)}


@pytest.fixture
def admin_client(db):
    admin = UserFactory(username="hostile.admin", cardholder=None)
    program = BusinessProgramFactory()
    program.administrators.add(admin)
    account_open(holder=CardholderFactory(), product=CardProductFactory(business=True), program=program)
    client = Client()
    client.force_login(admin)
    return client, program


def _bad_request_page(response) -> None:
    assert response.status_code == 400
    assert BAD_REQUEST_TEXT in response.content.decode()


# --- Sizes and counts -------------------------------------------------------------------------


def test_a_body_over_the_upload_limit_gets_the_400_page_and_changes_nothing(client):
    before = hostile.fingerprint()
    body = b"need=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(reverse("recovery:start"), data=body, content_type="application/x-www-form-urlencoded")
    _bad_request_page(response)
    assert hostile.fingerprint() == before


def test_too_many_fields_get_the_400_page_and_change_nothing(client):
    before = hostile.fingerprint()
    body = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)).encode()
    response = client.post(reverse("cards:activate"), data=body, content_type="application/x-www-form-urlencoded")
    _bad_request_page(response)
    assert hostile.fingerprint() == before


def test_too_many_files_get_the_400_page_and_change_nothing(member):
    before = hostile.fingerprint()
    files = [SimpleUploadedFile(f"r{i}.pdf", PDF, content_type="application/pdf") for i in range(11)]
    response = member["client"].post(
        reverse("disputes:start", args=[member["charge"].pk]),
        {"reason": "not_received", "description": "It never arrived at all.", "attachments": files},
    )
    _bad_request_page(response)
    assert hostile.fingerprint() == before


def test_a_huge_dispute_file_is_refused_with_a_message(member):
    before = hostile.fingerprint()
    huge = SimpleUploadedFile("receipt.pdf", PDF + b"0" * (6 * 1024 * 1024), content_type="application/pdf")
    response = member["client"].post(
        reverse("disputes:start", args=[member["charge"].pk]),
        {"reason": "not_received", "description": "It never arrived at all.", "attachments": [huge]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert hostile.shows_an_error(html) and "larger than 5 MB" in html
    assert hostile.fingerprint() == before


def test_broken_multipart_is_refused_and_changes_nothing(member):
    before = hostile.fingerprint()
    response = member["client"].post(
        reverse("disputes:start", args=[member["charge"].pk]),
        data=b'--nope\r\nContent-Disposition: form-data; name="reason"\r\n\r\nfraud',  # never closed
        content_type="multipart/form-data; boundary=other",
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert hostile.shows_an_error(response.content.decode())
    assert hostile.fingerprint() == before


# --- Content types and encodings ----------------------------------------------------------------

FORM_POSTS = ["recovery:start", "recovery:password", "cards:activate", "accounts:enroll", "two_factor:login"]


@pytest.mark.parametrize("url_name", FORM_POSTS)
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"need": "password", "user_id": "someone"}'),
        ("text/plain", b"need=password"),
        ("application/xml", b"<need>password</need>"),
        ("multipart/form-data", b"need=password"),  # no boundary
    ],
)
def test_a_form_posted_as_another_content_type_is_refused(client, url_name, content_type, body):
    """Django reads no fields from such a body: the form is refused with its message (or,
    for the sign-in wizard, whose step field is missing, a 400)."""
    before = hostile.fingerprint()
    response = client.post(reverse(url_name), data=body, content_type=content_type)
    assert response.status_code in (200, 400, 415)
    if response.status_code == 200:
        assert hostile.shows_an_error(response.content.decode())
    assert hostile.fingerprint() == before


@pytest.mark.parametrize("broken", hostile.BROKEN_UTF8)
def test_broken_utf8_in_a_form_body_is_refused_with_a_message(client, broken):
    before = hostile.fingerprint()
    body = hostile.urlencoded(
        {"user_id": broken, "verify_with": "dob", "dob_day": broken, "dob_month": "1", "dob_year": "1980"}
    )
    response = client.post(reverse("recovery:password"), data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert hostile.shows_an_error(response.content.decode())
    assert hostile.fingerprint() == before


@pytest.mark.parametrize(
    "path",
    [
        "/cards/%FF/freeze/",
        "/cards/%ED%A0%80/",
        "/account/recover/link/%FF%FE/",
        "/account/recover/link/%00/",
        "/security/contact/%C0%AF/",
        "/statements/%FF/pdf/",
        "/%FF%FE%FD",
        "/disputes/new/99999999999999999999999999/",
    ],
)
def test_broken_utf8_and_junk_in_paths_is_never_a_500(member, path):
    response = member["client"].get(path)
    assert response.status_code in (302, 400, 404)


# Pages that read their query string (filters, paging cursors, choices).
QUERY_PAGES = [
    ("cards:transactions", "member"),
    ("cards:transactions_export", "member"),
    ("cards:rewards", "member"),
    ("cards:dashboard", "member"),
    ("statements:list", "member"),
    ("payments:step_up", "member"),
    ("security:confirm", "member"),
    ("security:activity", "member"),
    ("accounts:enroll_confirm", "anonymous"),
    ("business:reports", "admin"),
    ("business:cards", "admin"),
    ("business:transactions_csv", "admin"),
]
QUERY_NAMES = ["q", "card", "from", "to", "start", "end", "year", "month", "before", "after", "next", "format"]
QUERY_NAMES += ["category", "status", "min", "max", "employee", "choose", "page", "sort", "type", "period"]


@pytest.mark.parametrize(("url_name", "role"), QUERY_PAGES)
def test_hostile_query_strings_are_never_a_500(url_name, role, member, admin_client, client):
    if role == "admin":
        browser, program = admin_client
        url = reverse(url_name, args=[program.pk])
    else:
        browser = member["client"] if role == "member" else client
        url = reverse(url_name)
    names = st.sampled_from(QUERY_NAMES)

    @hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=15)
    @given(query=st.dictionaries(names, st.one_of(hostile.hostile_value, st.lists(hostile.hostile_value, max_size=3))))
    def check(query):
        with hostile.rolled_back():
            before = hostile.fingerprint()
            response = browser.get(f"{url}?{hostile.urlencoded(query).decode()}")
            assert response.status_code < 500
            if not response.streaming:  # a CSV download streams
                hostile.assert_escaped(response.content.decode("utf-8", "replace"))
            assert hostile.fingerprint() == before

    check()


# --- Headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:443", "exa mple.com", "[::1", "x" * 300, "testserver@evil.example"]
)
def test_a_host_that_is_not_ours_gets_the_400_page(client, host):
    response = client.get(reverse("two_factor:login"), HTTP_HOST=host)
    _bad_request_page(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_FORWARDED_FOR": "not-an-ip, <script>alert(1)</script>"},
        {"HTTP_X_FORWARDED_FOR": "1.1.1.1, " * 500},
        {"HTTP_USER_AGENT": "\x00" + "Mozilla/5.0 " * 2000},
        {"HTTP_ACCEPT_LANGUAGE": "zz-ZZ;q=NaN, *;q=1e309"},
        {"HTTP_COOKIE": "sessionid=" + "x" * 5000 + "; csrftoken=\x00"},
        {"HTTP_REFERER": "javascript:alert(1)"},
        {"CONTENT_LENGTH": "-1"},
    ],
)
def test_garbage_in_headers_is_never_a_500(client, headers):
    before = hostile.fingerprint()
    response = client.post(reverse("recovery:start"), data={"need": "password"}, **headers)
    assert response.status_code in (200, 302, 400)
    assert hostile.fingerprint() == before


def test_the_400_page_stands_alone(client):
    """It renders without a request or context processors, in the site's look, and says
    nothing changed and what to do."""
    response = client.get("/", HTTP_HOST="evil.example")
    html = response.content.decode()
    assert "/static/portal/css/base.css" in html and "Nothing has changed on your account" in html
    assert response.status_code == 400 and "Traceback" not in html
