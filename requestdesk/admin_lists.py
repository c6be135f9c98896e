"""Admin changelists that neither count nor sort a whole tenant, and render their page cheaply.

`WindowPaginator` reads page N of a list ordered by a date field through
requestdesk.db.pages (N pages of bounded windows); its `count` is exact where the server
counts cheaply or the walk reached the list's end, otherwise the rows seen plus one, and the
changelist says "more than …" (templates/admin/pagination.html). Lists ordered otherwise
are paginated the plain way. The rows' links, their checkboxes and the action form are
Django's HTML, built without a URL reverse per row or the form templates per page.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.db.models.fields.related import ForeignKey
from django.db.models.signals import post_delete, post_save
from django.forms.renderers import BaseRenderer
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from requestdesk.db import pages
from requestdesk.memo import Memo

PAGE_PARAM = "p"  # django.contrib.admin.views.main.PAGE_VAR


# A many-to-one field of a changelist (ForeignKey), loaded per page.
Related = Sequence["ForeignKey[Any, Any]"]

if TYPE_CHECKING:  # generic to the type checker only (Django's classes take no parameters)
    from django.contrib.admin.options import _ListDisplayT

    PaginatorBase = Paginator[Model]
    ModelAdminBase = admin.ModelAdmin[Model]
else:
    PaginatorBase, ModelAdminBase = Paginator, admin.ModelAdmin


class WindowPaginator(PaginatorBase):
    def __init__(
        self,
        object_list: QuerySet[Model] | Sequence[Model],
        per_page: int,
        *,
        number: int = 1,
        related: Related = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.number, self.related = max(number, 1), related
        self.windowed = isinstance(object_list, QuerySet) and pages.date_ordering(object_list) is not None
        self.count_exact = True

    @cached_property
    def _numbered(self) -> pages.Numbered[Model]:
        queryset = cast("QuerySet[Model]", self.object_list)  # windowed: a date-ordered queryset
        return pages.numbered(
            queryset,
            number=self.number,
            size=self.per_page,
            key=("admin", str(queryset.query.where)),
            seconds=settings.LIST_READ_SECONDS,
        )

    @cached_property
    def count(self) -> int:
        if not self.windowed:
            return super().count
        self.count_exact = self._numbered.count_exact
        return self._numbered.count

    def page(self, number: int | str) -> Page[Model]:
        if not self.windowed or int(number) != self.number:
            page = super().page(number)
            rows = list(page.object_list)
            page.object_list = rows
        else:
            rows = self._numbered.rows
            page = Page(rows, self.validate_number(number), self)
        attach_related(rows, self.related)
        return page


# The objects changelists show through their rows' foreign keys (a result's project), by
# (model label, id), and a filter's choices of a related model (a superadmin's companies);
# kept ADMIN_RELATED_SECONDS per process, dropped at once when one is saved or deleted in this
# process. A page gets its own copy of an object, shared by its rows as prefetch_related shares
# one (entries are shared between threads).
_related: Memo[Any] = Memo("ADMIN_RELATED_SECONDS")
_watched: set[type[Model]] = set()


def _forget(sender: type[Model], instance: Model, **_signal: object) -> None:
    _related.invalidate((sender._meta.label, instance.pk), sender._meta.label)


def _watch(model: type[Model]) -> None:
    """Drop a model's kept objects when one is saved or deleted (connected once, on first use)."""
    if model not in _watched:
        _watched.add(model)
        for signal in (post_save, post_delete):
            signal.connect(_forget, sender=model, weak=False, dispatch_uid=f"admin_lists.{model._meta.label}")


def attach_related(rows: Sequence[Model], fields: Related) -> None:
    """Set on `rows` the objects of each foreign key in `fields`: those kept (`_related`), the
    others read with one query per field (by id), instead of a query per row or a join
    (select_related: the backend puts its $lookup before the $match, so the embedded server
    joins every document first)."""
    for field in fields:
        related = cast("type[Model]", field.related_model)  # a model class once the apps are loaded
        _watch(related)
        label, generation = related._meta.label, _related.generation
        found = {pk: _related.get((label, pk)) for pk in {getattr(row, field.attname) for row in rows} - {None}}
        missing = [pk for pk, obj in found.items() if obj is None]
        if missing:
            for pk, read in related._base_manager.in_bulk(missing).items():
                found[pk] = read
                _related.put((label, pk), copy.copy(read), generation=generation, ids=frozenset({(label, pk)}))
        copies = {pk: copy.copy(obj) for pk, obj in found.items() if obj is not None}
        for row in rows:
            field.set_cached_value(row, copies.get(getattr(row, field.attname)))


