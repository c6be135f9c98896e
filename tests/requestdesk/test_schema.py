"""OpenAPI 3 schema and Swagger UI (served from the sidecar package, no CDN)."""

import re


def test_openapi_schema_describes_mongo_fields(client, db):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/users/",
        "/api/v1/users/{id}/",
        "/api/v1/api-keys/",
        "/api/v1/auth/token/",
        "/api/v1/me/settings/",
        "/api/v1/companies/",
    } <= set(schema["paths"])
    user = schema["components"]["schemas"]["User"]["properties"]
    assert user["id"]["type"] == "string" and user["id"]["readOnly"]
    assert user["guest_companies"]["type"] == "array"
    settings_props = schema["components"]["schemas"]["UserSettings"]["properties"]
    prefs = settings_props["notification_preferences"]
    ref = prefs.get("$ref") or prefs["allOf"][0]["$ref"]
    assert ref.endswith("/NotificationPreferences")
    assert set(schema["components"]["securitySchemes"]) == {"ApiKey", "JWT", "cookieAuth"}


def test_swagger_ui_is_self_hosted(client, db):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html


# --- what client generators build from (see tests/proof/test_openapi_client.py) ------------------------


def _schema(client):
    return client.get("/api/v1/schema/?format=json").json()


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if isinstance(operation, dict) and "responses" in operation:
                yield path, method, operation


def test_request_bodies_are_json_and_multipart_only_for_uploads(client, db):
    bodies = {
        (path, method): list(op["requestBody"]["content"])
        for path, method, op in _operations(_schema(client))
        if "requestBody" in op
    }
    assert len(bodies) > 60
    uploads = {key: media for key, media in bodies.items() if media != ["application/json"]}
    assert uploads == {
        ("/api/v1/knowledge/collections/{id}/upload/", "post"): ["multipart/form-data"],
        ("/api/v1/knowledge/messages/{id}/attachments/", "post"): ["multipart/form-data"],
    }


def test_a_new_user_needs_a_password_an_update_does_not(client, db):
    schema = _schema(client)
    users = schema["paths"]["/api/v1/users/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    create = schema["components"]["schemas"][users["$ref"].rsplit("/", 1)[1]]
    assert "password" in create["required"] and {"username", "email"} <= set(create["required"])
    update = schema["paths"]["/api/v1/users/{id}/"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert "password" not in schema["components"]["schemas"][update["$ref"].rsplit("/", 1)[1]].get("required", [])


def test_descriptions_are_written_for_api_users(client, db):
    """Not the project's base classes' docstrings (notes for developers), not module paths."""
    from content.api.errors import ContentErrorsMixin
    from knowledge.api.errors import KnowledgeErrorsMixin
    from tenants.api.viewsets import TenantViewSetMixin

    notes = [TenantViewSetMixin.__doc__, ContentErrorsMixin.__doc__, KnowledgeErrorsMixin.__doc__]
    for path, method, operation in _operations(_schema(client)):
        description = operation.get("description", "")
        assert not any(note.strip() in description for note in notes), (path, method, description)
        assert not re.search(r"\b(tenants|content|knowledge|scraping|requestdesk)\.[a-z_]+\b", description), (
            path,
            method,
            description,
        )


def test_sign_in_and_refresh_need_no_credentials(client, db):
    paths = _schema(client)["paths"]
    for path in ("/api/v1/auth/token/", "/api/v1/auth/token/refresh/"):
        assert paths[path]["post"]["security"] == []
    assert paths["/api/v1/users/"]["get"]["security"]  # the others do
