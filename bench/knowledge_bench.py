"""Knowledge benchmark: chunks embedded per second with all-MiniLM-L6-v2 (on a real
sample), and search latency at each store size through the product's retrieval service,
with raw numpy kNN over the very same float32 vectors printed beside it.

    .venv/bin/python -m bench.knowledge_bench --chunks 10000,100000

Starts its own SecantusDB on a free port (in memory unless --storage names a folder), or
uses --mongodb-uri, migrates a fresh database, then:

1. embed: --sample generated help-centre paragraphs (~500-800 characters, what the
   chunker produces) embedded by the product's LocalEmbedder (model load timed apart);
2. store: chunks with random unit 384-d vectors (embedding 100k texts would take ~10
   minutes here) and Zipf-distributed texts, bulk-inserted up to each size;
3. search at each size, --queries queries each:
   - vector kNN (knowledge.services.vectors.search: the cached float32 matrix, exact cosine)
     and raw numpy (matrix @ q, argpartition) over the same vectors;
   - the retrieval service end to end (retrieval.search: query embedded by MiniLM, kNN,
     chunks loaded), in vector, keyword and hybrid mode;
   plus the cold loads of the collection's vectors and terms into the in-process cache
   (paid once per process after every write to the collection).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import numpy as np

WORDS = ("order delivery shipping refund return warranty tent stove backpack sleeping bag zip seam boot jacket "
         "glove lantern battery charger price discount voucher payment card paypal invoice account password "
         "login address courier parcel tracking store opening hours sunday weekend size colour fabric wash dry "
         "repair spare part exchange damaged missing late express standard international customs duty tax").split()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", default="10000,100000", help="store sizes, comma-separated (default 10000,100000)")
    parser.add_argument("--sample", type=int, default=500, help="chunks embedded for the throughput figure")
    parser.add_argument("--queries", type=int, default=50, help="queries timed per size and mode (default 50)")
    parser.add_argument("--storage", default=":memory:", help="SecantusDB storage path (default :memory:)")
    parser.add_argument("--mongodb-uri", default="", help="use this MongoDB instead of starting SecantusDB")
    return parser.parse_args()


def setup_django(args):
    from requestdesk import embedded

    server, uri = None, args.mongodb_uri
    if not uri:
        server = embedded.start_mongo(embedded.free_port(), args.storage)
        uri = server.url
    os.environ.update(MONGODB_URI=uri, MONGODB_NAME=f"bench_knowledge_{os.getpid()}",
                      DJANGO_SETTINGS_MODULE="requestdesk.settings", KNOWLEDGE_VECTOR_CACHE_MB="2048")
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"server     {'SecantusDB ' + args.storage if server else uri}   (migrate {time.perf_counter() - started:.1f}s)")
    return server


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


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


def timed(function, runs) -> list[float]:
    samples = []
    for arg in runs:
        started = time.perf_counter()
        function(arg)
        samples.append(time.perf_counter() - started)
    return samples


def bench_embedding(args, rnd):
    from knowledge.services.embeddings import LocalEmbedder, local_model

    started = time.perf_counter()
    local_model()
    load = time.perf_counter() - started
    texts = [paragraph(rnd) for _ in range(args.sample)]
    LocalEmbedder().embed(texts[:16])  # warm up
    started = time.perf_counter()
    LocalEmbedder().embed(texts)
    elapsed = time.perf_counter() - started
    import torch

    print(f"embed      MiniLM load {load:.1f}s; {args.sample} chunks (avg {sum(map(len, texts)) // len(texts)} chars) "
          f"in {elapsed:.1f}s = {args.sample / elapsed:.0f} chunks/s ({torch.get_num_threads()} torch thread(s); "
          f"KNOWLEDGE_TORCH_THREADS)")


def fill(collection, start: int, stop: int, rnd: random.Random, vectors_rng) -> float:
    from django.db.models import F

    from knowledge.models import KnowledgeChunk, KnowledgeCollection
    from knowledge.services.text import terms

    started = time.perf_counter()
    for offset in range(start, stop, 1000):
        count = min(1000, stop - offset)
        matrix = vectors_rng.standard_normal((count, 384)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        rows = []
        for i in range(count):
            text = paragraph(rnd)[:300]
            rows.append(KnowledgeChunk(company_id=collection.company_id, collection=collection, content=text,
                                       embedding=matrix[i], source_type="manual", source_id=f"doc:{offset + i}",
                                       content_hash="0" * 64, terms=terms(text),
                                       metadata={"title": f"Doc {offset + i}", "url": ""}))
        KnowledgeChunk.objects.bulk_create(rows)
    KnowledgeCollection.objects.filter(pk=collection.pk).update(chunk_count=stop,
                                                                chunks_version=F("chunks_version") + 1)
    collection.refresh_from_db()
    return time.perf_counter() - started


def bench_size(collection, size: int, args, rnd):
    from knowledge.services import keywords, retrieval, vectors
    from knowledge.services.embeddings import LocalEmbedder

    started = time.perf_counter()
    cached = vectors.vectors_for(collection)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    postings = keywords.postings_for(collection)
    cold_terms = time.perf_counter() - started
    matrix = cached.matrix
    print(f"\n{size:>7,} chunks   cold load into the cache (once per write to the collection): vectors "
          f"{cold:.2f}s ({matrix.nbytes / 1e6:.0f} MB float32), terms {cold_terms:.2f}s "
          f"({len(postings.rows):,} terms, {postings.nbytes / 1e6:.0f} MB)")
    queries = [" ".join(rnd.choices(VOCABULARY, weights=WEIGHTS, k=3)) for _ in range(args.queries)]
    query_vectors = LocalEmbedder().embed(queries)

    def raw(q):
        scores = matrix @ q
        top = np.argpartition(-scores, 10)[:10]
        return top[np.argsort(-scores[top])]

    product_times, raw_times = [], []
    for q in query_vectors:  # interleaved, so both see the same machine; and the same answers
        [product_time], [raw_time] = timed(lambda v: vectors.search([collection], v, 10), [q]), timed(raw, [q])
        product_times.append(product_time)
        raw_times.append(raw_time)
        assert [pk for pk, _ in vectors.search([collection], q, 10)] == [cached.ids[i] for i in raw(q)]
    print(f"  kNN      product (vectors.search)      {percentiles(product_times)}")
    print(f"  kNN      raw numpy (matrix @ q, top-10) {percentiles(raw_times)}")
    for mode in ("vector", "keyword", "hybrid"):
        retrieval.search(company=collection.company_id, query=queries[0], mode=mode, limit=10)  # warm
        samples = timed(lambda text: retrieval.search(company=collection.company_id, query=text, mode=mode,
                                                      limit=10), queries)
        print(f"  search   retrieval.search mode={mode:<8}{percentiles(samples)}")


def main():
    args = parse_args()
    sizes = sorted(int(s) for s in args.chunks.split(","))
    server = setup_django(args)
    try:
        from knowledge.models import KnowledgeCollection
        from tenants.models import Company

        rnd, vectors_rng = random.Random(7), np.random.default_rng(7)
        bench_embedding(args, rnd)
        company = Company.objects.create(name="bench")
        collection = KnowledgeCollection.objects.create(company=company, name="bench", embedding_dimensions=384)
        stored = 0
        for size in sizes:
            elapsed = fill(collection, stored, size, rnd, vectors_rng)
            print(f"\nstore      {size - stored:,} chunks inserted in {elapsed:.1f}s "
                  f"= {(size - stored) / elapsed:,.0f} chunks/s (bulk_create, 1000 per batch)")
            stored = size
            bench_size(collection, size, args, rnd)
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