class KeptChoicesFilter(admin.RelatedFieldListFilter):
    """Django's filter on a foreign key (every object of the related model, a superadmin's
    companies), its choices kept as `attach_related` keeps objects: a read per page saved.
    Like Django's, it lists every object whoever asks: a filter for superadmins only."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[Any]:
        related = cast("type[Model]", field.related_model)
        _watch(related)
        label, ordering = related._meta.label, self.field_admin_ordering(field, request, model_admin)
        choices_of = super().field_choices
        choices = _related.fetch(
            (label, "choices", tuple(ordering)),
            lambda: tuple(choices_of(field, request, model_admin)),
            ids=frozenset({label}),
        )
        return list(choices)


class BoundedChangeList(ChangeList):
    """Django's changelist, except that a list of one page (or "show all") is the rows with their
    foreign keys attached: Django lists its queryset again, and each row then reads its
    project and target one by one."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        if isinstance(self.result_list, QuerySet):
            paginator = cast("WindowPaginator", self.paginator)  # BoundedListAdmin.get_paginator's
            if self.multi_page:  # "show all"
                rows = list(self.result_list)
                attach_related(rows, paginator.related)
            else:
                rows = list(paginator.page(1).object_list)  # read already, to count
            self.result_list = rows

    def get_ordering(self, request: HttpRequest, queryset: QuerySet[Model]) -> list[Any]:
        """Django's, where `?o=` names only columns the admin lets users sort by (`sortable_by`):
        a crafted one is not a way around it (Django's would sort by the id instead)."""
        if self.params.get(ORDER_VAR) and self.sortable_by is not None:
            kept = [part for part in str(self.params[ORDER_VAR]).split(".") if self._sortable(part)]
            if kept:
                self.params[ORDER_VAR] = ".".join(kept)
            else:
                del self.params[ORDER_VAR]
        return cast("list[Any]", super().get_ordering(request, queryset))

    def _sortable(self, part: str) -> bool:
        try:
            return self.list_display[int(part.rpartition("-")[2])] in cast("Sequence[str]", self.sortable_by)
        except (IndexError, ValueError):
            return False

    @cached_property
    def _change_url(self) -> tuple[str, str] | None:
        """The change view's URL around its object id, from one reverse (None if it cannot be cut)."""
        url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(_ID_MARK,),
            current_app=self.model_admin.admin_site.name,
        )
        parts = url.split(_ID_MARK)
        return (parts[0], parts[1]) if len(parts) == 2 else None

    def url_for_result(self, result: Model) -> str:
        """Django's URL of a row's change view; a reverse per row cost about 0.05 ms."""
        pk = str(quote(getattr(result, self.pk_attname)))
        if self._change_url is None or not _URL_SAFE_ID.fullmatch(pk):  # reverse() would percent-encode it
            return super().url_for_result(result)
        return f"{self._change_url[0]}{pk}{self._change_url[1]}"


_ID_MARK = "0id0mark0"
_URL_SAFE_ID = re.compile(r"[A-Za-z0-9_.~-]+")  # unreserved characters (RFC 3986): reverse() keeps them as they are

# HTML of the action form's widgets by everything it is made of (their class, name, value, attrs,
# choices, the renderer's class and the language); a changelist's action form is always unbound.
_rendered: dict[tuple[Any, ...], SafeString] = {}
_RENDERED_MAX = 512


class _KeptRender:
    """A widget whose HTML is rendered once per process for the same inputs."""

    attrs: dict[str, Any]

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        choices = tuple((str(key), str(label)) for key, label in getattr(self, "choices", ()))
        key = (type(self), type(renderer), name, str(value), repr(attrs), repr(self.attrs), choices, get_language())
        html = _rendered.get(key)
        if html is None:
            if len(_rendered) >= _RENDERED_MAX:
                _rendered.clear()
            html = _rendered[key] = super().render(name, value, attrs, renderer)  # type: ignore[misc]  # the widget's
        return html


class KeptSelect(_KeptRender, forms.Select):
    pass


class KeptHiddenInput(_KeptRender, forms.HiddenInput):
    pass


class KeptActionForm(helpers.ActionForm):
    """Django's action form (its fields as Django declares them), its widgets' HTML kept
    (`_KeptRender`): rendering them through the form templates cost about 1.4 ms a page."""

    action = forms.ChoiceField(label=helpers.ActionForm.base_fields["action"].label, widget=KeptSelect)
    select_across = forms.BooleanField(
        label="", required=False, initial=0, widget=KeptHiddenInput({"class": "select-across"})
    )


