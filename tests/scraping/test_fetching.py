"""Fetching scrape targets from a real HTTP server on loopback: robots.txt, retries with
backoff and Retry-After, timeouts, the size cap, redirect limits and the SSRF guard on
every hop, conditional GET, and the per-domain rate and concurrency limits."""

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from scraping.services import fetching, politeness
from scraping.services.fetching import Fetcher, FetchPolicy
from tests.support.scraping import Reply, fast_scraping, fixture  # noqa: F401


def policy(**changes):
    base = {
        "rate_limit_per_minute": 6000,
        "timeout": 2.0,
        "max_retries": 2,
        "retry_base": 0.05,
        "max_retry_after": 5.0,
        "max_bytes": 1024 * 1024,
        "max_redirects": 5,
    }
    return FetchPolicy(**{**base, **changes})


def fetch(url, **changes):
    return Fetcher(policy(**changes)).fetch(url)


def test_a_page_is_fetched_with_its_validators(site):
    site.route(
        "/page",
        Reply(body=fixture("article.html"), headers={"ETag": '"v1"', "Last-Modified": "Tue, 05 Mar 2024 09:30:00 GMT"}),
    )
    page = fetch(site.url("/page"))
    assert page.ok and page.status_code == 200 and page.attempts == 1
    assert page.body == fixture("article.html") and page.content_type.startswith("text/html")
    assert page.etag == '"v1"' and page.last_modified == "Tue, 05 Mar 2024 09:30:00 GMT"
    [request] = site.hits("/page")
    assert request["headers"]["User-Agent"] == "requestdesk/1.0"


def test_robots_txt_disallow_is_honoured_and_cached(site):
    page = fetch(site.url("/private/secret"))
    assert page.blocked and not page.ok and "Disallowed by robots.txt" in page.error
    assert site.hits("/private/secret") == []
    assert fetch(site.url("/blog/solar-lantern")).ok
    # One robots.txt download for the origin, shared by later fetchers through the cache.
    assert len(site.hits("/robots.txt")) == 1
    # A project that does not respect robots.txt fetches it.
    assert fetch(site.url("/private/secret"), respect_robots=False).ok


@pytest.mark.parametrize("status, allowed", [(404, True), (403, True), (500, False)])
def test_robots_txt_status_rules(site, status, allowed):
    site.route("/robots.txt", Reply(status, b"", "text/plain"))
    page = fetch(site.url("/private/secret"))
    assert page.ok is allowed and not page.blocked  # a 5xx robots.txt is no rule of the site's: an error
    if not allowed:
        assert f"robots.txt could not be read (HTTP {status})" in page.error and site.hits("/private/secret") == []


