"""drf-spectacular: the schema class, mappings for the Mongo serializer fields, and the
schema-wide postprocessing (ObjectId path ids, documented error responses).

The schema is what client generators (openapi-python-client, ...) build from, so it says one
thing per operation: a JSON body (multipart only where a file is uploaded), the fields each
request requires, and descriptions written for API users.
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

from drf_spectacular import openapi
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
    OpenApiViewExtension,
)
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import Direction, extend_schema, extend_schema_view
from rest_framework import serializers

if TYPE_CHECKING:
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.request import Request
    from rest_framework.views import APIView

JSON = "application/json"
Object = dict[str, Any]  # a piece of the OpenAPI document
OBJECT_ID_PATTERN = "^[0-9a-f]{24}$"


def object_id_schema() -> Object:
    """An ObjectId as 24 hex digits."""
    schema = build_basic_type(OpenApiTypes.STR)
    assert schema is not None  # a basic type
    return {**schema, "pattern": OBJECT_ID_PATTERN}


class AutoSchema(openapi.AutoSchema):
    """REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS.

    * Request bodies are documented as JSON alone when the view parses JSON. The form
      parsers still accept what browsers and `curl -d` send, but offering one model under
      three media types makes generated clients fail to import.
    * An operation's description is its own docstring or its view's own, never one
      inherited from the project's base classes (those are notes for developers).
    """

    def map_parsers(self) -> list[str]:
        media_types = super().map_parsers()
        return [JSON] if JSON in media_types else media_types

    # drf-spectacular's AutoSchema takes no arguments here; DRF's stub for its base says (path, method).
    def get_description(self) -> str:  # type: ignore[override]
        view_class = type(self.view)
        handler = view_class.__dict__.get(getattr(self.view, "action", None) or self.method.lower())
        return inspect.cleandoc(getattr(handler, "__doc__", None) or view_class.__dict__.get("__doc__") or "")


class ObjectIdFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "requestdesk.api.serializers.ObjectIdField"

    def map_serializer_field(self, auto_schema: openapi.AutoSchema, direction: Direction) -> Object:
        return object_id_schema()


class EmbeddedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "requestdesk.api.serializers.EmbeddedField"

    def map_serializer_field(self, auto_schema: openapi.AutoSchema, direction: Direction) -> Object:
        ref: Object = auto_schema.resolve_serializer(self.target.child, direction).ref
        return ref


class UserViewSetSchema(OpenApiViewExtension):
    """A new user needs a password: UserSerializer asks for it on create only (in validate(),
    since an update keeps the password), which its field cannot say; the create operation
    documents its own request body with the password required."""

    target_class = "tenants.api.views.UserViewSet"

    def view_replacement(self) -> type[APIView]:
        from tenants.api.serializers import UserSerializer

        class UserCreateSerializer(UserSerializer):
            password = serializers.CharField(write_only=True, style={"input_type": "password"})

        view: type[APIView] = extend_schema_view(create=extend_schema(request=UserCreateSerializer))(self.target)
        return view


class ApiKeyAuthScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> Object:
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class JWTAuthScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.JWTAuthentication"
    name = "JWT"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> Object:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


# --- Error responses, documented once for every operation --------------------------------
# What the shared pieces answer (DRF's exception handler, requestdesk.api.errors, the
# pagination, the throttles, the permission classes), added where a view has not said more.

ERROR = {
    "type": "object",
    "description": "An error: `detail` says what went wrong.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Bad input: messages by field name (`non_field_errors` for the whole input); "
    "nested input gives nested messages.",
    "additionalProperties": {},
}
FIELD_ERROR_CODES = {
    "400": ("FieldErrors", "Bad input; nothing was stored."),
    "409": ("FieldErrors", "Conflicts with an existing object (a unique value in use)."),
}
ERROR_CODES = {
    "401": "Not signed in, or the credentials are wrong or expired.",
    "403": "Signed in, but the role or the API key's permissions do not allow this.",
    "404": "No such object in your company, or no such page.",
    "415": "Unsupported media type of the request body.",
    "429": "Too many requests; retry after the `Retry-After` seconds.",
}


def _error_codes(operation: Object, method: str) -> list[str]:
    params = operation.get("parameters", [])
    in_query = [p["name"] for p in params if p.get("in") == "query"]
    has_body = "requestBody" in operation
    codes = ["401", "403", "429"]
    if has_body or in_query or method != "get":  # a write can also be refused for the object's state
        codes.append("400")
    if any(p.get("in") == "path" for p in params) or "page" in in_query:
        codes.append("404")
    if has_body:
        codes.append("415")
    if method in ("post", "put", "patch"):
        codes.append("409")
    return codes


def _object_id_path_parameters(operation: Object) -> None:
    """Path ids are ObjectIds; drf-spectacular reads the ObjectIdAutoField as an AutoField (integer)."""
    for param in operation.get("parameters", []):
        if param.get("in") == "path" and param.get("schema", {}).get("type") == "integer":
            param["schema"] = object_id_schema()
            param["description"] = re.sub(
                r"^A unique integer value identifying", "The id (24 hex digits) of", param.get("description", "")
            )


EVENT_STREAM, SSE = "text/event-stream", "SSEEvent"
SSE_EVENT = {
    "type": "object",
    "description": "One server-sent event; `data` is a JSON document (a `type` key says which event).",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
    "required": ["data"],
}


def _event_streams(operation: Object) -> None:
    """A text/event-stream answer is a sequence of events, not the JSON body's schema."""
    for response in operation.get("responses", {}).values():
        content = response.get("content", {})
        if EVENT_STREAM in content:
            content[EVENT_STREAM] = {"schema": {"$ref": f"#/components/schemas/{SSE}"}}


def _anonymous(operation: Object) -> None:
    """An operation open to anyone (sign-in, refresh) says so with no security requirement:
    `[{}]` ("anonymous is one way") makes generated clients demand credentials for it."""
    if operation.get("security") == [{}]:
        operation["security"] = []


def postprocess_schema(result: Object, generator: SchemaGenerator, request: Request | None, public: bool) -> Object:
    """drf-spectacular postprocessing hook: ObjectId path ids, event streams, open operations,
    and the error answers every operation can give."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    schemas.setdefault(SSE, SSE_EVENT)
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            _object_id_path_parameters(operation)
            _event_streams(operation)
            _anonymous(operation)
            responses = operation["responses"]
            # Errors come as JSON, or in the format the request negotiated (?format=sse, ...).
            media_types = ["application/json"] + [
                media
                for code, response in responses.items()
                if code.startswith("2")
                for media in response.get("content", {})
            ]
            for code in _error_codes(operation, method):
                if code in responses:
                    continue
                if code in FIELD_ERROR_CODES:
                    name, description = FIELD_ERROR_CODES[code]
                else:
                    name, description = "Error", ERROR_CODES[code]
                responses[code] = {
                    "description": description,
                    "content": {
                        media: {"schema": {"$ref": f"#/components/schemas/{SSE if media == EVENT_STREAM else name}"}}
                        for media in dict.fromkeys(media_types)
                    },
                }
    return result
