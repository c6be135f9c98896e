"""Extraction of the fixture pages: an article's main text and metadata, one item per JSON-LD
review, per RSS item and per Atom entry, CSS selectors, and platform detection."""

import json
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest

from scraping.models import TargetOptions
from scraping.services import extraction
from scraping.services.extraction import ExtractionError, extract
from tests.paths import FIXTURES
from tests.support.scraping import HTML, XML, fixture

URL = "https://shop.example/page"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_article_main_text_title_author_date():
    platform, [item] = extract(body=fixture("article.html"), content_type=HTML, url=URL)
    assert platform == "article"
    assert item.title == "The Solar Lantern Review"
    assert item.author == "Jane Gardener"
    assert item.date == utc(2024, 3, 5, 9, 30)
    assert item.url == URL
    assert item.language == "en"
    # The byline and the <h1> repeating the title are metadata, not the article's text.
    assert item.text.startswith("I absolutely love this solar lantern.")
    assert "Highly recommended" in item.text and "Verdict" in item.text
    # Navigation, sidebar, footer, scripts and styles are not the article.
    for noise in ("terrible deals", "newsletter", "Copyright", "tracking", "font-family"):
        assert noise not in item.text


def test_article_without_article_element_leaves_the_menu_out():
    page = b"""<html><head><title>Plain page</title></head><body>
      <nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/contact">Contact</a></li></ul></nav>
      <div class="content"><p>The first long paragraph of the actual story, with many words in it.</p>
      <p>A second paragraph that also belongs to the story and is long enough.</p></div>
      <time datetime="2024-01-02">2 Jan</time></body></html>"""
    _, [item] = extract(body=page, content_type="text/html", url=URL)
    assert item.title == "Plain page" and item.date == utc(2024, 1, 2)
    assert item.text.startswith("The first long paragraph") and "Contact" not in item.text


def test_jsonld_reviews_give_one_item_per_review():
    platform, items = extract(body=fixture("reviews.html"), content_type=HTML, url=URL)
    assert platform == "reviews"
    assert [(i.title, i.author, i.rating) for i in items] == [
        ("Great kettle", "Alice", 5.0),
        ("Broke after a week", "Bob", 1.0),
        ("Acme Kettle", "Carol", 3.0),
    ]
    assert items[0].text.startswith("I love this kettle.") and items[0].date == utc(2024, 3, 1)
    assert all(i.url == URL for i in items)


def test_rss_items():
    platform, items = extract(body=fixture("feed.xml"), content_type=XML, url="https://example.org/feed")
    assert platform == "feed"
    assert [i.title for i in items] == ["Wonderful new espresso blend", "Grinder recall", "Opening hours"]
    first = items[0]
    assert first.text == "Our amazing new espresso blend is rich, smooth and delicious. Customers love it."
    assert first.author == "Dana" and first.url == "https://example.org/posts/espresso"
    assert first.date == utc(2024, 3, 4, 8)
    assert items[1].author == "safety@example.org (Eve)"
    assert items[2].text == "The shop opens at nine on weekdays."  # content:encoded, markup removed


def test_atom_entries_are_detected_without_a_feed_content_type():
    platform, items = extract(body=fixture("atom.xml"), content_type="text/xml", url="https://tea.example/atom")
    assert platform == "feed"
    green, oolong = items
    assert (green.title, green.author, green.url) == ("Green tea tasting", "Frank", "https://tea.example/entries/green")
    assert green.date == utc(2024, 3, 7, 10) and green.text == "A lovely, fresh and delightful tasting session."
    assert oolong.date == utc(2024, 3, 8, 9) and oolong.text == "Roasted and floral."


def test_css_selectors_give_one_item_per_match():
    options = TargetOptions(
        item_selector=".comment",
        text_selector=".body",
        author_selector=".who",
        date_selector="time",
        link_selector="a.permalink",
    )
    platform, items = extract(
        body=fixture("custom.html"), content_type=HTML, url="https://forum.example/t/1", options=options
    )
    assert platform == "custom"  # detected: the target has selectors
    assert [(i.author, i.text) for i in items] == [
        ("Gina", "This forum is brilliant, everyone is so helpful and kind!"),
        ("Hank", "Worst update ever. Everything is broken and slow."),
    ]
    assert items[0].date == utc(2024, 2, 10, 12) and items[0].url == "https://forum.example/thread/1#c1"


def test_forced_platforms():
    # An article page read as reviews has none; a page read as custom needs selectors.
    assert extract(body=fixture("article.html"), content_type=HTML, url=URL, platform="reviews") == ("reviews", [])
    with pytest.raises(ExtractionError, match="selector"):
        extract(body=fixture("article.html"), content_type=HTML, url=URL, platform="custom", options=TargetOptions())
    with pytest.raises(ExtractionError, match="not well-formed"):
        extract(body=b"<rss><channel><item>", content_type=XML, url=URL, platform="feed")


def test_charset_and_dates():
    latin = (
        "<html><head><meta charset='iso-8859-1'><title>Caf\xe9</title></head><body><article>"
        "<p>Tr\xe8s bon caf\xe9.</p></article></body></html>"
    )
    _, [item] = extract(body=latin.encode("latin-1"), content_type="text/html", url=URL)
    assert item.title == "Café" and item.text == "Très bon café."
    assert extraction.parse_date("Mon, 04 Mar 2024 08:00:00 +0100") == utc(2024, 3, 4, 7)
    assert extraction.parse_date("not a date") is None


def test_check_selector():
    extraction.check_selector("div.comment > .body, time[datetime]")
    for selector in ("div[[", "p >"):
        with pytest.raises(ValueError, match="not a valid CSS selector"):
            extraction.check_selector(selector)


PAGES = FIXTURES / "pages"
LABELLED = json.loads((PAGES / "evaldata.json").read_text())


@pytest.mark.parametrize("url", list(LABELLED))
def test_real_world_shaped_pages(url):
    """Cookie banners, navigation, sidebars, share bars, related links, comments, newsletters
    and footers are left out; title, author and date come from the page's metadata (meta
    tags or JSON-LD)."""
    labels = LABELLED[url]
    platform, [item] = extract(body=(PAGES / "cache" / labels["file"]).read_bytes(), content_type=HTML, url=url)
    assert platform == "article" and item.language == "en"
    assert (item.title, item.author) == (labels["title"], labels["author"])
    assert item.date == datetime.fromisoformat(labels["date"])
    assert [snippet for snippet in labels["with"] if snippet not in item.text] == []
    assert [snippet for snippet in labels["without"] if snippet in item.text] == []


def test_the_extraction_bench_scores_like_trafilaturas_evaluation():
    from bench import extraction_bench

    pages = extraction_bench.load(PAGES)
    assert len(pages) == len(LABELLED) == 2
    perfect = extraction_bench.score(pages, lambda url, body: " ".join(LABELLED[url]["with"]))
    assert (perfect.tp, perfect.fp, perfect.fn, perfect.f1()) == (10, 0, 0, 1.0)
    everything = extraction_bench.score(
        pages, lambda url, body: " ".join(LABELLED[url]["with"] + LABELLED[url]["without"])
    )
    assert (everything.tp, everything.fp) == (10, 16) and everything.f1() == pytest.approx(20 / 36)

    def crash(url, body):
        raise RuntimeError("boom")

    assert extraction_bench.score(pages, crash, log=lambda *a: None).fn == 10
    ours = extraction_bench.score(pages, extraction_bench.ours)
    alone = extraction_bench.score(pages, extraction_bench.trafilatura_alone)
    assert ours.f1() >= alone.f1() and ours.f1() >= 0.9
