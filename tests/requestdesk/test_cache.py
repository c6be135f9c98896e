"""requestdesk.cache: Django's Redis cache with one client per connection pool."""

from django.core.cache import caches


def test_one_redis_client_serves_every_operation(settings):
    cache = caches.create_connection("default")
    client = cache._cache
    built = []
    make = client._client
    client._client = lambda **kwargs: built.append(kwargs) or make(**kwargs)
    cache.set("requestdesk:test:cache", 1, 30)
    assert cache.get("requestdesk:test:cache") == 1
    assert cache.get_many(["requestdesk:test:cache", "requestdesk:test:absent"]) == {"requestdesk:test:cache": 1}
    assert cache.add("requestdesk:test:cache", 2, 30) is False
    cache.delete("requestdesk:test:cache")
    assert cache.get("requestdesk:test:cache") is None
    assert len(built) == 1  # Django's own client builds one per operation: 6 here
