"""Client addresses, decided explicitly: behind ``TRUSTED_PROXY_COUNT`` proxies the
client is that many hops from the right of X-Forwarded-For; with none, REMOTE_ADDR.
Trusting the header without a proxy would let anyone pick their own IP and dodge
per-IP limits."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


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
