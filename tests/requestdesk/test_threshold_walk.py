"""requestdesk.db.text.threshold_walk, the merge of per-word posting walks that both searches
on the embedded server use (knowledge's conversations, scraping's results): over random
postings with many ties, the page it calls final is the page a full scan ranks, and it gets
there without reading every posting."""

import random
from datetime import datetime, timedelta

import pytest

from requestdesk.db.text import threshold_walk

WEIGHTS = (15, 10, 5)
START = datetime(2026, 1, 1)


class Walk:
    """One word's postings, best weight first, inside a weight newest first (then by id), read
    `batch` at a time; the frontier is the (date, id) of the last posting read of the weight."""

    def __init__(self, term, rows, batch):
        self.term, self.batch = term, batch
        self.tiers = [
            sorted(((row["date"], row["id"]) for row in rows if row["terms"].get(term) == weight), reverse=True)
            for weight in WEIGHTS
        ]
        self.weights = list(WEIGHTS)
        self.reached = None
        self.read = 0
        self._drop_empty()

    def _drop_empty(self):
        while self.weights and not self.tiers[0]:
            self.tiers.pop(0)
            self.weights.pop(0)
            self.reached = None

    @property
    def weight(self):
        return self.weights[0] if self.weights else 0

    def remaining(self):
        return len(self.tiers[0]) if self.tiers else 0

    def advance(self):
        tier = self.tiers[0]
        taken, self.tiers[0] = tier[: self.batch], tier[self.batch :]
        self.read += len(taken)
        self.reached = taken[-1]
        self._drop_empty()
        return [row_id for _, row_id in taken]


def corpus(rng, size):
    """Rows with a few dates (ties on the date) and each word at one of the weights or absent."""
    return [
        {
            "id": row_id,
            "date": START + timedelta(days=rng.randrange(6)),
            "terms": {term: rng.choice(WEIGHTS) for term in "abc" if rng.random() < 0.4},
        }
        for row_id in range(size)
    ]


def search(rows, terms, need, batch, at_least=0, remaining=None):
    by_id = {row["id"]: row for row in rows}
    walks = [Walk(term, rows, batch) for term in terms]
    scored = {}
    merged = threshold_walk(
        walks, scored, frontier=lambda walk: walk.reached, need=need, at_least=at_least, remaining=remaining
    )
    for walk in merged:
        for row_id in walk.advance():
            row = by_id[row_id]
            score = sum(row["terms"].get(term, 0) for term in terms)
            scored[row_id] = (score, row["date"], row_id)
    complete = not any(walk.weight for walk in walks)
    return sorted(scored.values(), reverse=True), complete, sum(walk.read for walk in walks)


def full_scan(rows, terms):
    keys = [(sum(row["terms"].get(term, 0) for term in terms), row["date"], row["id"]) for row in rows]
    return sorted((key for key in keys if key[0]), reverse=True)


@pytest.mark.parametrize("remaining", [None, Walk.remaining], ids=["side by side", "fewest left first"])
@pytest.mark.parametrize("seed", range(40))
def test_the_page_called_final_is_the_page_a_full_scan_ranks(seed, remaining):
    rng = random.Random(seed)
    rows = corpus(rng, rng.randrange(20, 400))
    terms = rng.sample("abc", rng.randrange(1, 4))
    need = rng.randrange(1, 30)
    expected = full_scan(rows, terms)
    ranked, complete, _ = search(rows, terms, need, batch=rng.randrange(1, 12), remaining=remaining)
    assert ranked[:need] == expected[:need]
    assert complete or len(ranked) >= need


def test_a_page_reads_a_part_of_the_postings_and_no_page_reads_them_all():
    rows = corpus(random.Random(7), 3000)
    postings = sum(len(row["terms"]) for row in rows)
    ranked, complete, read = search(rows, ["a", "b"], need=10, batch=10)
    assert ranked[:10] == full_scan(rows, ["a", "b"])[:10]
    assert not complete and read < postings / 5

    everything, complete, read = search(rows, ["a", "b"], need=None, batch=50)
    assert complete and everything == full_scan(rows, ["a", "b"])


def test_at_least_keeps_walking_until_that_many_rows_are_scored():
    rows = corpus(random.Random(3), 2000)
    ranked, _, _ = search(rows, ["a"], need=5, batch=10)
    counted, _, _ = search(rows, ["a"], need=5, batch=10, at_least=500)
    assert len(ranked) < 500 <= len(counted)
    assert counted[:5] == ranked[:5] == full_scan(rows, ["a"])[:5]


def test_a_rare_word_beside_a_common_one_is_read_to_its_end_first():
    """No row holds both words, so the page is final only once one word's weight is read to
    its end: with `remaining` that is the rare word's (the common one is read only as far as
    the page goes), side by side it is both words' as far as the rare one reaches."""
    rng = random.Random(5)
    rows = []
    for row_id in range(3000):
        date = START + timedelta(minutes=row_id)
        terms = {"c": 5} if rng.random() < 0.5 else ({"r": 5} if rng.random() < 0.04 else {})
        rows.append({"id": row_id, "date": date, "terms": terms})
    expected = full_scan(rows, ["r", "c"])[:20]
    side_by_side, _, read_side = search(rows, ["r", "c"], need=20, batch=10)
    fewest_first, _, read_fewest = search(rows, ["r", "c"], need=20, batch=10, remaining=Walk.remaining)
    assert side_by_side[:20] == fewest_first[:20] == expected
    rare = sum("r" in row["terms"] for row in rows)
    assert read_fewest < rare + 60 < read_side, (read_fewest, rare, read_side)
