"""The monitoring app's admin: scraping's result admin, extended (unregistered there and
registered again here, as Django extends another app's admin) with two ways to respond to the
selected results: "Open a ticket" (one ticket per result, linking it) and "Draft a response
with a pipeline" (a page to choose the pipeline, then one queued run per result). Both end
with a message linking what they created; each creation is audited as an admin addition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from content.models import Pipeline
from content.services.contexts import InvalidPipeline
from events.services import audit
from requestdesk.queueing import QueueUnavailable
from scraping.admin import ResultAdmin
from scraping.models import Result
from tenants.admin.base import record_audit
from tenants.models import User
from tenants.services import plans

from ..services import responding

MAX_AT_ONCE = 20  # results one action responds to: a "select all" must not open thousands of tickets


class DraftResponseForm(forms.Form):
    """The run's pipeline (an active one of the results' company) and optional instructions."""

    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.none())
    instructions = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=f"What the draft should do; by default: “{responding.DEFAULT_INSTRUCTIONS}”",
    )

    def __init__(self, *args: Any, company_id: object, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["pipeline"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Pipeline.objects.for_company(company_id).filter(is_active=True).order_by("name")


def _created(objects: Sequence[Model], url_name: str) -> SafeString:
    """Links to the admin change pages of `objects`."""
    return format_html_join(
        ", ", '<a href="{}">{}</a>', ((reverse(url_name, args=[obj.pk]), str(obj)) for obj in objects)
    )


admin.site.unregister(Result)


@admin.register(Result)
class RespondingResultAdmin(ResultAdmin):
    actions = ["open_ticket", "draft_response"]

    def _selected(self, request: HttpRequest, queryset: QuerySet[Result]) -> list[Result] | None:
        results = list(queryset[: MAX_AT_ONCE + 1])
        if len(results) > MAX_AT_ONCE:
            self.message_user(request, f"Select at most {MAX_AT_ONCE} results to respond to.", messages.WARNING)
            return None
        return results

    @admin.action(description="Open a ticket")
    def open_ticket(self, request: HttpRequest, queryset: QuerySet[Result]) -> None:
        results = self._selected(request, queryset)
        if not results:
            return
        user = request.user
        assert isinstance(user, User)  # the admin lets staff users only in
        tickets = []
        for result in results:
            ticket = responding.open_ticket_for(result, user=user)
            record_audit(request, ticket, "created", changes=audit.field_changes(None, ticket))
            tickets.append(ticket)
        links = _created(tickets, "admin:content_ticket_change")
        self.message_user(request, format_html("Opened {} ticket(s): {}", len(tickets), links))

    @admin.action(description="Draft a response with a pipeline")
    def draft_response(self, request: HttpRequest, queryset: QuerySet[Result]) -> HttpResponse | None:
        results = self._selected(request, queryset)
        if not results:
            return None
        companies = {result.company_id for result in results}
        if len(companies) > 1:
            self.message_user(request, "Select results of one company to run its pipeline.", messages.WARNING)
            return None
        form = DraftResponseForm(request.POST if "apply" in request.POST else None, company_id=companies.pop())
        if form.is_bound and form.is_valid():
            self._start_runs(request, results, form.cleaned_data)
            return None
        page = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Draft a response with a pipeline",
            "results": results,
            "form": form,
            "action": "draft_response",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/monitoring/draft_response.html", page)

    def _start_runs(self, request: HttpRequest, results: list[Result], choice: dict[str, Any]) -> None:
        user = request.user
        assert isinstance(user, User)  # the admin lets staff users only in
        started = []
        for result in results:
            try:
                context = responding.start_run_for(
                    result, user=user, pipeline=choice["pipeline"], instructions=choice["instructions"]
                )
            except (QueueUnavailable, InvalidPipeline, plans.NotAllowed, plans.QuotaExceeded) as exc:
                self.message_user(request, str(exc), messages.ERROR)
                break
            record_audit(request, context, "created")
            started.append(context)
        if started:
            links = _created(started, "admin:content_context_change")
            self.message_user(request, format_html("Queued {} run(s): {}", len(started), links))
