"""requestdesk.memo: entries expire, are dropped by the ids they were built from, and a value
read across an invalidation is not kept."""

import time

from requestdesk.memo import Memo


def test_entries_expire_and_none_is_not_kept(settings):
    settings.AUTH_CACHE_SECONDS = 0.2
    memo, loads = Memo("AUTH_CACHE_SECONDS"), []
    load = lambda: loads.append(1) or "value"  # noqa: E731
    assert memo.fetch("k", load) == "value" and memo.fetch("k", load) == "value" and len(loads) == 1
    time.sleep(0.25)
    assert memo.get("k") is None and memo.fetch("k", load) == "value" and len(loads) == 2
    assert memo.fetch("none", lambda: None) is None and memo.get("none") is None


def test_off_at_zero_seconds(settings):
    settings.AUTH_CACHE_SECONDS = 0
    memo = Memo("AUTH_CACHE_SECONDS")
    memo.put("k", "v", generation=memo.generation)
    assert memo.get("k") is None


def test_invalidation_by_id_and_reads_that_overlapped_it(settings):
    settings.AUTH_CACHE_SECONDS = 60
    memo = Memo("AUTH_CACHE_SECONDS")
    memo.put("a", 1, generation=memo.generation, ids=frozenset({"x"}))
    memo.put("b", 2, generation=memo.generation, ids=frozenset({"y"}))
    memo.invalidate("x")
    assert memo.get("a") is None and memo.get("b") == 2
    before = memo.generation
    memo.invalidate("z")  # a change while a value was being read
    memo.put("c", 3, generation=before)
    assert memo.get("c") is None
    memo.replace("b", lambda v: v + 40)
    assert memo.get("b") == 42


def test_past_max_entries_it_starts_afresh(settings):
    settings.AUTH_CACHE_SECONDS = 60
    memo = Memo("AUTH_CACHE_SECONDS", max_entries=3)
    for n in range(4):
        memo.put(n, n, generation=memo.generation)
    assert memo.get(3) == 3 and [memo.get(n) for n in range(3)] == [None, None, None]


def test_weighed_values_stay_within_their_budget(settings):
    settings.AUTH_CACHE_SECONDS, settings.SCRAPING_SEARCH_SEGMENTS_MEMORY = 60, 10
    memo = Memo("AUTH_CACHE_SECONDS", weigh=len, max_weight="SCRAPING_SEARCH_SEGMENTS_MEMORY")
    memo.put("a", "xxxx", generation=memo.generation)
    memo.put("b", "yyyy", generation=memo.generation)
    memo.put("a", "zz", generation=memo.generation)  # replaced: weighs 2 now, not 6
    assert memo.weight() == 6 and memo.get("a") == "zz"
    memo.put("big", "w" * 11, generation=memo.generation)  # more than the whole budget: not kept
    assert memo.get("big") is None and memo.weight() == 6
    memo.put("c", "v" * 5, generation=memo.generation)  # 11 > 10: the others go
    assert memo.get("a") is None and memo.get("b") is None and memo.get("c") == "vvvvv"
    memo.replace("c", lambda value: value + "v")
    memo.invalidate("nothing")
    assert memo.weight() == 6
    memo.clear()
    assert memo.weight() == 0
