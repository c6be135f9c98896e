"""Retrieval quality beside its speed: hit@1 and hit@5 of the knowledge search's keyword,
vector and hybrid modes on a public question-answering set, each against its anchor over the
very same chunks in the same run.

    .venv/bin/python -m bench.retrieval_bench [--qa FILE] [--qa-questions N]

The set is SQuAD-format JSON (Wikipedia paragraphs, questions each answered by one paragraph);
by default the five-article extract of the SQuAD 2.0 development set in tests/fixtures/squad
(705 questions over 173 paragraphs, CC BY-SA 4.0). The whole development set (`dev-v2.0.json`
or `dev-v1.1.json` from the SQuAD site) is read the same way: `--qa dev-v2.0.json`.

1. Every paragraph is uploaded through the product (knowledge.services.ingest: chunked,
   embedded by MiniLM, stored) into one collection of a fresh company.
2. Every question is searched by retrieval.search in each mode; a question is a hit@k when
   one of the first k chunks comes from its paragraph.
3. Anchors, over the chunks read back from the database:
   - keyword: Okapi BM25 by bm25s with its own tokenizer (lowercased words, English stop
     words) and its defaults (Lucene, k1 1.5, b 0.75);
   - vector: SentenceTransformer.encode of the chunks and the question, numpy cosine;
   - hybrid: the hybrid search before BM25, reciprocal rank fusion (k 60, depth 20) of raw
     MiniLM and the former keyword score (the idf-weighted share of the query's distinct terms
     a chunk contains); the fusion of bm25s and raw MiniLM is logged beside it.
4. Latency, queries in turn with their anchors: BM25 scoring (keywords.search) against
   bm25s; hybrid search end to end against the in-memory fusion of raw MiniLM and bm25s.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import harness
from bench.table import Row
from requestdesk.text import tokenize

DEFAULT_QA = harness.ROOT / "tests" / "fixtures" / "squad" / "dev-v2.0-5-articles.json"
DEPTH = 20  # what retrieval.search fuses for a hybrid search of 5
RRF_K = 60
MODES = ("keyword", "vector", "hybrid")
ANCHORS = {
    "keyword": "bm25s (Okapi BM25, same chunks)",
    "vector": "raw MiniLM encode + numpy cosine",
    "hybrid": "hybrid before BM25 (RRF, term overlap)",
}


@dataclass
class QASet:
    name: str
    paragraphs: dict  # source id -> (title, text)
    questions: list  # (question, source id of the paragraph that answers it)


def load_squad(path: Path, limit: int = 0) -> QASet:
    """Paragraphs and answerable questions of a SQuAD v1.1 / v2.0 file (the first `limit`
    questions and only the paragraphs they need when limit > 0)."""
    data = json.loads(Path(path).read_text())["data"]
    paragraphs, questions = {}, []
    for article in data:
        title = article["title"].replace("_", " ")
        for number, paragraph in enumerate(article["paragraphs"]):
            source_id = f"{article['title']}#{number}"
            paragraphs[source_id] = (title, paragraph["context"])
            questions += [
                (qa["question"], source_id)
                for qa in paragraph["qas"]
                if not qa.get("is_impossible") and qa.get("answers")
            ]
    if limit:
        questions = questions[:limit]
        paragraphs = {pk: paragraphs[pk] for pk in dict.fromkeys(source for _, source in questions)}
    return QASet(name=Path(path).name, paragraphs=paragraphs, questions=questions)


def add_arguments(parser):
    parser.add_argument(
        "--qa",
        default=str(DEFAULT_QA),
        help="SQuAD-format JSON of questions over paragraphs (default: the five-article "
        "extract of SQuAD 2.0 dev in tests/fixtures/squad)",
    )
    parser.add_argument("--qa-questions", type=int, default=0, help="questions asked (default 0: all)")


def upload(qa: QASet, log):
    """One collection holding every paragraph, uploaded through the product's ingest."""
    import time

    from knowledge.models import KnowledgeCollection
    from knowledge.services import ingest
    from tenants.models import Company

    company = Company.objects.create(name="bench-retrieval")
    collection = KnowledgeCollection.objects.create(company=company, name=qa.name)
    items = [
        ingest.text_item(title=title, text=text, source_id=source_id)
        for source_id, (title, text) in qa.paragraphs.items()
    ]
    started = time.perf_counter()
    ingest.ingest_items(collection=collection, items=items, source_type="upload", full=False)
    collection.refresh_from_db()
    log(
        f"retrieval  {qa.name}: {len(qa.paragraphs)} paragraphs uploaded as {collection.chunk_count} chunks in "
        f"{time.perf_counter() - started:.1f}s; {len(qa.questions)} questions"
    )
    return collection


