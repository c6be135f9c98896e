"""REST endpoints of LLM providers and agents, under /api/v1/knowledge/."""

from requestdesk.api.soft_delete import SoftDeleteViewSetMixin
from tenants.api.viewsets import TenantViewSet
from tenants.roles import Role

from ..models import Agent, LLMProvider
from . import filters
from .errors import KnowledgeErrorsMixin
from .serializers.agents import AgentSerializer, LLMProviderSerializer


class LLMProviderViewSet(KnowledgeErrorsMixin, TenantViewSet):
    """The company's LLM providers. The API key is write-only; responses show `api_key_hint`."""

    queryset = LLMProvider.objects.all()
    serializer_class = LLMProviderSerializer
    read_role = write_role = Role.COMPANY_ADMIN
    filterset_fields = ["provider", "is_active"]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]


class AgentViewSet(SoftDeleteViewSetMixin, KnowledgeErrorsMixin, TenantViewSet):
    queryset = Agent.objects.all()
    serializer_class = AgentSerializer
    read_role, write_role = Role.CLIENT, Role.CONTENT_MANAGER
    filterset_class = filters.AgentFilter
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def perform_create(self, serializer, **fields):
        super().perform_create(serializer, created_by=self.request.user, **fields)
