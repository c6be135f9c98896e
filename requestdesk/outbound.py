"""Outbound HTTP safety: the one guard for URLs the server itself calls (webhooks, scrape
targets, connectors, LLM providers), and the one place that opens those connections.

`check_url(url)` refuses anything but http/https and any host that resolves to a private,
loopback, link-local, multicast, reserved, unspecified or cloud-metadata address, including
IPv6 addresses that wrap one (IPv4-mapped, 6to4, Teredo, NAT64). Every resolved address
must be public: one bad answer is enough to refuse. Loopback is allowed only with
`settings.OUTBOUND_ALLOW_LOOPBACK` (tests); private ranges never.

`http_client()` connects only to addresses it has just vetted: its transport resolves the
host once, refuses it as `check_url` would, and opens the socket to that very address
(DNS rebinding cannot slip a second, different answer in between), while the Host header,
TLS SNI and certificate check keep the URL's host name. It follows no redirects, so a
public URL cannot bounce the request to an internal one. Callers still call `check_url`
first, for a clear refusal before anything is sent.

`validate_url(url)` is `check_url` as a field check: the refusal as a ValidationError with
its message, for an API serializer (`validate_url` methods) or an admin form.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

import certifi
import httpcore
import httpx
from django.conf import settings
from django.core.exceptions import ValidationError

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


# The well-known NAT64 prefix (RFC 6052): its last 32 bits are the IPv4 address reached.
# 6to4 (RFC 3056) and Teredo (RFC 4380) addresses are read by `ipaddress` itself.
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")


class RefusedConnection(httpcore.ConnectError):
    """The transport refused to connect: the host resolved to an address `refusal` names.
    httpx raises it as an `httpx.ConnectError` carrying the same message."""


def _wrapped_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address wraps (and so reaches), if any."""
    if address.ipv4_mapped:
        return [address.ipv4_mapped]
    if address.sixtofour:
        return [address.sixtofour]
    if address.teredo:
        return list(address.teredo)  # the relay server and the (de-obfuscated) client
    if address in NAT64_PREFIX:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def refusal(address: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why `address` may not be called, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "the cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return refusal(address.ipv4_mapped, allow_loopback=allow_loopback)
        for wrapped in _wrapped_ipv4(address):
            reason = refusal(wrapped)  # a wrapped loopback leaves the host: never allowed
            if reason:
                return f"an IPv6 address wrapping {reason} ({wrapped})"
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
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


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
    vetted_addresses(host, port or (443 if parts.scheme.lower() == "https" else 80))


def validate_url(url: str) -> str:
    """`url` if `check_url` accepts it, else a ValidationError with the reason: Django's, which
    DRF reports on the field as its own (code "invalid") and forms show under the field."""
    try:
        check_url(url)
    except UnsafeURL as exc:
        raise ValidationError(str(exc)) from exc
    return url


def vetted_addresses(host: str, port: int) -> list[IPAddress]:
    """Resolve `host` once and return its addresses, or raise UnsafeURL when any is not public."""
    allow_loopback = bool(getattr(settings, "OUTBOUND_ALLOW_LOOPBACK", False))
    addresses = resolve(host, port)
    if not addresses:
        raise UnresolvableHost(f"The host “{host}” could not be resolved.")
    for address in addresses:
        reason = refusal(address, allow_loopback=allow_loopback)
        if reason:
            raise UnsafeURL(f"The host “{host}” resolves to {reason} ({address}); only public addresses may be called.")
    return addresses


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~20 ms of CPU), which
    was half a content worker's own time when every LLM call made its client."""
    return ssl.create_default_context(cafile=certifi.where())


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, except that the host is resolved and vetted here and the
    socket opened to a vetted address: the name is looked up exactly once per connection.
    httpcore then starts TLS with the URL's host name (SNI and certificate check)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = vetted_addresses(host, port)
        except UnsafeURL as exc:
            raise RefusedConnection(str(exc)) from exc
        failure: Exception | None = None
        for address in addresses:  # like socket.create_connection: the first that answers
            try:
                return super().connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None  # vetted_addresses returns at least one address
        raise failure


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that connects through `PinnedBackend`.
    httpx takes no network backend, so the pool it builds is replaced by the same pool
    with ours (its request handling and exception mapping are kept)."""

    def __init__(self) -> None:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults
        super().__init__(verify=_tls(), trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_tls(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(),
        )


def http_client(*, timeout: float, follow_redirects: bool = False) -> httpx.Client:
    """An httpx client for calling outside URLs: it connects to vetted addresses only
    (`PinnedTransport`), every phase (connect, write, read, pool) bounded by `timeout`
    seconds, redirects not followed, and environment proxies ignored (the address checked
    must be the address connected to)."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=follow_redirects,
        max_redirects=3,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
        transport=PinnedTransport(),
    )
