"""Scraping benchmark: results ingested per second (parse + sentiment + store), weighted
search latency over N results, and the raw pymongo insert_many rate into the same server.

    .venv/bin/python -m bench.scraping_bench --results 100000

Starts its own SecantusDB on a free port (in a temporary folder unless --storage says), or
uses --mongodb-uri (a real MongoDB) instead, migrates a fresh database, then:

1. ingest: RSS pages of --per-page entries each (generated review-like texts) are parsed by
   the feed extractor and stored by the ingest service (VADER sentiment, search terms,
   content hashes, bulk inserts into the indexed results collection);
2. raw: the same documents (up to --raw-sample of them), read back, inserted with pymongo
   insert_many into a collection with the same indexes, and into one with no index but _id;
3. search: --queries one- to three-word queries, each a count and a first page of 20 (what
   the API does): words drawn like the texts (a Zipf distribution over a 5000-word
   vocabulary) but not among the --skip-top most frequent, the same with filters, and words
   drawn uniformly (mostly rare ones); then the analytics pipeline. Latency grows with the
   number of matching results (printed too): on SecantusDB each match costs ~0.1 ms, it
   sorts in memory and a limit does not stop its scan, so a word found in most of 100k
   results takes longer than pymongo's 5 s server monitor allows (the query is cancelled);
   `--skip-top 0` shows it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from xml.sax.saxutils import escape

WORDS = ("lantern battery kettle coffee grinder espresso blender lamp desk backpack umbrella headphones speaker "
         "charger cable screen keyboard mouse chair table bottle jacket shoe boot glove scarf tent stove pan pot "
         "knife spoon plate mug cup filter bean roast brew light garden solar panel pump hose seed flower tree "
         "delivery package box shipping refund support warranty price quality design colour size weight sound "
         "noise handle button switch motor engine wheel brake frame seat saddle chain gear pedal helmet lock "
         "camera lens tripod strap case bag pocket zipper fabric leather wool cotton plastic metal glass steel "
         "wood paper ink pen pencil notebook printer scanner router modem antenna signal wifi bluetooth app").split()
OPINIONS = ["I love it, absolutely wonderful.", "Great value and excellent quality!", "Fantastic, highly recommended.",
            "Terrible, it broke after two days.", "Awful support, I hate it.", "The worst purchase ever.",
            "It arrived on Tuesday.", "It comes in three colours.", "Nothing special to report."]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=int, default=20000, help="results to ingest (default 20000)")
    parser.add_argument("--per-page", type=int, default=250, help="feed entries per page (default 250)")
    parser.add_argument("--queries", type=int, default=50, help="search queries per query set (default 50)")
    parser.add_argument("--skip-top", type=int, default=30,
                        help="leave the N most frequent words out of the queries (default 30; each is in more "
                             "than a quarter of the results)")
    parser.add_argument("--raw-sample", type=int, default=20000,
                        help="documents for the raw insert_many comparison (default 20000)")
    parser.add_argument("--storage", default="",
                        help="SecantusDB storage path (default: a temporary folder, removed after; ':memory:' "
                             "runs out at about 85k results)")
    parser.add_argument("--mongodb-uri", default="", help="use this MongoDB instead of starting SecantusDB")
    return parser.parse_args()


def setup_django(args):
    from requestdesk import embedded

    server = None
    uri = args.mongodb_uri
    if not uri:
        if not args.storage:
            args.storage = args.temporary = tempfile.mkdtemp(prefix="scraping-bench-")
        server = embedded.start_mongo(embedded.free_port(), args.storage)
        uri = server.url
    os.environ.update(MONGODB_URI=uri, MONGODB_NAME=f"bench_scraping_{os.getpid()}",
                      DJANGO_SETTINGS_MODULE="requestdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"server     {'SecantusDB ' + args.storage if server else uri}   (migrate {time.perf_counter() - started:.1f}s)")
    return server


def vocabulary(rnd: random.Random, size: int = 5000) -> list[str]:
    """The product words, then made-up words: `size` words, ranked for a Zipf distribution."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo", "pe", "sa", "do", "gi", "ha", "ju", "be", "fa"]
    words = list(WORDS)
    while len(words) < size:
        word = "".join(rnd.choices(syllables, k=rnd.randint(2, 4)))
        if word not in words:
            words.append(word)
    return words


def zipf_words(rnd: random.Random, vocab: list[str], k: int) -> list[str]:
    return rnd.choices(vocab, cum_weights=_CUMULATIVE[len(vocab)], k=k)


_CUMULATIVE: dict[int, list[float]] = {}


def _cumulative(size: int) -> None:
    total, cumulative = 0.0, []
    for rank in range(size):
        total += 1 / (rank + 1)
        cumulative.append(total)
    _CUMULATIVE[size] = cumulative