class Anchors:
    """The reference rankings over the chunks as stored: bm25s, raw MiniLM and the former
    term-overlap score."""

    def __init__(self, collection):
        import bm25s

        from knowledge.selectors.collections import chunks_of
        from knowledge.services.embeddings import local_model

        rows = list(chunks_of(collection).values_list("source_id", "metadata__title", "content"))
        self.sources = [source for source, _, _ in rows]
        postings = defaultdict(list)
        for row, (_, title, content) in enumerate(rows):
            for term in dict.fromkeys(tokenize(f"{title} {content}")):
                postings[term].append(row)
        self.postings = {term: np.asarray(found) for term, found in postings.items()}
        self.bm25s = bm25s
        self.bm25 = bm25s.BM25()
        self.bm25.index(self._tokens([f"{title} {content}" for _, title, content in rows]), show_progress=False)
        self.model = local_model()
        self.matrix = self.model.encode(
            [content for _, _, content in rows], batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )

    def _tokens(self, texts: list[str]) -> list[list[str]]:
        return self.bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)

    def keyword(self, question: str, depth: int = DEPTH) -> list[int]:
        query = [t for t in self._tokens([question])[0] if t in self.bm25.vocab_dict]
        if not query:
            return []
        scores = self.bm25.get_scores(query)
        return [int(i) for i in np.argsort(-scores, kind="stable")[:depth] if scores[i] > 0]

    def vector(self, question: str, depth: int = DEPTH) -> list[int]:
        scores = self.matrix @ self.model.encode([question], normalize_embeddings=True, show_progress_bar=False)[0]
        return [int(i) for i in np.argsort(-scores, kind="stable")[:depth]]

    def overlap(self, question: str, depth: int = DEPTH) -> list[int]:
        """The keyword score before BM25: the idf-weighted share of the question's distinct
        terms a chunk contains (term frequency and length ignored)."""
        terms = [t for t in dict.fromkeys(tokenize(question)) if t in self.postings]
        scores = np.zeros(len(self.sources))
        for term in terms:
            rows = self.postings[term]
            scores[rows] += math.log(1 + (len(self.sources) - len(rows) + 0.5) / (len(rows) + 0.5))
        return [int(i) for i in np.argsort(-scores, kind="stable")[:depth] if scores[i] > 0]

    @staticmethod
    def fuse(*rankings: list[int]) -> list[int]:
        fused = defaultdict(float)
        for ranking in rankings:
            for rank, row in enumerate(ranking, start=1):
                fused[row] += 1 / (RRF_K + rank)
        return sorted(fused, key=lambda row: -fused[row])

    def hybrid(self, question: str, depth: int = DEPTH) -> list[int]:
        return self.fuse(self.vector(question, depth), self.overlap(question, depth))

    def bm25_hybrid(self, question: str, depth: int = DEPTH) -> list[int]:
        return self.fuse(self.vector(question, depth), self.keyword(question, depth))

    def ranking(self, mode: str, question: str) -> list[str]:
        return [self.sources[row] for row in getattr(self, mode)(question)[:5]]


