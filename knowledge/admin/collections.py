"""Admin for knowledge collections, their chunks and sync history, and the "test retrieval"
page (a query in, ranked chunks with scores and sources out)."""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework import serializers

from requestdesk.admin_lists import recent_values_filter
from requestdesk.soft_delete_admin import SoftDeleteAdminMixin
from tenants.admin.base import ReadOnlyTenantAdmin, TenantAdmin, is_superadmin, relative_time, staff_company_id

from ..api.serializers.collections import CollectionSettingsSerializer
from ..models import KnowledgeChunk, KnowledgeCollection, SyncHistory
from ..services import ingest, retrieval, sources, sync
from ..services.chunking import DEFAULT_OVERLAP, DEFAULT_SIZE
from ..services.connectors.base import ConnectorError
from ..services.crypto import EncryptionKeyError
from ..services.embeddings import DimensionMismatch
from ..services.extract import SUPPORTED, UnsupportedUpload, check_upload
from ..services.llm import ProviderError


class CollectionForm(forms.ModelForm):
    """The collection's settings as fields (with the defaults the API shows), not a JSON box;
    and a file to add, as the API's upload adds it."""

    chunk_size = forms.IntegerField(initial=DEFAULT_SIZE, help_text="Characters per chunk.")
    chunk_overlap = forms.IntegerField(
        initial=DEFAULT_OVERLAP, help_text="Characters shared by neighbouring chunks; at most half a chunk."
    )
    upload = forms.FileField(
        required=False,
        help_text=f"Manual and upload collections: a file to add "
        f"({', '.join(SUPPORTED)}), read by a worker as the API's "
        f"uploads are; the same file name replaces its earlier "
        f"upload.",
    )
    upload_title = forms.CharField(
        max_length=500, required=False, label="Title of the file", help_text="Blank: the file's name."
    )

    SETTINGS: tuple[str, ...] = ("chunk_size", "chunk_overlap")  # and the sources' fields (collection_form)
    company_id = None  # the staff member's company (None: a superadmin, who picks the company)

    class Meta:
        model = KnowledgeCollection
        exclude = ["settings"]  # noqa: DJ006 (every other field, settings through SETTINGS above)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, value in (self.instance.settings or {}).items():
            if name in self.SETTINGS:
                self.initial[name] = value

    def clean(self):
        cleaned = super().clean()
        self.settings = self._clean_settings(cleaned)
        self.file = self._clean_upload(cleaned)
        return cleaned

    def _clean_settings(self, cleaned) -> dict:
        """Checked by the API's own serializer, so both accept the same settings."""
        given = {name: cleaned[name] for name in self.SETTINGS if cleaned.get(name) not in (None, [], "")}
        checked = CollectionSettingsSerializer(data=given)
        if not checked.is_valid():
            for name, errors in checked.errors.items():
                self.add_error(name if name in self.fields else None, errors)
            return {}
        values = dict(checked.validated_data)
        if values["chunk_overlap"] > values["chunk_size"] // 2:
            self.add_error("chunk_overlap", "At most half the chunk size.")
        company = cleaned.get("company")
        company_id = company.pk if company else (self.instance.company_id or self.company_id)
        source_type = cleaned.get("source_type") or self.instance.source_type
        for name, errors in sources.settings_errors(source_type, values, company_id=company_id).items():
            self.add_error(name if name in self.fields else None, errors)
        kept = {k: v for k, v in (self.instance.settings or {}).items() if k not in self.SETTINGS}
        return {**kept, **values}

    def _clean_upload(self, cleaned):
        upload = cleaned.get("upload")
        if not upload:
            return None
        if cleaned.get("source_type") not in ("manual", "upload"):
            self.add_error(
                "upload", "Only manual and upload collections take files; the others are filled by their sync."
            )
            return None
        if upload.size > settings.KNOWLEDGE_UPLOAD_MAX_BYTES:
            self.add_error("upload", f"The file is larger than {settings.KNOWLEDGE_UPLOAD_MAX_BYTES} bytes.")
            return None
        data = upload.read()
        try:
            check_upload(upload.name, data)
        except UnsupportedUpload as exc:
            self.add_error("upload", str(exc))
            return None
        return {"name": upload.name, "data": data, "title": cleaned.get("upload_title", "")}


