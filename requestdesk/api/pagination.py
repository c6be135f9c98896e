"""The API's two paginations, both reading pages through requestdesk.db.pages (a page costs
about its own rows on every server).

* `Pagination` (the default): page numbers, `page_size` capped at 100. Lists ordered by a
  date field (their default) read page N by walking N pages of windows; `count` is exact
  where the server counts cheaply or where the walk reached the end, otherwise the rows seen
  so far plus one, with `count_exact: false` ("at least"). Other orderings are read the
  plain way (fine for a tenant's few rows, which is what page numbers are for). An object
  with a `numbered(number=, size=)` method (a ranked search) gives its own pages.Numbered.
* `CursorPagination`: for the large collections. `next` / `previous` links carry an opaque,
  signed cursor (a row's date and id, or the point where a read stopped); an unknown or
  altered cursor is a 400. Ordered by the view's `cursor_fields` only (newest first by
  default). A page reads for LIST_READ_SECONDS at most (pages.walk_within): under a filter
  few rows match, it may hold fewer rows than `page_size`, or none, with a `next` link that
  reads on from where it stopped.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bson import ObjectId
from bson.errors import InvalidId
from django.conf import settings
from django.core import signing
from django.core.paginator import Paginator as DjangoPaginator
from django.db import models
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination, _positive_int
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from requestdesk.db import pages

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

D = TypeVar("D", bound=int | None)

CURSOR_SALT = "requestdesk.api.cursor"
PAGE_SIZE_PARAM, MAX_PAGE_SIZE = "page_size", 100
MAX_PAGE = 2**31  # beyond any list; (page - 1) × page_size must fit the server's 64-bit skip
NOT_LIST_PARAMS = {"cursor", "page", PAGE_SIZE_PARAM, "format"}
FEW_ROWS = 100  # a list this short is read whole: its count comes with its rows


def list_key(request: Request, view: APIView | None) -> tuple[Hashable, ...]:
    """Names a list for the walk's learnt window width: its path, tenant and filters."""
    company = getattr(getattr(view, "tenant", None), "company", None) if view is not None else None
    params = tuple(sorted((k, v) for k, v in request.query_params.items() if k not in NOT_LIST_PARAMS))
    return request.path, getattr(company, "pk", None), params


def page_size(request: Request, default: D) -> int | D:
    """The `page_size` asked for (at most MAX_PAGE_SIZE), `default` when none is; anything
    but a positive whole number is a 400 rather than a page of another size."""
    raw = request.query_params.get(PAGE_SIZE_PARAM, "")
    if raw == "":
        return default
    try:
        return _positive_int(raw, strict=True, cutoff=MAX_PAGE_SIZE)
    except ValueError:
        raise ValidationError(
            {PAGE_SIZE_PARAM: [f"“{raw[:50]}” is not a page size: give a whole number from 1 to {MAX_PAGE_SIZE}."]}
        ) from None


class FewRowsPaginator(DjangoPaginator):  # type: ignore[type-arg]  # generic in the stubs only
    """Django's paginator, but a queryset of at most FEW_ROWS rows is read whole in one query
    and paged in memory: its count is the rows read. A short list's count query was one of
    its two round trips (the embedded server reads and sorts every row of the tenant for the
    page all the same). A longer one is counted and sliced as Django does."""

    def __init__(self, object_list: Any, per_page: int, *args: Any, **kwargs: Any) -> None:
        if isinstance(object_list, models.QuerySet):
            head = list(object_list[: FEW_ROWS + 1])
            if len(head) <= FEW_ROWS:
                object_list = head
        super().__init__(object_list, per_page, *args, **kwargs)


