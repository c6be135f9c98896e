"""Keyword search scores Okapi BM25 over each collection: the scores are the formula's over the
chunks as stored, its statistics follow every write, a warm query reads no chunk, and on a
public question-answering sample (SQuAD, tests/fixtures/squad) keyword search ranks at least
as well as bm25s over the very same chunks, and hybrid search at least as well as the fusion
of the anchors."""

import logging
import math
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench import retrieval_bench
from knowledge.models import KnowledgeChunk
from knowledge.services import ingest, keywords, retrieval
from requestdesk.text import tokenize
from tests.paths import FIXTURES
from tests.support.knowledge import knowledge_settings, make_collection  # noqa: F401

SAMPLE = FIXTURES / "squad" / "sample-30.json"
DOCS = {
    "tents": ("Tents", "Our tents sleep two to six. Every tent has a porch; the family tent has two porches."),
    "stoves": ("Stoves", "Gas stoves boil a litre of water in four minutes."),
    "lanterns": ("Lanterns", "A lantern runs for forty hours on one battery. Lanterns hang from a tent's roof."),
    "boots": ("Boots", "Walking boots need a week of wear before a long walk; wax keeps the leather dry."),
}


def _fill(collection, docs=DOCS):
    items = [ingest.text_item(title=title, text=text, source_id=f"doc:{key}") for key, (title, text) in docs.items()]
    ingest.ingest_items(collection=collection, items=items, source_type="manual", full=False)
    collection.refresh_from_db()
    return collection


def _bm25(collection, query: str, k1: float = 1.5, b: float = 0.75) -> dict:
    """BM25 as Lucene scores it (idf ln(1 + (N - df + 0.5) / (df + 0.5)), no (k1 + 1) factor: the
    same order) of every chunk of the collection, computed from the stored chunks."""
    docs = {
        chunk.pk: Counter(tokenize(f"{chunk.title} {chunk.content}"))
        for chunk in KnowledgeChunk.objects.filter(collection=collection)
    }
    average = sum(sum(tf.values()) for tf in docs.values()) / len(docs)
    scores = {}
    for pk, tf in docs.items():
        length, score = sum(tf.values()), 0.0
        for term in dict.fromkeys(tokenize(query)):
            df = sum(1 for other in docs.values() if term in other)
            if tf[term]:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                score += idf * tf[term] / (tf[term] + k1 * (1 - b + b * length / average))
        if score:
            scores[pk] = score
    return scores


@pytest.fixture
def gear(world):
    return _fill(make_collection(world.a, name="gear"))


@pytest.mark.parametrize("query", ["tent", "lantern battery", "tents for a family", "dry leather boots walk"])
def test_keyword_scores_are_okapi_bm25_of_the_stored_chunks(world, gear, query):
    expected = _bm25(gear, query)
    found = keywords.search([gear], query, 10)
    assert [pk for pk, _ in found] == sorted(expected, key=lambda pk: -expected[pk])
    assert [score for _, score in found] == pytest.approx([expected[pk] for pk, _ in found], rel=1e-5)


def test_term_frequency_and_length_count(world, gear):
    """ "tent" is in two chunks: the one that repeats it, in fewer words, is first."""
    ranked = [hit.source_id for hit in retrieval.search(company=world.a, query="tent", mode="keyword", limit=5)]
    assert ranked == ["doc:tents", "doc:lanterns"]


def test_statistics_follow_writes(world, gear):
    before = dict(keywords.search([gear], "boots", 10))
    _fill(gear, {"socks": ("Socks", "Wool socks for boots, boots and more boots.")})
    after = dict(keywords.search([gear], "boots", 10))
    socks = KnowledgeChunk.objects.get(collection=gear, source_id="doc:socks").pk
    assert set(after) == set(before) | {socks}
    assert after == pytest.approx(_bm25(gear, "boots"), rel=1e-5)  # df, N and average length changed
    boots = next(iter(before))
    assert after[boots] < before[boots]  # "boots" is no longer rare
    ingest.remove_source(collection=gear, source_id="doc:socks")
    gear.refresh_from_db()
    assert dict(keywords.search([gear], "boots", 10)) == pytest.approx(before, rel=1e-6)


def test_a_warm_query_reads_no_chunk(world, gear):
    keywords.search([gear], "lantern", 5)  # the cold load, once per write to the collection
    with CaptureQueriesContext(connection) as queries:
        for query in ("lantern", "gas stove water", "tent porch", "nothing matches this"):
            keywords.search([gear], query, 5)
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_queries_and_chunks_share_the_tokenizer(world, gear):
    """Plurals fold and stop words drop on both sides: "porches" finds "porch"."""
    [top, *_] = retrieval.search(company=world.a, query="the porches", mode="keyword", limit=3)
    assert top.source_id == "doc:tents"
    assert retrieval.search(company=world.a, query="the and of", mode="keyword") == []
    assert retrieval.search(company=world.a, query="kayak", mode="keyword") == []


def test_on_a_squad_sample_keyword_ranks_like_bm25s_and_hybrid_no_worse(world):
    qa = retrieval_bench.load_squad(SAMPLE)
    assert (len(qa.questions), len(qa.paragraphs)) == (30, 15)
    collection = retrieval_bench.upload(qa, log=lambda message: None)
    anchors = retrieval_bench.Anchors(collection)
    questions, expected = [q for q, _ in qa.questions], [source for _, source in qa.questions]

    def rates(rank):
        return retrieval_bench.hit_rates([rank(q) for q in questions], expected)

    for mode in ("keyword", "hybrid"):
        product = rates(lambda q, mode=mode: retrieval_bench.product_ranking(collection, mode, q))
        anchor = rates(lambda q, mode=mode: anchors.ranking(mode, q))
        assert product[0] >= anchor[0] and product[1] >= anchor[1], (mode, product, anchor)
    assert rates(lambda q: retrieval_bench.product_ranking(collection, "hybrid", q))[1] >= 0.95


def test_building_an_index_prints_nothing(world):
    """The root handler prints what reaches it at any level: bm25s's debug lines must not."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        collection = _fill(make_collection(world.a))
        keywords.search([collection], "tent", 5)
    finally:
        logging.getLogger().removeHandler(handler)
    assert keywords.index_for(collection).terms > 0
    assert not [record.getMessage() for record in seen if record.name.startswith("bm25s")]
