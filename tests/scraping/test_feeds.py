"""Feeds of every dialect (RSS 0.91, RSS 1.0/RDF, RSS 2.0 with content:encoded, Atom, JSON
Feed), full content over summaries, XML entity tricks refused, sloppy feeds still read, and a
target that follows each entry's link to the article, over real HTTP."""

from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest

from scraping.models import Result, ScrapeJob
from scraping.services import jobs
from scraping.services.extraction import ExtractionError, extract
from tests.paths import FIXTURES
from tests.support.scraping import HTML, Reply, fast_scraping, fixture, make_project, make_target, system_presets  # noqa: F401

FEEDS = FIXTURES / "feeds"


def feed(name: str, content_type: str = "text/xml", url: str = "https://feeds.example/feed"):
    return extract(body=(FEEDS / name).read_bytes(), content_type=content_type, url=url)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_rss_091_with_a_doctype_and_latin1():
    platform, items = feed("rss091.xml")
    assert platform == "feed"
    assert [(i.title, i.url) for i in items] == [
        ("Rye loaves are back", "http://bakery.example/rye"),
        ("Oven repair", "http://bakery.example/oven"),
    ]
    assert items[0].text == "Our dark rye is back on the shelves, café customers rejoice."


def test_rss_10_rdf_keeps_the_full_content():
    platform, [item] = feed("rss10.rdf", content_type="application/rdf+xml")
    assert platform == "feed" and item.title == "Crossing the Alps"
    assert item.text == "Six passes in four days.\n\nThe descent from the Stelvio was the best hour of the year."
    assert item.author == "Ivo" and item.date == utc(2024, 5, 2, 7, 15)
    assert item.url == "https://journal.example/alps"


def test_rss_20_content_encoded_over_the_teaser():
    _, (roses, relative) = feed("rss20_full.xml", url="https://garden.example/feed")
    assert roses.text == (
        "When\n\nPrune in early spring, just as the buds swell.\n\nHow\n\nCut above an outward-facing bud, at an angle."
    )
    assert "Read more" not in roses.text and "alert" not in roses.text
    assert roses.author == "Lena" and roses.date == utc(2024, 3, 7, 17, 30)
    assert roses.url == "https://garden.example/posts/roses"
    assert relative.url == "https://garden.example/posts/relative" and relative.text == "Only a summary here."


def test_the_existing_rss_and_atom_fixtures():
    _, items = extract(body=fixture("feed.xml"), content_type="application/rss+xml", url="https://example.org/feed")
    assert [i.title for i in items] == ["Wonderful new espresso blend", "Grinder recall", "Opening hours"]
    assert items[0].author == "Dana" and items[0].date == utc(2024, 3, 4, 8)
    _, (green, oolong) = extract(body=fixture("atom.xml"), content_type="text/xml", url="https://tea.example/atom")
    assert green.url == "https://tea.example/entries/green" and oolong.date == utc(2024, 3, 8, 9)


def test_json_feed():
    platform, items = feed("feed.json", content_type="application/json", url="https://ramen.example/feed.json")
    assert platform == "feed"  # detected by its version, whatever the content type
    shoyu, tonkotsu = items  # the item with neither title nor text is left out
    assert (
        shoyu.title == "Shoyu at Menya" and shoyu.text == "A superb broth, deep and clear.\n\nThe noodles were perfect."
    )
    assert shoyu.author == "Kenji" and shoyu.date == utc(2024, 2, 11, 0) and shoyu.url == "https://ramen.example/shoyu"
    assert tonkotsu.author == "Aiko" and tonkotsu.text == "Too salty and lukewarm."
    assert tonkotsu.url == "https://other.example/tonkotsu" and tonkotsu.date == utc(2024, 2, 12, 12)


def test_a_broken_json_feed_is_an_extraction_error():
    with pytest.raises(ExtractionError, match="not valid JSON"):
        extract(
            body=b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
            content_type="application/feed+json",
            url="https://x.example/",
        )
    with pytest.raises(ExtractionError, match="items"):
        extract(
            body=b'{"version": "https://jsonfeed.org/version/1.1"}',
            content_type="application/feed+json",
            url="https://x.example/",
        )


@pytest.mark.parametrize("name", ["entity_bomb.xml", "external_entity.xml"])
def test_entity_declarations_are_refused(name):
    with pytest.raises(ExtractionError, match="entities"):
        feed(name)


def test_a_sloppy_feed_is_still_read():
    _, [item] = feed("sloppy.xml")  # bare "&": not well-formed, feedparser reads it anyway
    assert item.url == "https://chips.example/cod" and "again" in item.text


ARTICLE = b"""<html lang="en"><head><title>Pruning roses | Garden Notes</title></head><body>
<nav><a href="/">Home</a> <a href="/shop">Shop</a></nav>
<article><h1>Pruning roses</h1>
<p>Prune in early spring, just as the buds swell, and never in the frost of late winter.</p>
<p>Cut above an outward-facing bud at an angle, so that rain runs off and the new shoot grows outward.</p>
<p>Remove dead, damaged and crossing stems first; then thin the centre to let the air through.</p>
</article><footer>Copyright Garden Notes</footer></body></html>"""

TEASER_FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Garden Notes</title>
<item><title>Pruning roses</title><link>{base}/posts/roses</link><description>Prune in spring.</description>
<pubDate>Thu, 07 Mar 2024 18:30:00 GMT</pubDate></item>
<item><title>Gone</title><link>{base}/posts/gone</link><description>This page is missing.</description></item>
</channel></rss>"""


@pytest.mark.parametrize("follow", [True, False])
def test_a_target_can_follow_entry_links(world, site, fast_scraping, follow):
    site.route(
        "/garden.xml", Reply(body=TEASER_FEED.format(base=site.base).encode(), content_type="application/rss+xml")
    )
    site.route("/posts/roses", Reply(body=ARTICLE, content_type=HTML))
    site.route("/posts/gone", Reply(status=404, body=b"not here"))
    project = make_project(world.a, name="Garden")
    target = make_target(project, site.url("/garden.xml"))
    target.options.follow_links = follow
    target.save()
    job = jobs.run_job(job_id=jobs.create_job(project=project).pk)
    assert job.status == ScrapeJob.COMPLETED and job.results_created == 2
    roses = Result.objects.get(content__title="Pruning roses")
    gone = Result.objects.get(content__title="Gone")
    assert gone.content.text == "This page is missing."  # its page failed: the feed's text stays
    assert roses.published_at == utc(2024, 3, 7, 18, 30)
    if follow:
        assert roses.content.text.startswith("Prune in early spring, just as the buds swell")
        assert "thin the centre" in roses.content.text and "Copyright" not in roses.content.text
        assert roses.content.language == "en" and len(site.hits("/posts/roses")) == 1
    else:
        assert roses.content.text == "Prune in spring." and site.hits("/posts/roses") == []