class Pagination(PageNumberPagination):
    """Page numbers over bounded windows; see the module's docstring."""

    django_paginator_class = FewRowsPaginator
    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
    # A windowed page's figures (self.page is None then).
    count: int
    count_exact: bool
    number: int
    has_next: bool

    def get_page_size(self, request: Request) -> int | None:
        return page_size(request, self.page_size)

    def paginate_queryset(
        self, queryset: models.QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        number = request.query_params.get(self.page_query_param, "")
        if number.isdigit() and (len(number) > 12 or int(number) > MAX_PAGE):
            raise NotFound("Invalid page.")  # past any list's end; the skip would overflow the server's ints
        numbered = getattr(queryset, "numbered", None)
        own_pages = callable(numbered)  # a ranked search pages itself
        if not own_pages and (not isinstance(queryset, models.QuerySet) or pages.date_ordering(queryset) is None):
            self.count_exact = True
            return super().paginate_queryset(queryset, request, view)
        self.request, size = request, self.get_page_size(request)
        assert size is not None  # PAGE_SIZE is set (settings.REST_FRAMEWORK)
        try:
            page = _positive_int(request.query_params.get(self.page_query_param) or "1", strict=True)
        except ValueError:
            raise NotFound("Invalid page.")
        found: pages.Numbered[Any]
        if callable(numbered):  # own_pages
            found = numbered(number=page, size=size)
        else:
            found = pages.numbered(queryset, number=page, size=size, key=list_key(request, view))
        if page > 1 and not found.rows:
            raise NotFound("Invalid page.")
        self.count, self.count_exact, self.number, self.has_next = (
            found.count,
            found.count_exact,
            page,
            found.has_next,
        )
        self.page = None
        return found.rows

    def get_paginated_response(self, data: Any) -> Response:
        if self.page is not None:  # the plain way
            response = super().get_paginated_response(data)
            response.data["count_exact"] = getattr(self.page.paginator.object_list, "count_exact", True)
            return response
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_next_link(self) -> str | None:
        if self.page is not None:
            return super().get_next_link()
        if not self.has_next:
            return None
        return replace_query_param(self._request().build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.page is not None:
            return super().get_previous_link()
        if self.number <= 1:
            return None
        url = self._request().build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def _request(self) -> Request:
        assert self.request is not None  # set by paginate_queryset
        return self.request

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        schema = super().get_paginated_response_schema(schema)
        schema["properties"]["count"]["description"] = (
            "Matching rows; a lower bound when count_exact is false (the embedded database does "
            "not count a large list, it says there is at least one more page)."
        )
        schema["properties"]["count_exact"] = {
            "type": "boolean",
            "description": 'false when count is a lower bound ("at least count").',
        }
        schema["required"] = [*schema.get("required", []), "count_exact"]
        return schema


def encode_cursor(position: pages.Position, backwards: bool) -> str:
    return signing.dumps(
        {"v": position.value.isoformat(), "i": str(position.pk), "b": int(backwards)}, salt=CURSOR_SALT, compress=True
    )


def decode_cursor(token: str) -> tuple[pages.Position, bool]:
    try:
        data = signing.loads(token, salt=CURSOR_SALT)
        return pages.Position(datetime.fromisoformat(data["v"]), ObjectId(data["i"])), bool(data["b"])
    except (signing.BadSignature, KeyError, TypeError, ValueError, InvalidId):
        raise ValidationError({"cursor": ["Invalid cursor: use the next or previous link of a page as it is."]})


class CursorPagination(BasePagination):
    """Pages by signed cursor; see the module's docstring. A view names the date fields it
    may be ordered by in `cursor_fields` (the first is the default, newest first)."""

    cursor_query_param = "cursor"
    page_size = 20
    default_fields = ("created_at",)
    request: Request
    next_position: pages.Position | None
    previous_position: pages.Position | None

    def paginate_queryset(
        self, queryset: models.QuerySet[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        fields = tuple(getattr(view, "cursor_fields", None) or self.default_fields)
        ordering = pages.date_ordering(queryset)
        if ordering is None or ordering[0] not in fields:
            field, descending = fields[0], True
        else:
            field, descending = ordering
        token = request.query_params.get(self.cursor_query_param)
        position, backwards = decode_cursor(token) if token else (None, False)
        size = page_size(request, self.page_size)
        walked = pages.walk_within(
            queryset,
            field=field,
            descending=descending != backwards,
            after=position,
            limit=size,
            key=(*list_key(request, view), field),
            seconds=settings.LIST_READ_SECONDS,
        )
        rows = walked.rows
        # Walking on: from the last row, or from where the read stopped; back (from any page
        # but the list's first): from the first row, or from the position when none was found.
        onward = walked.resume or (pages.position_of(rows[-1], field) if rows and not walked.ended else None)
        back = None if position is None else pages.position_of(rows[0], field) if rows else position
        if backwards:
            rows.reverse()
            self.next_position, self.previous_position = back, onward
        else:
            self.next_position, self.previous_position = onward, back
        return rows

    def _link(self, position: pages.Position | None, backwards: bool) -> str | None:
        if position is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, encode_cursor(position, backwards))

    def get_next_link(self) -> str | None:
        return self._link(self.next_position, False)

    def get_previous_link(self) -> str | None:
        return self._link(self.previous_position, True)

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": (
                        "The next page (its opaque cursor); null on the last page. A page may hold fewer "
                        "rows than page_size, or none, and still have a next one: the read stopped at its "
                        "time budget (a filter few rows match) and the next page reads on from there."
                    ),
                },
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "The previous page; null on the first page.",
                },
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "The cursor of a page, as the next or previous link gives it.",
                "schema": {"type": "string"},
            },
            {
                "name": PAGE_SIZE_PARAM,
                "required": False,
                "in": "query",
                "description": f"Rows per page (at most {MAX_PAGE_SIZE}).",
                "schema": {"type": "integer"},
            },
        ]
