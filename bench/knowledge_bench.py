"""Knowledge benchmark: chunks embedded per second with all-MiniLM-L6-v2 against the library's
own encode of the same texts, and search latency at each store size through the product
against raw numpy kNN over the very same float32 vectors.

    .venv/bin/python -m bench.knowledge_bench --chunks 10000,100000

Starts its own SecantusDB on a free port (in memory unless --storage names a folder), or
uses --mongodb-uri, migrates a fresh database, then:

1. embed: --embed-sample (200) generated help-centre paragraphs (~500-800 characters, what the
   chunker produces) embedded by the product's LocalEmbedder (model load timed apart), and,
   as the baseline, by SentenceTransformer.encode with its defaults;
2. store: chunks with random unit 384-d vectors (embedding 100k texts would take ~10
   minutes here) and Zipf-distributed texts, bulk-inserted up to each size;
3. search at each size, --knn-queries queries each, product and baseline timed in turn:
   - vector kNN (knowledge.services.vectors.search: the cached float32 matrix, exact cosine)
     against raw numpy (matrix @ q, argpartition), checked to give the same answers;
   - the retrieval service end to end in vector mode (retrieval.search: query embedded by
     MiniLM, kNN, chunks loaded) against MiniLM encode + raw numpy; keyword and hybrid mode
     printed;
   plus the cold loads of the collection's vectors and BM25 index into the in-process cache
   (paid once per process after every write to the collection).

Retrieval quality (hit@k on a question-answering set) is bench.retrieval_bench.
"""

from __future__ import annotations

import random
import sys
import time

import numpy as np

from bench import harness
from bench.table import Row

WORDS = (
    "order delivery shipping refund return warranty tent stove backpack sleeping bag zip seam boot jacket "
    "glove lantern battery charger price discount voucher payment card paypal invoice account password "
    "login address courier parcel tracking store opening hours sunday weekend size colour fabric wash dry "
    "repair spare part exchange damaged missing late express standard international customs duty tax"
).split()


def _vocabulary(size: int = 5000) -> tuple[list[str], list[float]]:
    """The help-centre words, then made-up ones, Zipf-weighted: a few words are in most
    chunks, most words in few."""
    rnd, words = random.Random(1), list(WORDS)
    while len(words) < size:
        word = "".join(rnd.choices("bdfgklmnprstvz", k=2)) + rnd.choice("aeiou") + rnd.choice("lmnrst")
        if word not in words:
            words.append(word)
    return words, [1 / (rank + 1) for rank in range(len(words))]


VOCABULARY, WEIGHTS = _vocabulary()


def paragraph(rnd: random.Random) -> str:
    sentences = []
    while sum(len(s) for s in sentences) < rnd.randint(500, 800):
        words = rnd.choices(VOCABULARY, weights=WEIGHTS, k=rnd.randint(8, 18))
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def add_arguments(parser):
    parser.add_argument("--chunks", default="10000,100000", help="store sizes, comma-separated (default 10000,100000)")
    parser.add_argument(
        "--embed-sample", type=int, default=200, help="chunks embedded for the throughput figure (default 200)"
    )
    parser.add_argument("--knn-queries", type=int, default=50, help="queries timed per size and mode (default 50)")


def rows(args, log=harness.log) -> list[Row]:
    from knowledge.models import KnowledgeCollection
    from tenants.models import Company

    rnd, vectors_rng = random.Random(7), np.random.default_rng(7)
    table = [embedding_row(args, rnd, log)]
    company = Company.objects.create(name="bench-knowledge")
    collection = KnowledgeCollection.objects.create(company=company, name="bench", embedding_dimensions=384)
    stored = 0
    for size in sorted(int(s) for s in args.chunks.split(",")):
        elapsed = fill(collection, stored, size, rnd, vectors_rng)
        log(
            f"store      {size - stored:,} chunks inserted in {elapsed:.1f}s "
            f"= {(size - stored) / elapsed:,.0f} chunks/s (bulk_create, 1000 per batch)"
        )
        stored = size
        table += size_rows(collection, size, args, rnd, log)
    return table


