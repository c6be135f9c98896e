"""The tenants API: views, serializers, the viewset base every app's API takes its querysets
from (`viewsets`), role permissions and OAuth sign-in."""
