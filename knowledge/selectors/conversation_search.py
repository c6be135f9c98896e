"""Conversation search: by tags, by custom field values, and by words, ranked.

Every conversation stores `search_terms` (rebuilt by Conversation.save from its tags and
`metadata.custom_fields`), on the (company_id, search_terms, started_at) index:

* "t:<tag>"            each tag, casefolded: `?tags=a,b` keeps conversations carrying ALL of them;
* "f:<key>=<value>"    each top-level custom field with a scalar value, casefolded:
                       `?custom.<key>=<value>` keeps those whose field equals it (case-insensitively);
* "<weight>:<word>"    each search word (requestdesk.text) of the tags (10) and of the custom
                       field values, nested ones included (5); a word in both weighs 15.

`?q=words` ranks by the sum over the query's words of their weight in the conversation
(any word may match), then newest `started_at`, then id. Messages are not searched: their
words would have to be posted on the conversation at every message (the chat's hot path,
and a conversation's words would grow without bound), and a message search is a search of
messages, not of conversations.

The text index on `metadata.custom_fields` (migration 0002, where the server has text
indexes) cannot serve this on MongoDB either: a text index reads string fields and arrays of
strings, not the values inside a sub-document. So every server searches the postings;
requestdesk.db.text.strategy says how:

* `POSTINGS_ON_SERVER` (a server that walks an index in order and counts cheaply): one
  pipeline matches any query posting, scores, sorts and pages; one more counts.
* `POSTINGS_IN_WINDOWS` (the embedded server, which reads and sorts every match first, and
  uses the index for one posting, not for `$all` or two conditions on the array): each
  query word's postings are walked best weight first, newest first, through
  requestdesk.db.pages.walk (bounded started_at windows). The walks merge by the threshold
  algorithm (requestdesk.db.text.threshold_walk): a conversation read is scored from its own
  postings; one not read yet scores at most the sum of the walks' current weights and, at
  that score, comes after every walk's position, so a page is final once its last row ranks
  above that. A walk reads twice as many rows each time it is advanced (a common word is
  passed in few steps). The walk stops when the page (and one row more) is final (the tag
  and custom field postings asked for are checked on the rows read), when every posting is
  read (the count is then exact), or after
  KNOWLEDGE_CONVERSATION_SEARCH_MAX_CANDIDATES conversations read (the page is then the best of
  those read; the count says "at least").
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Expression, IntegerField

from requestdesk import text as words
from requestdesk.db import pages, text

TAG_WEIGHT, FIELD_WEIGHT = 10, 5
WEIGHTS = (TAG_WEIGHT + FIELD_WEIGHT, TAG_WEIGHT, FIELD_WEIGHT)  # best first
MAX_QUERY_TERMS = 8
MAX_POSTING = 80  # the field's max_length
FIELD = "started_at"
MAX_BATCH = 500  # rows one step of a walk reads at most


def _fold(value) -> str:
    return " ".join(str(value).split()).casefold()


def tag_posting(tag: str) -> str:
    return f"t:{_fold(tag)}"[:MAX_POSTING]


def field_posting(key: str, value) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"f:{_fold(key)}={_fold(value)}"[:MAX_POSTING]


def posting(term: str, weight: int) -> str:
    return f"{weight}:{term}"


def _values(value):
    """The scalar values inside a custom field's value (nested dicts and lists walked)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _values(item)
    elif value is not None:
        yield str(value)


def postings(conversation) -> list[str]:
    """What `conversation` stores in search_terms (see the module docstring)."""
    tags = list(conversation.tags or ())
    fields = dict(getattr(conversation.metadata, "custom_fields", None) or {})
    found = list(dict.fromkeys(tag_posting(tag) for tag in tags))
    found += dict.fromkeys(
        field_posting(key, value) for key, value in fields.items() if isinstance(value, (str, int, float, bool))
    )
    in_tags = set(words.terms(" ".join(tags)))
    in_fields = set(words.terms(" ".join(value for item in fields.values() for value in _values(item))))
    for term in words.terms(" ".join([*tags, *(value for item in fields.values() for value in _values(item))])):
        found.append(posting(term, TAG_WEIGHT * (term in in_tags) + FIELD_WEIGHT * (term in in_fields)))
    return found