def feed_page(rnd: random.Random, vocab: list[str], page: int, entries: int) -> bytes:
    items = []
    for n in range(entries):
        words = zipf_words(rnd, vocab, rnd.randint(25, 60))
        title = " ".join(zipf_words(rnd, vocab, 3)).capitalize()
        text = f"{' '.join(words).capitalize()}. {rnd.choice(OPINIONS)} {rnd.choice(OPINIONS)}"
        day = 1 + (page * entries + n) % 28
        items.append(f"<item><title>{escape(title)}</title><link>https://bench.example/{page}/{n}</link>"
                     f"<pubDate>{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][day % 7]}, {day:02d} Feb 2024 "
                     f"10:00:00 GMT</pubDate><description>{escape(text)}</description></item>")
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>'
            + "".join(items) + "</channel></rss>").encode()


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    server = setup_django(args)
    try:
        run(args)
    finally:
        if server:
            server.stop()
        if getattr(args, "temporary", None):
            shutil.rmtree(args.temporary, ignore_errors=True)


def run(args):
    from django.db import connection

    from scraping import selectors
    from scraping.models import Result, Target
    from scraping.services import extraction, ingest, projects
    from tenants.models import Company

    rnd = random.Random(42)
    vocab = vocabulary(rnd)
    _cumulative(len(vocab))
    company = Company.objects.create(name="Bench")
    project = projects.create_project(company=company, name="bench")
    pages = max(1, args.results // args.per_page)
    bodies = [feed_page(rnd, vocab, page, args.per_page) for page in range(pages)]
    targets = [Target.objects.create(company=company, project=project, url=f"https://bench.example/feed/{page}",
                                     platform=Target.FEED) for page in range(pages)]

    parse_s = store_s = 0.0
    stored = 0
    for page, (body, target) in enumerate(zip(bodies, targets, strict=True)):
        started = time.perf_counter()
        platform, items = extraction.extract(body=body, content_type="application/rss+xml", url=target.url)
        parsed = time.perf_counter()
        stored += ingest.ingest(target=target, items=items, platform=platform).created
        parse_s += parsed - started
        store_s += time.perf_counter() - parsed
        if page % 20 == 19:
            print(f"  ingested {stored}", file=sys.stderr)
    total = parse_s + store_s
    print(f"ingest     {stored} results in {total:.1f}s = {stored / total:,.0f} results/s "
          f"(parse {parse_s:.1f}s, sentiment + terms + store {store_s:.1f}s)")

    results = connection.get_collection("results")
    docs = [{k: v for k, v in doc.items() if k != "_id"}
            for doc in results.find({}, batch_size=2000).limit(args.raw_sample)]
    db = results.database
    for name, indexed in (("raw_indexed", True), ("raw_plain", False)):
        raw = db[name]
        raw.drop()
        if indexed:
            for spec in results.index_information().values():
                if spec["key"] != [("_id", 1)]:
                    options = {k: v for k, v in spec.items() if k in ("unique", "partialFilterExpression")}
                    raw.create_index(spec["key"], **options)
        copies = [dict(doc) for doc in docs]
        started = time.perf_counter()
        for start in range(0, len(copies), 500):
            raw.insert_many(copies[start:start + 500], ordered=False)
        elapsed = time.perf_counter() - started
        label = "same indexes as results" if indexed else "no index but _id"
        print(f"raw        pymongo insert_many, {label}: {len(copies) / elapsed:,.0f} docs/s")
        raw.drop()

    def timed(query, filters):
        started = time.perf_counter()
        found = selectors.search(company=company, query=query, filters=filters)
        candidates = found.count()
        found[0:20]
        return (time.perf_counter() - started) * 1000, candidates

    where = "on the server" if selectors.scores_on_server() else "client-side"
    plain, filtered = selectors.ResultFilters(), selectors.ResultFilters(project=project.pk, sentiment="positive")
    def common(count):  # drawn like the texts, but not among the most frequent words
        return [w for w in zipf_words(rnd, vocab, 50) if vocab.index(w) >= args.skip_top][:count]

    query_sets = [
        (f"common words (Zipf, ranks >= {args.skip_top})", plain, lambda: common(rnd.randint(1, 3))),
        ("common words, project + sentiment filter", filtered, lambda: common(rnd.randint(1, 3))),
        ("any words (uniform)", plain, lambda: rnd.sample(vocab, rnd.randint(1, 3))),
    ]
    print(f"search     over {Result.objects.count()} results, {args.queries} queries of 1-3 words each, "
          f"count + first page of 20, scored {where}:")
    for label, filters, words in query_sets:
        runs = [timed(" ".join(words()), filters) for _ in range(args.queries)]
        latencies, matches = [r[0] for r in runs], [r[1] for r in runs]
        print(f"  {label:<44} p50 {statistics.median(latencies):6.0f} ms  p95 {percentile(latencies, 0.95):6.0f} ms"
              f"   (matches p50 {statistics.median(matches):.0f}, p95 {percentile(matches, 0.95):.0f})")
    match = selectors.search(company=company, query="lantern battery").pipeline()[0]
    plan = db.command("explain", {"aggregate": "results", "pipeline": [match], "cursor": {}},
                      verbosity="queryPlanner")
    print(f"plan       {'IXSCAN result_company_terms' if 'result_company_terms' in str(plan) else 'NO INDEX'}")
    started = time.perf_counter()
    report = selectors.sentiment_analytics(company=company, filters=selectors.ResultFilters(project=project.pk),
                                           interval="day")
    print(f"analytics  daily series + totals + per target over {report['totals']['count']} results: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
