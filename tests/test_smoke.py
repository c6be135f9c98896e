def test_health_ok(client):
    assert client.get("/health/").json() == {"status": "ok"}


def test_users_listed_for_own_company(api, world):
    response = api.as_user(world.user("a", "company_admin")).get("/api/v1/users/")
    assert response.status_code == 200, response.content
    assert {u["username"] for u in response.json()["results"]} == {f"a-{r}" for r in
        ["superadmin", "company_admin", "content_manager", "content_writer", "client"]}