def weights(stored: list[str]) -> dict[str, int]:
    """{word: weight} of stored postings (tag and field postings skipped)."""
    found = {}
    for entry in stored or ():
        weight, _, term = entry.partition(":")
        if weight.isdigit():
            found[term] = int(weight)
    return found


def query_terms(query: str) -> list[str]:
    return words.terms(query)[:MAX_QUERY_TERMS]


class _Score(Expression):
    """The sum of the weights of the (posting, weight) entries a conversation's search_terms
    hold, computed by the server."""

    output_field = IntegerField()

    def __init__(self, entries: list[tuple[str, int]]):
        super().__init__()
        self.entries = entries

    def as_sql(self, compiler, connection):  # MongoDB only: the backend compiles as_mql
        return "", []

    def as_mql(self, compiler, connection, as_expr=False):
        held = {"$ifNull": ["$search_terms", []]}
        return {"$add": [{"$cond": [{"$in": [entry, held]}, weight, 0]} for entry, weight in self.entries]}


class _TermWalk:
    """One query word's postings, best weight first; inside a weight newest first, read by
    pages.walk. `weight` and `position` bound what it has not read yet: a posting of a lower
    weight, or of this weight after `position` (None: nothing of this weight read yet)."""

    def __init__(self, term: str, search: ConversationSearch):
        self.term, self.search = term, search
        self.tiers = list(WEIGHTS)
        self.position = None
        self.batch = 0

    @property
    def weight(self) -> int:
        return self.tiers[0] if self.tiers else 0

    def frontier(self) -> tuple | None:
        """How far the walk reached inside its weight, as a row's (started_at, pk) place."""
        return None if self.position is None else (pages._aware(self.position.value), self.position.pk)

    def advance(self, need: int) -> list:
        self.batch = limit = min(max(need, self.batch * 2), MAX_BATCH)
        # one posting per query: the embedded server plans `$all`, or two conditions on the
        # array, as a collection scan; the required postings are checked on the rows read
        queryset = self.search.queryset.filter(search_terms__overlap=[posting(self.term, self.weight)])
        rows, ended = pages.walk(
            queryset,
            field=FIELD,
            descending=True,
            after=self.position,
            limit=limit,
            key=("conversation-search", self.search.company_id, self.term, self.weight),
        )
        if ended:
            self.tiers.pop(0)
            self.position, self.batch = None, 0
        else:
            self.position = pages.position_of(rows[-1], FIELD)
        return rows


class ConversationSearch:
    """A ranked search over `queryset` (a tenant-scoped Conversation queryset with the list's
    filters); `required` are postings every match holds (tags, custom fields). numbered()
    gives a page as the API's Pagination reads it; rows carry a `score`."""

    def __init__(self, queryset, *, company, terms: list[str], required: list[str] = (), strategy: str | None = None):
        self.queryset = queryset.order_by()
        self.company_id = getattr(company, "pk", company)
        self.terms, self.required = terms, list(required)
        self.strategy = strategy or text.strategy(queryset.model)
        self._scored: dict = {}  # pk -> (score, started_at, pk)
        self._rows: dict = {}
        self._walks = None
        self.complete = False
        self.read = 0

    def _score(self, row) -> int:
        found = weights(row.search_terms)
        return sum(found.get(term, 0) for term in self.terms)

    # server side ---------------------------------------------------------------------------
    def scored(self):
        """The matches scored and ordered by the server (any query posting, every required one)."""
        entries = [(posting(term, weight), weight) for term in self.terms for weight in WEIGHTS]
        queryset = self.queryset.filter(search_terms__overlap=[entry for entry, _ in entries])
        if self.required:
            queryset = queryset.filter(search_terms__contains=self.required)
        return queryset.annotate(score=_Score(entries)).order_by("-score", f"-{FIELD}", "-pk")

    def _on_server(self, number: int, size: int) -> pages.Numbered:
        scored = self.scored()
        rows = list(scored[(number - 1) * size : number * size + 1])
        return pages.Numbered(rows[:size], scored.count(), True, len(rows) > size)

    # client side ---------------------------------------------------------------------------
    def ranked(self, need: int) -> list[tuple]:
        """Every conversation read so far, best first, once the first `need` are final."""
        if self._walks is None:
            self._walks = [_TermWalk(term, self) for term in self.terms]
        budget = settings.KNOWLEDGE_CONVERSATION_SEARCH_MAX_CANDIDATES
        for walk in text.threshold_walk(self._walks, self._scored, frontier=_TermWalk.frontier, need=need):
            if self.read >= budget:
                break
            for row in walk.advance(need):
                self.read += 1
                if row.pk not in self._scored and holds(row, self.required):
                    self._scored[row.pk] = (self._score(row), pages._aware(getattr(row, FIELD)), row.pk)
                    self._rows[row.pk] = row
        self.complete = not any(walk.weight for walk in self._walks)
        return sorted(self._scored.values(), reverse=True)

    def _in_windows(self, number: int, size: int) -> pages.Numbered:
        need = number * size + 1
        ranked = self.ranked(need)
        page = ranked[(number - 1) * size : number * size]
        for score, _, pk in page:
            self._rows[pk].score = score
        return pages.Numbered([self._rows[pk] for _, _, pk in page], len(ranked), self.complete, len(ranked) >= need)

    def numbered(self, *, number: int, size: int) -> pages.Numbered:
        if self.strategy == text.POSTINGS_IN_WINDOWS:
            return self._in_windows(number, size)
        return self._on_server(number, size)


