"""OpenAPI 3 schema and Swagger UI (served from the sidecar package, no CDN)."""


def test_openapi_schema_describes_mongo_fields(client, db):
    response = client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/users/", "/api/v1/users/{id}/", "/api/v1/api-keys/", "/api/v1/auth/token/",
            "/api/v1/me/settings/", "/api/v1/companies/"} <= set(schema["paths"])
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
