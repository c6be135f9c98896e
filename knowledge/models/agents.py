"""LLM providers and agents. Secrets (provider API keys, integration keys) are
stored encrypted (knowledge.services.crypto) in `*_secret` fields, whose names the audit
log masks; the documents keep their original field names (`api_key`, `shopify_api_key`, ...)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django_mongodb_backend.fields import ArrayField, ObjectIdField

from requestdesk.soft_delete import SoftDeletable
from tenants.scoping import TenantScoped


class LLMProvider(TenantScoped):
    """An OpenAI-compatible endpoint a company pays for: chat completions and embeddings."""

    OPENAI, ANTHROPIC, GOOGLE, AZURE, OLLAMA, VLLM, CUSTOM = (
        "openai",
        "anthropic",
        "google",
        "azure",
        "ollama",
        "vllm",
        "custom",
    )
    PROVIDERS = [
        (OPENAI, "OpenAI"),
        (ANTHROPIC, "Anthropic"),
        (GOOGLE, "Google"),
        (AZURE, "Azure OpenAI"),
        (OLLAMA, "Ollama"),
        (VLLM, "vLLM"),
        (CUSTOM, "Other OpenAI-compatible"),
    ]
    # Their OpenAI-compatible endpoints, used when base_url is blank.
    DEFAULT_BASE_URLS = {
        OPENAI: "https://api.openai.com/v1",
        ANTHROPIC: "https://api.anthropic.com/v1/",
        GOOGLE: "https://generativelanguage.googleapis.com/v1beta/openai/",
    }

    name = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=20, choices=PROVIDERS, default=OPENAI)
    api_key_secret = models.TextField(db_column="api_key", blank=True, editable=False)
    api_key_hint = models.CharField(max_length=20, blank=True, editable=False)
    base_url = models.URLField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    # Last: from here on `models` in this class body is this field, not django.db.models.
    models = ArrayField(models.CharField(max_length=100), default=list, blank=True)

    class Meta:
        db_table = "llm_providers"
        ordering = ["provider", "name"]
        verbose_name = "LLM provider"
        indexes = [models.Index(fields=["company", "provider", "name"], name="llm_provider_company_name")]

    def __str__(self):
        return self.name or self.get_provider_display()

    @property
    def endpoint(self) -> str:
        return self.base_url or self.DEFAULT_BASE_URLS.get(self.provider, "")


class Agent(SoftDeletable, TenantScoped):
    """An AI agent: its prompt and model, the knowledge collections it answers from, and
    the Shopify/WordPress stores its collections sync from. Deleting it (soft) deletes its
    conversations with it; its collections stay (other agents may answer from them) but are
    not synced while it is deleted."""

    SOFT_DELETE_CHILDREN = (("knowledge.Conversation", "agent"),)

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey("tenants.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    system_prompt = models.TextField(blank=True)
    model = models.CharField(max_length=100, default="gpt-4o-mini")
    provider = models.ForeignKey(
        LLMProvider,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The provider to call; blank: the company's active provider that lists the model.",
    )
    temperature = models.FloatField(default=0.7, validators=[MinValueValidator(0), MaxValueValidator(2)])
    max_tokens = models.PositiveIntegerField(
        default=1024, validators=[MinValueValidator(1), MaxValueValidator(128_000)]
    )
    knowledge_collection_ids = ArrayField(ObjectIdField(), default=list, blank=True)
    # Reranking of the fused search hits before they reach the prompt (knowledge.services.rerank)
    RERANK_NONE, RERANK_LLM, RERANK_CROSS_ENCODER = "", "llm", "cross_encoder"
    RERANKERS = [
        (RERANK_NONE, "None (fused order)"),
        (RERANK_LLM, "The agent's LLM provider"),
        (RERANK_CROSS_ENCODER, "The local cross-encoder (KNOWLEDGE_CROSS_ENCODER_PATH)"),
    ]
    rerank = models.CharField(
        max_length=20,
        choices=RERANKERS,
        default=RERANK_NONE,
        blank=True,
        help_text="Reorder the knowledge hits by relevance to the question before answering.",
    )
    rerank_model = models.CharField(
        max_length=100, blank=True, help_text="The provider's model that reranks; blank: the agent's model."
    )
    # Integrations
    shopify_enabled = models.BooleanField(default=False)
    shopify_store_url = models.URLField(max_length=500, blank=True)
    shopify_api_key_secret = models.TextField(db_column="shopify_api_key", blank=True, editable=False)
    shopify_api_key_hint = models.CharField(max_length=20, blank=True, editable=False)
    wordpress_enabled = models.BooleanField(default=False)
    wordpress_site_url = models.URLField(max_length=500, blank=True)
    wordpress_api_key_secret = models.TextField(db_column="wordpress_api_key", blank=True, editable=False)
    wordpress_api_key_hint = models.CharField(max_length=20, blank=True, editable=False)

    class Meta:
        db_table = "agents"
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "name"], name="agent_company_name")]

    def __str__(self):
        return self.name