def test_robots_crawl_delay_slows_the_rate(site):
    site.route("/robots.txt", Reply(body=b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"))
    fetcher = Fetcher(policy())
    for _ in range(2):
        assert fetcher.fetch(site.url("/blog/solar-lantern")).ok
    first, second = (r["at"] for r in site.hits("/blog/solar-lantern"))
    assert second - first >= 0.95


def test_429_then_success_honours_retry_after(site):
    site.route(
        "/busy",
        Reply(429, b"slow down", "text/plain", headers={"Retry-After": "1"}),
        Reply(body=fixture("article.html")),
    )
    started = time.monotonic()
    page = fetch(site.url("/busy"))
    assert page.ok and page.attempts == 2 and page.waits == [1.0]
    assert time.monotonic() - started >= 1.0
    first, second = site.hits("/busy")
    assert second["at"] - first["at"] >= 1.0


def test_retry_after_as_an_http_date():
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 <= fetching.retry_after_seconds(format_datetime(later, usegmt=True)) <= 30
    assert fetching.retry_after_seconds("7") == 7.0
    assert fetching.retry_after_seconds("soon") is None and fetching.retry_after_seconds(None) is None


def test_500_then_success_backs_off(site):
    site.route("/flaky", Reply(500), Reply(503), Reply(body=fixture("article.html")))
    page = fetch(site.url("/flaky"))
    assert page.ok and page.attempts == 3 and page.waits == [0.05, 0.1]
    assert len(site.hits("/flaky")) == 3


def test_retries_run_out(site):
    site.route("/down", Reply(502))
    page = fetch(site.url("/down"), max_retries=1)
    assert not page.ok and page.error == "HTTP 502" and page.status_code == 502 and page.attempts == 2
    assert len(site.hits("/down")) == 2


def test_a_retry_after_beyond_the_limit_is_an_error_not_a_sleep(site):
    site.route("/later", Reply(503, headers={"Retry-After": "3600"}))
    started = time.monotonic()
    page = fetch(site.url("/later"))
    assert time.monotonic() - started < 1
    assert "retry after 3600s, more than the 5s limit" in page.error and page.attempts == 1


def test_a_slow_page_times_out(site):
    started = time.monotonic()
    page = fetch(site.url("/slow"), timeout=0.5, max_retries=0)
    assert not page.ok and page.error.startswith("Timeout after 0.5s") and page.status_code is None
    assert time.monotonic() - started < 2.5


def test_a_huge_page_is_cut_at_the_size_cap(site):
    page = fetch(site.url("/huge"), max_bytes=1024 * 1024)
    assert not page.ok and "larger than the 1048576 byte limit" in page.error
    assert page.attempts == 1 and page.body == b""
    declared = site.route("/declared", Reply(body=b"x" * 2048))
    assert "(2048 bytes)" in fetch(declared, max_bytes=1024).error


def test_a_redirect_loop_stops_at_the_limit(site):
    page = fetch(site.url("/loop-a"), max_redirects=5)
    assert not page.ok and page.error == "Too many redirects (more than 5)." and page.attempts == 1
    assert len(site.hits("/loop-a")) + len(site.hits("/loop-b")) == 6


def test_redirects_are_followed_and_each_hop_is_checked(site):
    site.route("/moved", Reply(301, headers={"Location": "/blog/solar-lantern"}))
    page = fetch(site.url("/moved"))
    assert page.ok and page.final_url == site.url("/blog/solar-lantern")
    site.route("/to-internal", Reply(302, headers={"Location": "http://10.0.0.1/admin"}))
    refused = fetch(site.url("/to-internal"))
    assert not refused.ok and refused.error.startswith("Refused:") and "private address" in refused.error


def test_loopback_and_private_targets_are_refused_before_sending(site, settings):
    settings.OUTBOUND_ALLOW_LOOPBACK = False
    for url in (site.url("/blog/solar-lantern"), "http://192.168.1.1/", "http://169.254.169.254/latest/"):
        page = fetch(url)
        assert not page.ok and page.error.startswith("Refused:"), url
    assert site.requests == []


def test_conditional_get_skips_an_unchanged_page(site):
    site.route("/news", Reply(body=fixture("article.html"), headers={"ETag": '"abc"'}))
    first = fetch(site.url("/news"))
    assert first.ok and first.etag == '"abc"'
    again = Fetcher(policy()).fetch(site.url("/news"), etag=first.etag, last_modified="Tue, 05 Mar 2024 09:30:00 GMT")
    assert again.not_modified and not again.ok and again.error == "" and again.body == b""
    sent = site.hits("/news")[-1]["headers"]
    assert sent["If-None-Match"] == '"abc"' and sent["If-Modified-Since"] == "Tue, 05 Mar 2024 09:30:00 GMT"


def test_requests_to_one_domain_are_spaced_across_fetchers(site):
    site.route("/tick", Reply(body=b"<p>tick</p>"))
    fetchers = [Fetcher(policy(rate_limit_per_minute=300)) for _ in range(2)]  # 0.2 s apart
    threads = [threading.Thread(target=f.fetch, args=(site.url("/tick"),)) for f in fetchers for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = sorted(r["at"] for r in site.hits("/tick"))
    assert len(times) == 4
    assert all(b - a >= 0.18 for a, b in itertools.pairwise(times)), times


def test_at_most_n_requests_run_at_once_per_domain(site):
    site.route("/heavy", Reply(body=b"<p>heavy</p>", delay=0.3))
    fetcher = Fetcher(policy(domain_concurrency=1))
    threads = [threading.Thread(target=fetcher.fetch, args=(site.url("/heavy"),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(site.hits("/heavy")) == 3 and site.max_in_flight == 1


def test_limits_hold_in_process_when_redis_is_down(site, monkeypatch, caplog):
    down = redis.Redis(port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(politeness, "_redis_client", down)
    monkeypatch.setattr(politeness.redis_down, "down_until", 0.0)
    site.route("/tick", Reply(body=b"<p>tick</p>"))
    fetcher = Fetcher(policy(rate_limit_per_minute=300))
    started = time.monotonic()
    assert all(fetcher.fetch(site.url("/tick")).ok for _ in range(3))
    assert time.monotonic() - started < 2  # one failed connection, then no more attempts
    times = [r["at"] for r in site.hits("/tick")]
    assert all(b - a >= 0.18 for a, b in itertools.pairwise(times)), times
    assert caplog.text.count("kept in-process") == 1
