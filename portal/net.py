"""Client addresses, decided explicitly: behind ``TRUSTED_PROXY_COUNT`` proxies the
client is that many hops from the right of X-Forwarded-For; with none, REMOTE_ADDR.
Trusting the header without a proxy would let anyone pick their own IP and dodge
per-IP limits."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                return None
    return request.META.get("REMOTE_ADDR") or None


def ip_network(ip: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) a client address belongs to, for "seen before"."""
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def local_path(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` if it is a path on this site (for a "next" parameter), else
    ``default``. Only an absolute path: django.shortcuts.redirect() reads anything else
    (such as "$5" or "abc") as a view name and fails with a 500; "//host" and "/\\host"
    are other sites; control characters (a NUL) never belong in a URL."""
    if (
        candidate
        and candidate.startswith("/")
        and not candidate.startswith(("//", "/\\"))
        and candidate.isprintable()
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default