def settings_form_field(field: serializers.Field) -> forms.Field:
    """The admin's form field for a source's settings field (knowledge.services.sources): a
    list of choices as ticks, anything else as text."""
    if isinstance(field, serializers.ListField) and isinstance(field.child, serializers.ChoiceField):
        return forms.MultipleChoiceField(
            choices=list(field.child.choices.items()),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            help_text=field.help_text or "",
        )
    return forms.CharField(required=False, max_length=getattr(field, "max_length", None), help_text=field.help_text)


def collection_form(company_id) -> type[CollectionForm]:
    """CollectionForm with a field for each setting of the registered sources."""
    fields = {name: settings_form_field(field) for name, field in sources.settings_fields().items()}
    attrs = {**fields, "SETTINGS": (*CollectionForm.SETTINGS, *fields), "company_id": company_id}
    return type("CollectionForm", (CollectionForm,), attrs)


@admin.register(KnowledgeCollection)
class KnowledgeCollectionAdmin(SoftDeleteAdminMixin, TenantAdmin):
    form = CollectionForm
    list_display = ["name", "source_type", "agent", "chunk_count", "embedding_model", "last_synced_at", "company"]
    list_filter = ["source_type"]
    search_fields = ["name", "description"]
    fieldsets = [
        (None, {"fields": ["name", "description", "company", "user", "agent", "source_type"]}),
        (
            "Chunks and embeddings",
            {
                "fields": [
                    "chunk_size",
                    "chunk_overlap",
                    "embedding_provider",
                    "embedding_model",
                    "embedding_dimensions",
                    "chunk_count",
                ]
            },
        ),
        ("Sync", {"fields": ["last_sync"]}),  # with the sources' settings (get_fieldsets)
        ("Add a file", {"fields": ["upload", "upload_title"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["embedding_dimensions", "chunk_count", "last_sync", "created_at", "updated_at"]
    actions = ["sync_now"]
    change_list_template = "admin/knowledge/collection_change_list.html"
    change_form_template = "admin/knowledge/collection_change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs.setdefault("form", collection_form(staff_company_id(request)))
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        names = list(sources.settings_fields())
        return [
            (title, {"fields": [*names, *options["fields"]]} if title == "Sync" else options)
            for title, options in self.fieldsets
        ]

    @admin.display(description="last sync")
    def last_sync(self, obj):
        """The newest entry of the sync history (connector syncs, texts and uploads alike)."""
        last = SyncHistory.objects.filter(collection=obj).order_by("-created_at").first() if obj.pk else None
        if last is None:
            return "never"
        history = reverse("admin:knowledge_synchistory_changelist") + "?" + urlencode({"collection": obj.pk})
        return format_html(
            '{} · {} · {} · <a href="{}">history</a>',
            relative_time(last.created_at),
            last.sync_type,
            last.get_status_display(),
            history,
        )

    def save_model(self, request, obj, form, change):
        obj.settings = form.settings
        super().save_model(request, obj, form, change)
        if form.file is not None:
            request.collection_file = (obj, form.file)  # staged by changeform_view

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """The file is staged once the collection is saved (and out of the admin's atomic())."""
        response = super().changeform_view(request, object_id, form_url, extra_context)
        pending = getattr(request, "collection_file", None)
        if pending is not None:
            self._add_file(request, *pending)
        return response

    def _add_file(self, request, collection, upload: dict):
        """Staged and queued as the API's upload is (knowledge.services.sync.request_upload)."""
        try:
            sync.request_upload(collection=collection, trigger="admin", **upload)
        except (ingest.NotAddable, UnsupportedUpload, sync.SyncNotQueued) as exc:
            self.message_user(request, f"{upload['name']}: not added: {exc}", messages.ERROR)
            return
        self.message_user(request, f"Queued “{upload['name']}”; the sync history shows its progress.")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["search_url"] = reverse("admin:knowledge_test_retrieval") + "?" + urlencode({"collections": obj.pk})
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(description="Sync selected collections now (from their source)")
    def sync_now(self, request, queryset):
        queued = 0
        for collection in queryset:
            try:
                sync.request_sync(collection=collection, trigger="admin")
                queued += 1
            except (sync.NotSyncable, sync.SyncNotQueued, ConnectorError, EncryptionKeyError) as exc:
                self.message_user(request, f"{collection}: {exc}", messages.ERROR)
        if queued:
            self.message_user(request, f"Queued {queued} sync(s); see Sync history.")

    def get_urls(self):
        view = self.admin_site.admin_view(self.test_retrieval_view)
        return [path("test-retrieval/", view, name="knowledge_test_retrieval"), *super().get_urls()]

    def test_retrieval_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        collections = self.get_queryset(request)
        # Bound once a query is asked; a link may only choose the collections (a collection's page).
        form = (
            TestRetrievalForm(request.GET, collections=collections)
            if "query" in request.GET
            else TestRetrievalForm(initial={"collections": request.GET.getlist("collections")}, collections=collections)
        )
        hits, error = None, ""
        if form.is_valid():
            chosen = list(form.cleaned_data["collections"]) or ([] if is_superadmin(request) else list(collections))
            companies = {c.company_id for c in chosen}
            if len(companies) != 1:
                error = "Choose the collections of one company." if chosen else "Choose at least one collection."
            else:
                try:
                    hits = retrieval.search(
                        company=companies.pop(),
                        query=form.cleaned_data["query"],
                        collection_ids=[c.pk for c in chosen],
                        mode=form.cleaned_data["mode"] or "hybrid",
                        limit=form.cleaned_data["limit"] or 5,
                    )
                except (ProviderError, EncryptionKeyError, DimensionMismatch) as exc:
                    error = str(exc)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "hits": hits,
            "error": error,
            "title": "Test retrieval",
        }
        return TemplateResponse(request, "admin/knowledge/test_retrieval.html", context)


class TestRetrievalForm(forms.Form):
    query = forms.CharField(max_length=2000, widget=forms.TextInput(attrs={"size": 80}))
    collections = forms.ModelMultipleChoiceField(
        queryset=KnowledgeCollection.objects.none(),
        required=False,
        help_text="None chosen: all of your company's collections.",
    )
    mode = forms.ChoiceField(choices=[(m, m) for m in retrieval.MODES], initial="hybrid", required=False)
    limit = forms.IntegerField(min_value=1, max_value=retrieval.MAX_LIMIT, initial=5, required=False)

    def __init__(self, *args, collections, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collections"].queryset = collections


@admin.register(KnowledgeChunk)
class KnowledgeChunkAdmin(ReadOnlyTenantAdmin):
    ordering = ["-created_at"]  # paged in windows of the date (requestdesk.admin_lists)
    list_display = ["source_id", "chunk_index", "title", "collection", "source_type", "created_at"]
    list_filter = ["source_type"]
    search_fields = ["source_id", "content"]
    exclude = ["embedding", "terms"]
    readonly_fields = ["dimensions"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("terms")

    @admin.display(description="dimensions")
    def dimensions(self, obj):
        return 0 if obj.embedding is None else len(obj.embedding)


@admin.register(SyncHistory)
class SyncHistoryAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "created_at",
        "collection",
        "sync_type",
        "trigger",
        "status",
        "items_synced",
        "chunks_added",
        "chunks_removed",
        "error_message",
    ]
    list_filter = ["status", recent_values_filter("sync_type"), "trigger"]
