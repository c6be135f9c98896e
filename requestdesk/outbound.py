"""Outbound HTTP safety (DESIGN.md §4): the one guard for URLs the server itself calls
(webhooks, scrape targets, connectors).

`check_url(url)` refuses anything but http/https and any host that resolves to a private,
loopback, link-local, multicast, reserved, unspecified or cloud-metadata address. Every
resolved address must be public: one bad answer is enough to refuse. Loopback is allowed
only with `settings.OUTBOUND_ALLOW_LOOPBACK` (tests); private ranges never.

Check right before sending (not only when the URL is saved): a DNS answer can change
between the two. `http_client()` follows no redirects, so a public URL cannot bounce the
request to an internal one.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

import certifi
import httpx
from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
USER_AGENT = "requestdesk/1.0"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Checked in this order; the first that applies names the refusal.
_REFUSED_KINDS = [
    ("is_unspecified", "an unspecified address"),
    ("is_link_local", "a link-local address"),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
    ("is_private", "a private address"),
]


class UnsafeURL(ValueError):
    """The URL may not be called from the server; the message says why and is safe to show."""


class UnresolvableHost(UnsafeURL):
    """The host name did not resolve. It may be temporary (a DNS outage), so a caller that
    retries may treat it as a network error."""


def refusal(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `address` may not be called, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    for attribute, kind in _REFUSED_KINDS:
        if getattr(address, attribute):
            return kind
    if not address.is_global:
        return "a non-public address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal IP resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"The host “{host}” could not be resolved.") from exc
    # IPv6 answers may carry a zone ("fe80::1%eth0"): the address is what comes before it.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))


def check_url(url: str) -> None:
    """Raise UnsafeURL unless `url` is http(s) and its host resolves only to public addresses."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError) as exc:
        raise UnsafeURL("This is not a valid URL.") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"Only {' and '.join(ALLOWED_SCHEMES)} URLs are allowed.")
    host = parts.hostname
    if not host:
        raise UnsafeURL("The URL has no host.")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    allow_loopback = bool(getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False))
    addresses = resolve(host, port)
    if not addresses:
        raise UnresolvableHost(f"The host “{host}” could not be resolved.")
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback)
        if reason:
            raise UnsafeURL(f"The host “{host}” resolves to {reason} ({address}); "
                            "only public addresses may be called.")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~20 ms of CPU), which
    was half a content worker's own time when every LLM call made its client."""
    return ssl.create_default_context(cafile=certifi.where())


def http_client(*, timeout: float, follow_redirects: bool = False) -> httpx.Client:
    """An httpx client for calling outside URLs: every phase (connect, write, read, pool)
    bounded by `timeout` seconds, redirects not followed, and environment proxies ignored
    (the address checked must be the address connected to)."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout), follow_redirects=follow_redirects, max_redirects=3,
        trust_env=False, headers={"User-Agent": USER_AGENT}, verify=_tls(),
    )
