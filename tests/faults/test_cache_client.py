"""The Redis cache (quorum.lib.cache) keeps one client per connection pool and still behaves as Django's."""
import pytest
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import caches

from quorum.lib.cache import RedisCache

pytestmark = [pytest.mark.redis]

URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def cache():
    backend = RedisCache(URL, {"KEY_PREFIX": "test-cache-client"})
    yield backend
    backend.clear()


def test_every_call_uses_the_same_client_and_values_round_trip(cache):
    cache.set("a", {"x": 1})
    cache.set("n", 1)
    assert cache.incr("n") == 2
    assert cache.get("a") == {"x": 1} and cache.get("missing", "default") == "default"
    cache.delete("a")
    assert cache.get("a") is None
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    assert len(cache._cache._clients) == 1


def test_a_session_in_the_cache_is_read_back_and_gone_after_logout(settings, db):
    settings.CACHES = {"default": {"BACKEND": "quorum.lib.cache.RedisCache", "LOCATION": URL,
                                   "KEY_PREFIX": "test-cache-client"}}
    caches["default"].clear()
    session = SessionStore()
    session["who"] = "alice"
    session.save()
    assert SessionStore(session.session_key)["who"] == "alice"
    SessionStore(session.session_key).flush()  # what logout does
    assert "who" not in SessionStore(session.session_key).load()
    caches["default"].clear()