def embedding_row(args, rnd, log) -> Row:
    from knowledge.services.embeddings import LocalEmbedder, local_model

    started = time.perf_counter()
    model = local_model()
    load = time.perf_counter() - started
    texts = [paragraph(rnd) for _ in range(args.embed_sample)]
    LocalEmbedder().embed(texts[:16])  # warm up
    product, baseline = harness.interleaved(
        LocalEmbedder().embed, lambda batch: model.encode(batch, show_progress_bar=False), [texts]
    )
    import torch

    log(
        f"embed      MiniLM load {load:.1f}s; {len(texts)} chunks (avg {sum(map(len, texts)) // len(texts)} chars) "
        f"in {product[0]:.1f}s, library encode {baseline[0]:.1f}s ({torch.get_num_threads()} torch thread(s); "
        f"KNOWLEDGE_TORCH_THREADS)"
    )
    return Row(
        "knowledge embed (LocalEmbedder, MiniLM)",
        len(texts) / product[0],
        "chunks/s",
        "SentenceTransformer.encode (defaults)",
        len(texts) / baseline[0],
    )


def fill(collection, start: int, stop: int, rnd: random.Random, vectors_rng) -> float:
    from django.db.models import F

    from knowledge.models import KnowledgeChunk, KnowledgeCollection
    from requestdesk.text import terms

    started = time.perf_counter()
    for offset in range(start, stop, 1000):
        count = min(1000, stop - offset)
        matrix = vectors_rng.standard_normal((count, 384)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        batch = []
        for i in range(count):
            text = paragraph(rnd)[:300]
            batch.append(
                KnowledgeChunk(
                    company_id=collection.company_id,
                    collection=collection,
                    content=text,
                    embedding=matrix[i],
                    source_type="manual",
                    source_id=f"doc:{offset + i}",
                    content_hash="0" * 64,
                    terms=terms(text),
                    metadata={"title": f"Doc {offset + i}", "url": ""},
                )
            )
        KnowledgeChunk.objects.bulk_create(batch)
    KnowledgeCollection.objects.filter(pk=collection.pk).update(
        chunk_count=stop, chunks_version=F("chunks_version") + 1
    )
    collection.refresh_from_db()
    return time.perf_counter() - started


def size_rows(collection, size: int, args, rnd, log) -> list[Row]:
    from knowledge.services import keywords, retrieval, vectors
    from knowledge.services.embeddings import LocalEmbedder, local_model

    started = time.perf_counter()
    cached = vectors.vectors_for(collection)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    index = keywords.index_for(collection)
    cold_terms = time.perf_counter() - started
    matrix = cached.matrix
    log(
        f"{size:>7,} chunks   cold load into the cache (once per write to the collection): vectors "
        f"{cold:.2f}s ({matrix.nbytes / 1e6:.0f} MB float32), BM25 index {cold_terms:.2f}s "
        f"({index.terms:,} terms, {index.nbytes / 1e6:.0f} MB)"
    )
    queries = [" ".join(rnd.choices(VOCABULARY, weights=WEIGHTS, k=3)) for _ in range(args.knn_queries)]
    query_vectors = LocalEmbedder().embed(queries)

    def raw(q):
        scores = matrix @ q
        top = np.argpartition(-scores, 10)[:10]
        return top[np.argsort(-scores[top])]

    for q in query_vectors[:5]:  # the same answers
        assert [pk for pk, _ in vectors.search([collection], q, 10)] == [cached.ids[i] for i in raw(q)]
    product, baseline = harness.interleaved(lambda q: vectors.search([collection], q, 10), raw, query_vectors)
    log(f"  kNN      product (vectors.search)       {harness.p50_p95(product)}")
    log(f"  kNN      raw numpy (matrix @ q, top-10) {harness.p50_p95(baseline)}")
    found = [
        Row(
            f"knowledge kNN p50, {size:,} chunks",
            harness.ms_p50(product),
            "ms",
            "numpy matrix @ q + argpartition",
            harness.ms_p50(baseline),
        )
    ]

    def search(mode):
        return lambda text: retrieval.search(company=collection.company_id, query=text, mode=mode, limit=10)

    def encode_and_raw(text):
        raw(local_model().encode([text], normalize_embeddings=True)[0])

    search("vector")(queries[0])  # warm
    product, baseline = harness.interleaved(search("vector"), encode_and_raw, queries)
    log(
        f"  search   retrieval.search mode=vector  {harness.p50_p95(product)}   "
        f"(MiniLM encode + numpy kNN {harness.p50_p95(baseline)})"
    )
    found.append(
        Row(
            f"knowledge retrieval.search vector p50, {size:,} chunks",
            harness.ms_p50(product),
            "ms",
            "MiniLM encode + numpy kNN",
            harness.ms_p50(baseline),
        )
    )
    for mode in ("keyword", "hybrid"):
        search(mode)(queries[0])  # warm
        log(f"  search   retrieval.search mode={mode:<8}{harness.p50_p95(harness.timed(search(mode), queries))}")
    return found


if __name__ == "__main__":
    harness.main(sys.modules[__name__], storage=":memory:")