def holds(row, required) -> bool:
    return set(required) <= set(row.search_terms or ())


class FilteredList:
    """The conversations of `queryset` holding every `required` posting, newest first, on the
    embedded server, where one posting is an index range and `$all` a collection scan. Every
    match holds every posting, so any one posting's walk (pages.walk) finds them all, the
    others checked on its rows: each posting's walk reads one batch, and the one that reached
    furthest back (the rarest posting) goes on alone, in growing batches, until the page and
    one row more are found, the list ends, or KNOWLEDGE_CONVERSATION_SEARCH_MAX_CANDIDATES rows
    are read (the count then says "at least")."""

    def __init__(self, queryset, *, company, required: list[str]):
        self.queryset = queryset.order_by()
        self.company_id = getattr(company, "pk", company)
        self.required = required
        self.read = 0

    def _step(self, entry: str, position, limit: int):
        rows, ended = pages.walk(
            self.queryset.filter(search_terms__overlap=[entry]),
            field=FIELD,
            descending=True,
            after=position,
            limit=limit,
            key=("conversation-filter", self.company_id, entry),
        )
        self.read += len(rows)
        return rows, ended, (pages.position_of(rows[-1], FIELD) if rows else position)

    def numbered(self, *, number: int, size: int) -> pages.Numbered:
        need = number * size + 1
        first = {entry: self._step(entry, None, need) for entry in self.required}
        # the walk that ended, or else the one whose batch reached the oldest row
        entry = min(
            first, key=lambda e: (not first[e][1], pages._aware(first[e][2].value) if first[e][2] else pages.FLOOR)
        )
        rows, ended, position = first[entry]
        found, batch = [row for row in rows if holds(row, self.required)], need
        while len(found) < need and not ended and self.read < settings.KNOWLEDGE_CONVERSATION_SEARCH_MAX_CANDIDATES:
            batch = min(batch * 2, MAX_BATCH)
            rows, ended, position = self._step(entry, position, batch)
            found += [row for row in rows if holds(row, self.required)]
        return pages.Numbered(found[(number - 1) * size : number * size], len(found), ended, len(found) >= need)


def filtered(queryset, *, company, required: list[str]):
    """`queryset` limited to conversations holding every `required` posting, paged the way the
    server can: a queryset where `$all` is planned on the index, a FilteredList elsewhere."""
    if text.strategy(queryset.model) == text.POSTINGS_IN_WINDOWS:
        return FilteredList(queryset, company=company, required=required)
    return queryset.filter(search_terms__contains=required)


def search(queryset, *, company, query: str, required=(), strategy: str | None = None) -> ConversationSearch:
    """Conversations of `queryset` matching any word of `query`, best first (`strategy`: the
    server's, unless a test names one). ValueError when the query has no searchable word."""
    terms = query_terms(query)
    if not terms:
        raise ValueError("Enter at least one word to search for (common words such as “the” are not searched).")
    return ConversationSearch(queryset, company=company, terms=terms, required=required, strategy=strategy)
