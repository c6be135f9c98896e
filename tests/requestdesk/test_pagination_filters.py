"""Pagination (total counts, hard cap of 100), filtering, search and ordering."""

import pytest

from tenants.models import User


@pytest.fixture
def many_users(world):
    User.objects.bulk_create(
        [
            User(
                username=f"bulk-{i:03d}",
                email=f"bulk-{i:03d}@example.com",
                company=world.a,
                role="content_writer" if i % 2 else "client",
            )
            for i in range(120)
        ]
    )
    return User.objects.filter(company=world.a).count()


def test_page_size_is_capped_at_100_and_total_is_counted(api, world, many_users):
    api.as_user(world.user("a", "company_admin"))
    body = api.get("/api/v1/users/?page_size=1000").json()
    assert len(body["results"]) == 100
    assert body["count"] == many_users == 125
    last = api.get("/api/v1/users/?page_size=100&page=2").json()
    assert len(last["results"]) == 25 and last["next"] is None
    assert len(api.get("/api/v1/users/").json()["results"]) == 20


def test_filter_search_and_order(api, world, many_users):
    api.as_user(world.user("a", "company_admin"))
    writers = api.get("/api/v1/users/?role=content_writer&page_size=100").json()
    assert writers["count"] == 61  # 60 bulk writers + a-content_writer
    assert {u["role"] for u in writers["results"]} == {"content_writer"}
    found = api.get("/api/v1/users/?search=bulk-01").json()
    assert sorted(u["username"] for u in found["results"]) == [f"bulk-01{i}" for i in range(10)]
    ordered = api.get("/api/v1/users/?ordering=-username&page_size=3").json()["results"]
    assert [u["username"] for u in ordered] == ["bulk-119", "bulk-118", "bulk-117"]
    # filters never widen the tenant scope
    assert api.get("/api/v1/users/?search=b-client").json()["count"] == 0


def test_bad_page_is_404(api, world):
    response = api.as_user(world.user("a", "company_admin")).get("/api/v1/users/?page=99")
    assert response.status_code == 404
