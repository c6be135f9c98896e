"""Fetching target pages over HTTP, politely and safely.

`Fetcher(policy).fetch(url, etag=..., last_modified=...)` returns a `Page`, never raises for
what the remote side does:

* every request, and every redirect hop, passes `requestdesk.outbound.check_url` first
  (the guard webhooks use); redirects are followed by hand, at most `max_redirects`, so a
  loop ends with an error and a public page cannot bounce us to an internal address;
* robots.txt is honoured, and its Crawl-delay slows the rate down, never up; per domain,
  requests are spaced by the rate limit and at most `domain_concurrency` run at once,
  across every worker (scraping.services.politeness);
* 429, 5xx, timeouts and network errors are retried with exponential backoff, honouring
  Retry-After up to `max_retry_after` seconds (a longer wait is an error, not a sleep);
* the body is streamed and abandoned past `max_bytes`, and the whole response must arrive
  within `timeout` seconds;
* the ETag / Last-Modified of the last fetch are sent back; a 304 is `not_modified`.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx
from django.conf import settings

from requestdesk import outbound

from .politeness import DomainBusy, DomainLimiter, Robots, RobotsUnreachable

logger = logging.getLogger(__name__)

REDIRECT_CODES = {301, 302, 303, 307, 308}
ROBOTS_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class FetchPolicy:
    timeout: float = 20.0
    max_retries: int = 3
    rate_limit_per_minute: int = 30
    respect_robots: bool = True
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    retry_base: float = 1.0
    max_retry_after: float = 60.0
    domain_concurrency: int = 2

    @classmethod
    def from_config(cls, config) -> FetchPolicy:
        """The policy of a project's ScrapeConfig, with the deployment's limits from settings."""
        return cls(
            timeout=config.timeout_seconds,
            max_retries=config.max_retries,
            rate_limit_per_minute=config.rate_limit_per_minute,
            respect_robots=config.respect_robots_txt,
            max_bytes=settings.SCRAPING_MAX_BYTES,
            max_redirects=settings.SCRAPING_MAX_REDIRECTS,
            retry_base=settings.SCRAPING_RETRY_BASE_SECONDS,
            max_retry_after=settings.SCRAPING_MAX_RETRY_AFTER_SECONDS,
            domain_concurrency=settings.SCRAPING_DOMAIN_CONCURRENCY,
        )

    @property
    def interval(self) -> float:
        return 60.0 / self.rate_limit_per_minute


@dataclass
class Page:
    url: str
    final_url: str = ""
    status_code: int | None = None
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False
    blocked: bool = False
    error: str = ""
    attempts: int = 0
    elapsed_ms: float = 0.0
    waits: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error and not self.not_modified


class FetchError(Exception):
    """This URL cannot be fetched now; the message is safe to show."""

    retryable = False

    def __init__(self, message: str, status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status_code, self.retry_after = status_code, retry_after


class RetryableError(FetchError):
    retryable = True


class Blocked(FetchError):
    """robots.txt disallows the URL."""


def domain_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# --- the fetcher -------------------------------------------------------------------------------


class Fetcher:
    def __init__(self, policy: FetchPolicy, *, limiter: DomainLimiter | None = None, sleep=time.sleep):
        self.policy, self.sleep = policy, sleep
        self.limiter = limiter or DomainLimiter(concurrency=policy.domain_concurrency, sleep=sleep)
        self.robots = Robots(self._download_robots, cache_seconds=settings.SCRAPING_ROBOTS_CACHE_SECONDS)

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "") -> Page:
        started = time.monotonic()
        page = Page(url=url, final_url=url)
        headers = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with outbound.http_client(timeout=self.policy.timeout) as client:
            for attempt in range(1, self.policy.max_retries + 2):
                page.attempts = attempt
                try:
                    self._get(client, url, headers, page)
                    page.error = ""
                    break
                except RetryableError as exc:
                    page.error, page.status_code = str(exc), exc.status_code
                    wait = self._backoff(exc, attempt)
                    if attempt > self.policy.max_retries or wait is None:
                        if wait is None:
                            page.error += (
                                f" (asked to retry after {exc.retry_after:g}s, more than the "
                                f"{self.policy.max_retry_after:g}s limit)"
                            )
                        break
                    page.waits.append(wait)
                    self.sleep(wait)
                except FetchError as exc:
                    page.error, page.status_code = str(exc), exc.status_code
                    page.blocked = isinstance(exc, Blocked)
                    break
        page.elapsed_ms = round((time.monotonic() - started) * 1000, 2)
        return page

    def _backoff(self, exc: FetchError, attempt: int) -> float | None:
        if exc.retry_after is not None:
            return exc.retry_after if exc.retry_after <= self.policy.max_retry_after else None
        return min(self.policy.retry_base * 2 ** (attempt - 1), self.policy.max_retry_after)

    def _guard(self, url: str) -> None:
        try:
            outbound.check_url(url)
        except outbound.UnresolvableHost as exc:
            raise RetryableError(f"network error: {exc}") from exc
        except outbound.UnsafeURL as exc:
            raise FetchError(f"Refused: {exc}") from exc

    def _get(self, client: httpx.Client, url: str, headers: dict, page: Page) -> None:
        """One attempt: follow redirects by hand, checking every hop; fill `page` or raise."""
        for _hop in range(self.policy.max_redirects + 1):
            self._guard(url)
            interval = self.policy.interval
            if self.policy.respect_robots:
                try:
                    allowed = self.robots.allowed(url)
                except RobotsUnreachable as exc:
                    raise FetchError(str(exc)) from exc
                if not allowed:
                    raise Blocked(f"Disallowed by robots.txt: {url}")
                interval = max(interval, self.robots.crawl_delay(url))
            try:
                with self.limiter.slot(domain_of(url), interval, hold_seconds=self.policy.timeout + 5):
                    location = self._request(client, url, headers, page)
            except DomainBusy as exc:
                raise RetryableError(str(exc)) from exc
            if location is None:
                return
            url = urljoin(url, location)
            page.final_url = url
        raise FetchError(f"Too many redirects (more than {self.policy.max_redirects}).")

    def _request(self, client: httpx.Client, url: str, headers: dict, page: Page) -> str | None:
        """Send one GET; returns the redirect location, or None when `page` is filled."""
        deadline = time.monotonic() + self.policy.timeout
        try:
            with client.stream("GET", url, headers=headers) as response:
                code = response.status_code
                if code in REDIRECT_CODES and response.headers.get("location"):
                    return response.headers["location"]
                if code == 304:
                    page.status_code, page.not_modified = code, True
                    return None
                if code == 429 or code >= 500:
                    raise RetryableError(f"HTTP {code}", code, retry_after_seconds(response.headers.get("retry-after")))
                if not 200 <= code < 300:
                    raise FetchError(f"HTTP {code}", code)
                page.body = self._read(response, deadline)
                page.status_code = code
                page.content_type = response.headers.get("content-type", "")
                page.etag = response.headers.get("etag", "")[:300]
                page.last_modified = response.headers.get("last-modified", "")[:100]
                return None
        except httpx.TimeoutException as exc:
            raise RetryableError(f"Timeout after {self.policy.timeout:g}s ({exc.__class__.__name__}).") from exc
        except httpx.HTTPError as exc:
            raise RetryableError(f"Network error: {exc.__class__.__name__}: {exc}") from exc

    def _read(self, response: httpx.Response, deadline: float, max_bytes: int | None = None) -> bytes:
        limit = max_bytes or self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"The page is larger than the {limit} byte limit ({declared} bytes).")
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise FetchError(f"The page is larger than the {limit} byte limit; stopped reading.")
            if time.monotonic() > deadline:
                raise RetryableError(f"Timeout after {self.policy.timeout:g}s (the page kept arriving).")
            chunks.append(chunk)
        return b"".join(chunks)

    def _download_robots(self, url: str) -> tuple[int | None, str]:
        """(status, text) of a robots.txt, following checked redirects; (None, "") when unreachable."""
        try:
            with outbound.http_client(timeout=self.policy.timeout) as client:
                for _hop in range(self.policy.max_redirects + 1):
                    self._guard(url)
                    with client.stream("GET", url) as response:
                        if response.status_code in REDIRECT_CODES and response.headers.get("location"):
                            url = urljoin(url, response.headers["location"])
                            continue
                        if response.status_code != 200:
                            return response.status_code, ""
                        body = self._read(response, time.monotonic() + self.policy.timeout, ROBOTS_MAX_BYTES)
                        return 200, body.decode("utf-8", errors="replace")
        except (FetchError, httpx.HTTPError) as exc:
            logger.info("robots.txt %s unreachable: %s", url, exc)
            return None, str(exc) or exc.__class__.__name__
        return None, ""
