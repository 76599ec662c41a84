"""portal.net.local_path: the one check for "next" parameters."""

import pytest
from django.test import RequestFactory

from portal.net import local_path

DEFAULT = "/home/"


@pytest.mark.parametrize(
    "candidate",
    ["/cards/", "/cards/?card=3&page=2", "/security/contact/email/", "/a%20b/"],
)
def test_a_path_on_this_site_is_kept(candidate):
    request = RequestFactory().get("/")
    assert local_path(request, candidate, DEFAULT) == candidate


@pytest.mark.parametrize(
    "candidate",
    [
        None,
        "",
        "abc",  # redirect() would try it as a view name: a 500
        "$5",
        "portal:home",
        "cards/",
        "//evil.example/",
        "/\\evil.example/",
        "https://evil.example/",
        "http://testserver/cards/",  # our host, but not a path: still refused
        "javascript:alert(1)",
        "/cards/\x00",
        "/cards/\n/evil",
        " /cards/",
    ],
)
def test_anything_else_gives_the_default(candidate):
    request = RequestFactory().get("/")
    assert local_path(request, candidate, DEFAULT) == DEFAULT