class BoundedListAdmin(ModelAdminBase):
    """Changelists paged by WindowPaginator, without a second count of the unfiltered list;
    the foreign keys shown in the list are loaded per page (attach_related), not joined.
    A page holds 20 rows, as the API's: rendering a changelist row costs about 1 ms, and
    Django's 100 a page made rendering most of a page's time."""

    list_per_page = 20
    show_full_result_count = False
    list_select_related = ()
    action_form = KeptActionForm

    def action_checkbox(self, obj: Model) -> SafeString:
        """Django's row checkbox, the same HTML written directly: Django renders a
        CheckboxInput through the form template engine, about 1 ms a row on this machine."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BoundedChangeList

    def get_sortable_by(self, request: HttpRequest) -> _ListDisplayT[Model]:
        """A list paged by date windows (its default order is a date field) sorts by its date
        columns only: ordered by another column it would be paged the plain way, which counts
        and sorts every row the user may see. Other lists sort as Django's do."""
        sortable = super().get_sortable_by(request)
        ordering = list(self.get_ordering(request) or self.model._meta.ordering or [])
        if not ordering or not pages.is_date_field(self.model, str(ordering[0]).lstrip("-")):
            return sortable
        return [
            name
            for name in sortable
            if isinstance(name, str) and pages.is_date_field(self.model, self._order_field(name))
        ]

    def _order_field(self, name: str) -> str:
        """The model field a list_display column sorts by (its admin_order_field, if any)."""
        attr = getattr(self, name, None) or getattr(self.model, name, None)
        return str(getattr(attr, "admin_order_field", None) or name).lstrip("-")

    def related_in_list(self, request: HttpRequest) -> list[ForeignKey[Any, Any]]:
        fields: list[ForeignKey[Any, Any]] = []
        for name in self.get_list_display(request):
            try:
                field = self.model._meta.get_field(name) if isinstance(name, str) else None
            except FieldDoesNotExist:
                continue
            if field is not None and field.many_to_one:
                fields.append(cast("ForeignKey[Any, Any]", field))  # many_to_one
        return fields

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Model],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> WindowPaginator:
        try:
            number = int(request.GET.get(PAGE_PARAM, 1))
        except ValueError:
            number = 1  # as the changelist reads it
        return WindowPaginator(
            queryset,
            per_page,
            number=number,
            related=self.related_in_list(request),
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
        )


def _newest_values(queryset: QuerySet[Any], field_name: str, rows: int) -> list[Any]:
    """`field_name` of the newest `rows` rows of `queryset`, read by the walk where it is date-ordered."""
    ordering = pages.date_ordering(queryset)
    if ordering is None:
        return list(queryset.values_list(field_name, flat=True)[:rows])
    found, _ = pages.walk(
        queryset, field=ordering[0], descending=ordering[1], limit=rows, key=("admin filter", field_name)
    )
    return [getattr(row, field_name) for row in found]


def recent_values_filter(field_name: str, *, rows: int = 500, title: str | None = None) -> type[admin.SimpleListFilter]:
    """A changelist filter on a free-text field (an event type, a sync type) offering the values
    of the newest `rows` rows the user may see, read by the walk and kept as related objects are
    (ADMIN_RELATED_SECONDS; at once after a save in this process): reading them was three
    quarters of an audit log page. Django's own filter for such a field lists the distinct
    values of every row of the collection."""

    class RecentValuesFilter(admin.SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]) -> list[tuple[Any, str]]:
            queryset = model_admin.get_queryset(request)
            label = queryset.model._meta.label
            _watch(queryset.model)
            newest = _related.fetch(  # by the user's scope (its company's id is in the where clause)
                (label, "recent values", field_name, rows, str(queryset.query.where)),
                lambda: tuple(_newest_values(queryset, field_name, rows)),
                ids=frozenset({label}),
            )
            values = {value for value in newest if value not in (None, "")}
            if self.value():
                values.add(self.value())  # the chosen one stays listed, however old
            return [(value, value) for value in sorted(values)]

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            return queryset.filter(**{field_name: self.value()}) if self.value() else queryset

    RecentValuesFilter.title = title or field_name.replace("_", " ")
    RecentValuesFilter.__name__ = f"Recent{field_name.title().replace('_', '')}Filter"
    return RecentValuesFilter