def hit_rates(rankings: list[list[str]], expected: list[str]) -> tuple[float, float]:
    """Shares of questions whose paragraph is first, and among the first five."""
    hits1 = sum(bool(found) and found[0] == want for found, want in zip(rankings, expected, strict=True))
    hits5 = sum(want in found[:5] for found, want in zip(rankings, expected, strict=True))
    return hits1 / len(expected), hits5 / len(expected)


def product_ranking(collection, mode: str, question: str) -> list[str]:
    from knowledge.services import retrieval

    return [
        hit.source_id
        for hit in retrieval.search(
            company=collection.company_id, query=question, collection_ids=[collection.pk], mode=mode, limit=5
        )
    ]


def quality_rows(collection, qa: QASet, anchors: Anchors, log) -> list[Row]:
    questions, expected = [q for q, _ in qa.questions], [source for _, source in qa.questions]
    found = []
    for mode in MODES:
        product = hit_rates([product_ranking(collection, mode, q) for q in questions], expected)
        anchor = hit_rates([anchors.ranking(mode, q) for q in questions], expected)
        log(
            f"  quality  {mode:<8} hit@1 {product[0]:.3f} hit@5 {product[1]:.3f}   "
            f"({ANCHORS[mode]}: hit@1 {anchor[0]:.3f} hit@5 {anchor[1]:.3f})"
        )
        if mode == "hybrid":
            fused = hit_rates([anchors.ranking("bm25_hybrid", q) for q in questions], expected)
            log(f"  quality  (RRF of bm25s and raw MiniLM: hit@1 {fused[0]:.3f} hit@5 {fused[1]:.3f})")
        for k, figure, baseline in ((1, product[0], anchor[0]), (5, product[1], anchor[1])):
            found.append(
                Row(
                    f"retrieval {mode} hit@{k}, {qa.name} ({len(questions)} questions)",
                    figure,
                    f"hit@{k}",
                    ANCHORS[mode],
                    baseline,
                )
            )
    return found


def speed_rows(collection, qa: QASet, anchors: Anchors, log) -> list[Row]:
    """BM25 scoring against bm25s on the same chunks (both in memory), and the hybrid search
    end to end (database reads of the collections and hits included) against the in-memory
    fusion of raw MiniLM and bm25s."""
    from knowledge.services import keywords

    questions = [q for q, _ in qa.questions][:200]
    product_ranking(collection, "hybrid", questions[0])  # warm: the collection's cold load
    scoring, baseline = harness.interleaved(
        lambda q: keywords.search([collection], q, 5), lambda q: anchors.keyword(q, 5), questions
    )
    log(f"  speed    keyword  keywords.search {harness.p50_p95(scoring)}   (bm25s {harness.p50_p95(baseline)})")
    found = [
        Row(
            f"retrieval keyword scoring p50 (keywords.search), {collection.chunk_count} chunks",
            harness.ms_p50(scoring),
            "ms",
            "bm25s get_scores + top 5, same chunks",
            harness.ms_p50(baseline),
        )
    ]
    search, baseline = harness.interleaved(
        lambda q: product_ranking(collection, "hybrid", q), lambda q: anchors.bm25_hybrid(q)[:5], questions
    )
    log(
        f"  speed    hybrid   retrieval.search {harness.p50_p95(search)}   "
        f"(raw MiniLM + bm25s + RRF in memory {harness.p50_p95(baseline)})"
    )
    found.append(
        Row(
            f"retrieval hybrid search p50 (end to end), {collection.chunk_count} chunks",
            harness.ms_p50(search),
            "ms",
            "raw MiniLM + bm25s + RRF in memory",
            harness.ms_p50(baseline),
        )
    )
    return found


def rows(args, log=harness.log) -> list[Row]:
    qa = load_squad(Path(args.qa), args.qa_questions)
    collection = upload(qa, log)
    anchors = Anchors(collection)
    return quality_rows(collection, qa, anchors, log) + speed_rows(collection, qa, anchors, log)


if __name__ == "__main__":
    harness.main(sys.modules[__name__], storage=":memory:")
