"""The URL fetcher refuses private targets on every hop, connects to the address it checked, and is off by default."""
import pytest

from data.urlfetch import URLNotAllowed, fetch, is_public
from quorum.lib.errors import QuorumError

PUBLIC = "93.184.216.34"


class FakeResponse:
    def __init__(self, status=200, body=b"text\nhello\n", headers=None):
        self.status, self._body, self._headers = status, body, headers or {}

    def getheader(self, name, default=None):
        return self._headers.get(name, default)

    def read(self, n=-1):  # consumes, like a real response
        chunk = self._body if n < 0 else self._body[:n]
        self._body = self._body[len(chunk):]
        return chunk

    def close(self):
        pass


class FakeNet:
    """DNS answers per name (a list per lookup, to model rebinding) and canned responses per (ip, path)."""

    def __init__(self, dns, responses):
        self.dns, self.responses, self.lookups, self.connections = dns, responses, [], []

    def resolve(self, host, port):
        self.lookups.append(host)
        answers = self.dns[host]
        return answers.pop(0) if isinstance(answers[0], list) else answers

    def open(self, scheme, ip, host, port, path, timeout):
        self.connections.append((ip, host, path))
        return self.responses[(ip, path)]


@pytest.fixture
def url_import_on(settings):
    settings.QUORUM_ALLOW_URL_IMPORT = True


def test_url_import_is_off_by_default():
    net = FakeNet({"data.example": [PUBLIC]}, {(PUBLIC, "/a.csv"): FakeResponse()})
    with pytest.raises(URLNotAllowed, match="switched off"):
        fetch("http://data.example/a.csv", resolver=net.resolve, opener=net.open)
    assert net.connections == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
                                     "2002:7f00:1::1", "224.0.0.1"])
def test_private_loopback_and_link_local_addresses_are_refused(url_import_on, address):
    assert not is_public(address)
    net = FakeNet({"evil.example": [address]}, {})
    with pytest.raises(URLNotAllowed, match="private or local address"):
        fetch("http://evil.example/x", resolver=net.resolve, opener=net.open)
    assert net.connections == []


def test_a_public_url_is_fetched_from_the_address_that_was_checked(url_import_on):
    net = FakeNet({"data.example": [PUBLIC]}, {(PUBLIC, "/a.csv?x=1"): FakeResponse(body=b"text\nhi\n")})
    got = fetch("https://data.example/a.csv?x=1", resolver=net.resolve, opener=net.open)
    assert got.body == b"text\nhi\n"
    assert net.connections == [(PUBLIC, "data.example", "/a.csv?x=1")]


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(url_import_on):
    net = FakeNet({"data.example": [PUBLIC], "internal.example": ["10.0.0.5"]},
                  {(PUBLIC, "/a.csv"): FakeResponse(302, headers={"Location": "http://internal.example/secret"})})
    with pytest.raises(URLNotAllowed, match="10.0.0.5"):
        fetch("http://data.example/a.csv", resolver=net.resolve, opener=net.open)
    assert [c[0] for c in net.connections] == [PUBLIC]  # never connected to the private one


def test_a_redirect_to_a_literal_metadata_address_is_refused(url_import_on):
    net = FakeNet({"data.example": [PUBLIC], "169.254.169.254": ["169.254.169.254"]},
                  {(PUBLIC, "/a"): FakeResponse(301, headers={"Location": "http://169.254.169.254/latest/meta-data"})})
    with pytest.raises(URLNotAllowed):
        fetch("http://data.example/a", resolver=net.resolve, opener=net.open)


def test_dns_rebinding_cannot_swap_in_a_private_address(url_import_on):
    # First lookup public, any later lookup private: the fetcher looks up once and connects to what it checked.
    net = FakeNet({"rebind.example": [[PUBLIC], ["127.0.0.1"]]}, {(PUBLIC, "/a.csv"): FakeResponse()})
    fetch("http://rebind.example/a.csv", resolver=net.resolve, opener=net.open)
    assert net.lookups == ["rebind.example"]
    assert net.connections[0][0] == PUBLIC


def test_a_name_with_one_private_address_among_public_ones_is_refused(url_import_on):
    net = FakeNet({"mixed.example": [PUBLIC, "127.0.0.1"]}, {})
    with pytest.raises(URLNotAllowed):
        fetch("http://mixed.example/a", resolver=net.resolve, opener=net.open)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x.example/", "ftp://x.example/a",
                                 "http://user:pw@data.example/a", "http:///nohost"])
def test_other_schemes_credentials_and_missing_hosts_are_refused(url_import_on, url):
    net = FakeNet({"data.example": [PUBLIC], "x.example": [PUBLIC]}, {})
    with pytest.raises(URLNotAllowed):
        fetch(url, resolver=net.resolve, opener=net.open)


def test_too_many_redirects_and_too_big_bodies_are_refused(url_import_on):
    loop = FakeResponse(302, headers={"Location": "/a"})
    net = FakeNet({"data.example": [PUBLIC]}, {(PUBLIC, "/a"): loop})
    with pytest.raises(URLNotAllowed, match="redirects"):
        fetch("http://data.example/a", resolver=net.resolve, opener=net.open)
    big = FakeNet({"data.example": [PUBLIC]}, {(PUBLIC, "/big"): FakeResponse(body=b"x" * 100)})
    with pytest.raises(QuorumError, match="byte limit"):
        fetch("http://data.example/big", max_bytes=50, resolver=big.resolve, opener=big.open)
