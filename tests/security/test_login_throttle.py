"""One login throttle (django-axes) for every login form, keyed by user name + client address, where the
address comes from X-Forwarded-For only when a trusted proxy (QUORUM_TRUSTED_PROXIES) sent the request."""
from ipaddress import ip_network

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.2"
RIGHT = "pw-for-tests-1"


@pytest.fixture
def staff(people):
    manager = people["manager"]
    manager.is_staff = manager.is_superuser = True
    manager.save()
    return manager


@pytest.fixture
def behind_proxy(settings):
    settings.QUORUM_TRUSTED_PROXIES = [ip_network("10.0.0.0/24")]


def _post(client, path, username, password, **meta):
    return client.post(path, {"username": username, "password": password}, **meta)


def _via_proxy(client_address, claimed=None):
    """What the proxy passes on: whatever X-Forwarded-For the client sent, plus the address it saw."""
    forwarded = f"{claimed}, {client_address}" if claimed else client_address
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded}


def test_the_admin_login_is_throttled_and_the_right_password_is_refused_once_locked(client, staff, settings):
    for _ in range(30):
        response = _post(client, "/admin/login/", "manager", "wrong")
        assert response.status_code in (200, 429)
    locked = _post(client, "/admin/login/", "manager", RIGHT)
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    assert locked["Retry-After"] == str(settings.QUORUM_LOGIN_WINDOW_SECONDS)
    assert "_auth_user_id" not in client.session


def test_failures_on_the_app_and_admin_login_forms_share_one_count(client, staff, settings):
    half = settings.QUORUM_LOGIN_MAX_FAILURES // 2
    for _ in range(half):
        assert _post(client, "/login/", "manager", "wrong").status_code == 200
    for _ in range(settings.QUORUM_LOGIN_MAX_FAILURES - half - 1):
        assert _post(client, "/admin/login/", "manager", "wrong").status_code == 200
    assert _post(client, "/admin/login/", "manager", "wrong").status_code == 429  # the limit-th failure
    for path in ("/login/", "/admin/login/"):
        assert _post(client, path, "manager", RIGHT).status_code == 429, path


def test_a_lockout_holds_for_that_user_name_from_that_address_only(client, people, settings):
    for _ in range(settings.QUORUM_LOGIN_MAX_FAILURES):
        _post(client, "/login/", "alice", "wrong", REMOTE_ADDR="203.0.113.9")
    assert _post(client, "/login/", "alice", RIGHT, REMOTE_ADDR="203.0.113.9").status_code == 429
    assert _post(Client(), "/login/", "bob", RIGHT, REMOTE_ADDR="203.0.113.9").status_code == 302
    assert _post(Client(), "/login/", "alice", RIGHT, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_behind_a_trusted_proxy_one_attacker_cannot_lock_a_user_out_everywhere(client, people, settings,
                                                                               behind_proxy):
    for _ in range(settings.QUORUM_LOGIN_MAX_FAILURES + 5):
        _post(client, "/login/", "alice", "wrong", **_via_proxy("203.0.113.9"))
    assert _post(client, "/login/", "alice", RIGHT, **_via_proxy("203.0.113.9")).status_code == 429
    # Alice, from her own address, through the same proxy (same REMOTE_ADDR), still logs in.
    alice = Client()
    assert _post(alice, "/login/", "alice", RIGHT, **_via_proxy("198.51.100.7")).status_code == 302


def test_a_forged_x_forwarded_for_does_not_escape_the_lockout(client, people, settings, behind_proxy):
    """The client writes addresses of its choice in X-Forwarded-For; only the one the proxy saw counts,
    and without a trusted proxy the header is ignored altogether."""
    for i in range(settings.QUORUM_LOGIN_MAX_FAILURES):
        _post(client, "/login/", "alice", "wrong", **_via_proxy("203.0.113.9", claimed=f"192.0.2.{i}"))
    assert _post(client, "/login/", "alice", RIGHT, **_via_proxy("203.0.113.9", claimed="192.0.2.200")).status_code == 429

    direct = Client()
    for i in range(settings.QUORUM_LOGIN_MAX_FAILURES):
        _post(direct, "/login/", "bob", "wrong", REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert _post(direct, "/login/", "bob", RIGHT, REMOTE_ADDR="203.0.113.50",
                 HTTP_X_FORWARDED_FOR="192.0.2.250").status_code == 429


def test_a_successful_login_resets_the_count(client, people, settings):
    for _ in range(settings.QUORUM_LOGIN_MAX_FAILURES - 1):
        assert _post(client, "/login/", "alice", "wrong").status_code == 200
    assert _post(client, "/login/", "alice", RIGHT).status_code == 302
    client.logout()
    for _ in range(settings.QUORUM_LOGIN_MAX_FAILURES - 1):
        assert _post(client, "/login/", "alice", "wrong").status_code == 200
    assert _post(client, "/login/", "alice", RIGHT).status_code == 302


def test_the_user_name_counts_whatever_its_case_or_spaces(client, people, settings):
    for i in range(settings.QUORUM_LOGIN_MAX_FAILURES):
        _post(client, "/login/", ["alice", "ALICE", " Alice "][i % 3], "wrong")
    assert _post(client, "/login/", "alice", RIGHT).status_code == 429


def test_the_api_error_shape_when_locked_out(client, people, settings):
    for _ in range(settings.QUORUM_LOGIN_MAX_FAILURES):
        _post(client, "/login/", "alice", "wrong")
    response = _post(client, "/login/", "alice", RIGHT, HTTP_ACCEPT="application/json")
    assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_attempts"


@pytest.mark.parametrize("remote, forwarded, expected", [
    ("203.0.113.9", "192.0.2.1", "203.0.113.9"),  # not from a proxy: the header is ignored
    (PROXY, "192.0.2.1", "192.0.2.1"),
    (PROXY, "192.0.2.1, 198.51.100.7", "198.51.100.7"),  # the right-most address the proxy saw, not the client's claim
    (PROXY, "198.51.100.7, 10.0.0.3", "198.51.100.7"),  # a second trusted proxy hop is skipped
    (PROXY, "", PROXY),
    (PROXY, "not-an-address", PROXY),
    ("10.0.0.9", "2001:db8::1", "2001:db8::1"),
])
def test_the_client_address(rf, behind_proxy, remote, forwarded, expected):
    from quorum.lib.client_ip import client_ip

    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_a_wrong_trusted_proxy_setting_is_refused_with_the_reason(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from quorum.settings import envnetworks

    monkeypatch.setenv("QUORUM_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")
    with pytest.raises(ImproperlyConfigured, match="QUORUM_TRUSTED_PROXIES: 'proxy.local' is not an IP address"):
        envnetworks("QUORUM_TRUSTED_PROXIES")
