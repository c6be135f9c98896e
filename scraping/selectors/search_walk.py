"""The client-side walk of the results search (scraping.selectors.search, on a server without
text indexes or ordered index sorts: the embedded one): one query term's weighted postings,
best first, read in windows of `published_at` sized from the company's results per day.

A term's postings are walked one weight of analysis.WEIGHTS after the other (those known empty
skipped), newest first inside a weight, each window an index range ({company_id, terms:
"15:lantern", published_at: range}): a weight's first window is sized to hold the page and
one row more at the density learned so far (at least TIER_SHARE), the next as many as the
weight gave so far (at most WINDOW_TARGET), an empty one widens the next MAX_GROWTH times.
search.SearchResults merges the walks of a query's terms (requestdesk.db.text.threshold_walk).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, timedelta
from itertools import accumulate
from typing import TYPE_CHECKING

from requestdesk.memo import Memo

from ..services import rollups
from ..services.analysis import WEIGHTS, posting
from .results import _pk, _results

if TYPE_CHECKING:
    from .search import SearchResults

WINDOW_TARGET = 250  # postings a date window is sized to read
DAY = timedelta(days=1)
MAX_GROWTH = 8
TIER_SHARE = 1 / 16  # the least postings per result a weight's first window expects


# Results per day of a company (rollups.company_days), kept SCRAPING_SEARCH_DENSITY_SECONDS in
# this process: they only size the walk's windows (a window's lower bound; the newest has none
# and the last one no upper), so one a little stale costs a window more or less, never a result.
_density: Memo[dict[datetime, int]] = Memo("SCRAPING_SEARCH_DENSITY_SECONDS", max_entries=10_000)


def company_days(company) -> dict[datetime, int]:
    """rollups.company_days(company), from this process's copy when it is recent (a company
    without results is asked again every time: its first results change everything)."""
    return _density.fetch(_pk(company), lambda: rollups.company_days(company) or None) or {}


class Density:
    """Results per day of the company (its rollup), to size date windows: a window of
    `budget` results, days taken as uniform inside. The days are kept oldest first with the
    results before each, so a window is a binary search, not a pass over the days."""

    def __init__(self, per_day: dict[datetime, int]):
        days = sorted(per_day.items())
        self.starts = [day for day, _ in days]
        self.counts = [count for _, count in days]
        self.before = list(accumulate(self.counts, initial=0))  # results before each day; last: all

    def _below(self, when: datetime) -> float:
        """About how many results lie before `when`."""
        day = bisect_right(self.starts, when) - 1
        if day < 0:
            return 0.0
        return self.before[day] + min((when - self.starts[day]) / DAY, 1.0) * self.counts[day]

    def count(self, low: datetime | None, top: datetime) -> float:
        """About how many results lie in [low, top)."""
        return max(0.0, self._below(top) - (0.0 if low is None else self._below(low)))

    def window(self, top: datetime, budget: float) -> datetime | None:
        """The lower bound of a window below `top` holding about `budget` results; None when
        it reaches past the oldest day (the last window)."""
        target = self._below(top) - max(budget, 1.0)
        if target < 0:
            return None
        day = bisect_right(self.before, target) - 1  # the day holding the target-th result
        return min(self.starts[day] + DAY * ((target - self.before[day]) / self.counts[day]), top)


class TermWalk:
    """One query term's postings, best first: one weight of analysis.WEIGHTS after the
    other (those known empty skipped: SearchResults.known_empty); inside a weight, newest
    first, read window by window. `weight` and `seen_to` bound what it has not read yet: a
    posting of a lower weight, or of this weight older than `seen_to` (None: none read)."""

    def __init__(self, term: str, walk: SearchResults):
        self.term, self.walk = term, walk
        self.tiers = [weight for weight in WEIGHTS if not walk.known_empty(term, weight)]
        self.top = None  # the current window's exclusive upper bound (None: the newest)
        self.seen_to = None
        # Postings per result in the last window: the density estimate. A term's first weight
        # read (those above it known empty or not) starts at TIER_SHARE, like the next weights.
        self.share = TIER_SHARE
        self.found = 0  # postings read of the current weight

    @property
    def weight(self) -> int:
        return self.tiers[0] if self.tiers else 0

    def remaining(self) -> float:
        """About how many postings of its weight are left to read: its density so far times
        the results older than where it reached (within the search's dates)."""
        if self.seen_to is None:
            return float("inf")
        return self.share * self.walk.density.count(self.walk.date_from, self.seen_to)

    def advance(self, wanted: int) -> list[dict]:
        """The next window of postings: about `wanted` of them (the page and one row more),
        or as many as this weight gave so far (a merge that has to pass a whole dense weight
        doubles its windows), at most WINDOW_TARGET, at the density learned so far (an empty
        window widens the next one MAX_GROWTH times)."""
        walk = self.walk
        top = self.top or walk.newest
        budget = min(max(wanted, self.found, 1), WINDOW_TARGET) / self.share
        low = walk.density.window(top, budget)
        if low is not None and walk.date_from is not None and low <= walk.date_from:
            low = None
        dates = {}
        if low is not None:
            dates["$gte"] = low
        elif walk.date_from is not None:
            dates["$gte"] = walk.date_from
        if self.top is not None:
            dates["$lt"] = self.top
        elif walk.date_to is not None:
            dates["$lte"] = walk.date_to
        query = {"terms": posting(self.term, self.weight)}
        if dates:
            query["published_at"] = dates
        rows = list(_results(walk.company).find(query, walk.fields))
        self.found += len(rows)
        expected = max(1.0, walk.density.count(low, top))
        self.share = min(1.0, max(self.share / MAX_GROWTH, len(rows) / expected))
        if low is None:  # this weight is read: the next one from the newest again
            if not self.found:
                walk.found_empty(self.term, self.weight)
            # The next weight starts from this one's density: a term's postings grow denser
            # towards the low weights, so a sparse weight's neighbour is read in a few wide
            # windows instead of growing out from a page-sized one again.
            # But not below TIER_SHARE: a weight read whole and found empty says little of the
            # next one, often the dense weight of a common word, which an estimate carried
            # down to ~1 / (the company's results) would read whole in one window (at 100,000
            # results, ~12,000 documents where the page needed a few dozen).
            self.tiers.pop(0)
            self.top = self.seen_to = None
            self.found = 0
            self.share = max(self.share, TIER_SHARE)
        else:
            self.top = self.seen_to = low
        return rows
